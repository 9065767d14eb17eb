/**
 * The notebooks' provenance folders below a folder: what the runs panel shows in its folder modes.
 * Pure over a folder lister, so the page (Contents API) and a filesystem reader can share it.
 */
import { IDENTITY_FILE, parseIdentity } from './identity';
import { PROV_SUFFIX } from './records';

/** At most this many folders are visited in one scan: a huge server root is cut short, and says so. */
export const SCAN_FOLDER_LIMIT = 5000;

export interface IProjectLister {
  /** Names of the sub-folders of `dir` ('' is the root); empty when it cannot be read. */
  folders(dir: string): Promise<string[]>;
  /** Text of a file, or null when it cannot be read. */
  read(path: string): Promise<string | null>;
}

export interface IProvFolder {
  /** Path of the `.prov` folder. */
  folder: string;
  /** Path of the notebook it belongs to (from `identity.json`, else `<stem>.ipynb` beside it). */
  notebook: string;
}

export interface IProjectScan {
  folders: IProvFolder[];
  /** True when the scan stopped at SCAN_FOLDER_LIMIT folders. */
  truncated: boolean;
}

function join(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** Folders a scan never enters: hidden ones (`.git`, `.ipynb_checkpoints`, virtual environments) and npm's. */
function skipped(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

/**
 * The `.prov` folders in `dir` (and below it when `recursive`), sorted by path. A `.prov` folder
 * is not entered; a folder that cannot be listed is skipped.
 */
export async function findProvFolders(
  lister: IProjectLister,
  dir: string,
  recursive: boolean,
  limit = SCAN_FOLDER_LIMIT
): Promise<IProjectScan> {
  const found: string[] = [];
  const queue = [dir];
  let visited = 0;
  let truncated = false;
  while (queue.length) {
    if (visited >= limit) {
      truncated = true;
      break;
    }
    const current = queue.shift()!;
    visited++;
    for (const name of await lister.folders(current)) {
      if (name.endsWith(PROV_SUFFIX) && name.length > PROV_SUFFIX.length) {
        found.push(join(current, name));
      } else if (recursive && !skipped(name)) {
        queue.push(join(current, name));
      }
    }
  }
  found.sort();
  const folders = await Promise.all(found.map(async folder => ({ folder, notebook: await notebookOfFolder(lister, folder) })));
  return { folders, truncated };
}

async function notebookOfFolder(lister: IProjectLister, folder: string): Promise<string> {
  const slash = folder.lastIndexOf('/');
  const parent = slash >= 0 ? folder.slice(0, slash) : '';
  const identity = parseIdentity(await lister.read(`${folder}/${IDENTITY_FILE}`));
  const name = identity?.notebook ?? `${folder.slice(slash + 1, -PROV_SUFFIX.length)}.ipynb`;
  return join(parent, name);
}
