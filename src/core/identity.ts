/**
 * A notebook's stable id (`metadata.nbprov.id`) and where its provenance folder is. The folder
 * holds the same id in `identity.json` (`{id, notebook}`: the notebook's file name when last seen).
 * One rule, the same as the kernel's (`nbprov/identity.py`), used by the page and the CLI:
 *
 * 1. `<stem>.prov` next to the notebook when it holds this id, or when the notebook has no id yet
 *    (the notebook then adopts the folder's id, or a new one);
 * 2. else the sibling `*.prov` folder holding this id: the notebook or the folder was renamed or
 *    moved outside JupyterLab. If the notebook that folder names still exists with the same id,
 *    this notebook is a copy instead and gets an id (and history) of its own;
 * 3. else `<stem>.prov` when it holds no id (new, or from before identities), else
 *    `<stem>-<id[:8]>.prov`: never mixed into another notebook's history.
 */

import { PROV_SUFFIX } from './records';

export const IDENTITY_FILE = 'identity.json';

const ID = /^[0-9a-f]{32}$/;

/** Reads a store of files (the filesystem, the Contents API) with `/`-separated paths. */
export interface IIdentityReader {
  /** Names of the folders in `dir`, without symbolic links where the store can tell them apart. */
  folders(dir: string): Promise<string[]>;
  /** A file's text, or null when it is missing or unreadable. */
  read(path: string): Promise<string | null>;
}

export interface IFolderIdentity {
  id: string;
  /** The notebook's file name when last seen, or null. */
  notebook: string | null;
}

/** Where a notebook's provenance goes, with the id the notebook has (or must adopt). */
export interface ILocation {
  folder: string;
  id: string;
  /** Why the folder is not `<stem>.prov` holding the notebook's own id, for the user; else null. */
  note: string | null;
}

export function validId(value: unknown): string | null {
  return typeof value === 'string' && ID.test(value) ? value : null;
}

/** `value` when it is a bare `*.ipynb` file name: a name read from a file is data, never a path. */
function notebookFileName(value: unknown): string | null {
  return typeof value === 'string' && value !== '.ipynb' && value.endsWith('.ipynb') && !/[/\\\0]/.test(value) ? value : null;
}

export function parseIdentity(text: string | null): IFolderIdentity | null {
  try {
    const data = JSON.parse(text ?? '') as Record<string, unknown>;
    const id = validId(data?.id);
    return id ? { id, notebook: notebookFileName(data.notebook) } : null;
  } catch {
    return null;
  }
}

export function identityText(id: string, notebook: string): string {
  return JSON.stringify({ id, notebook }) + '\n';
}

/** The id in a notebook's `metadata.nbprov`, or null. */
export function idOfMetadata(metadata: unknown): string | null {
  return typeof metadata === 'object' && metadata !== null ? validId((metadata as { id?: unknown }).id) : null;
}

/** `metadata.nbprov.id` of a notebook file's text, or null. */
export function idOfNotebookText(text: string | null): string | null {
  try {
    return idOfMetadata((JSON.parse(text ?? '') as { metadata?: { nbprov?: unknown } })?.metadata?.nbprov);
  } catch {
    return null;
  }
}

export function newId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, '0')).join('');
}

/** Thrown for a notebook whose name can have no provenance folder (`unusableNotebookName`). */
export class NotebookNameError extends Error {}

/**
 * Why a notebook's file name can have no provenance folder, or null when it can. The stem (the
 * name without `.ipynb`, else without its last extension) must hold something other than dots:
 * `.ipynb`, `..ipynb` or `...ipynb` would give `.prov`-like hidden folders (`..prov`, `...prov`)
 * that every such name shares. The same rule as the kernel's (`unusable_notebook_name`).
 */
export function unusableNotebookName(notebookPath: string): string | null {
  const name = notebookPath.slice(notebookPath.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  const stem = name.endsWith('.ipynb') ? name.slice(0, -'.ipynb'.length) : dot > 0 ? name.slice(0, dot) : name;
  return /^\.*$/.test(stem)
    ? `the notebook name ${JSON.stringify(name)} has no stem (only dots before .ipynb), so it can have no .prov folder: rename it`
    : null;
}

function splitPath(notebookPath: string): { dir: string; name: string; stem: string } {
  const refused = unusableNotebookName(notebookPath);
  if (refused !== null) {
    throw new NotebookNameError(refused);
  }
  const slash = notebookPath.lastIndexOf('/');
  const name = notebookPath.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  return { dir: slash < 0 ? '' : notebookPath.slice(0, slash), name, stem: dot > 0 ? name.slice(0, dot) : name };
}

function join(dir: string, name: string): string {
  return dir === '' ? name : dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** `<dir>/<stem>.prov`. */
export function primaryFolder(notebookPath: string): string {
  const { dir, stem } = splitPath(notebookPath);
  return join(dir, `${stem}${PROV_SUFFIX}`);
}

/** `<dir>/<stem>-<id[:8]>.prov`, the folder of a notebook whose `<stem>.prov` holds another history. */
export function conflictFolder(notebookPath: string, id: string): string {
  const { dir, stem } = splitPath(notebookPath);
  return join(dir, `${stem}-${id.slice(0, 8)}${PROV_SUFFIX}`);
}

/** The provenance folder of `notebookPath` by the rule above. */
export async function resolveFolder(
  reader: IIdentityReader,
  notebookPath: string,
  notebookId: string | null
): Promise<ILocation> {
  const { dir, name } = splitPath(notebookPath);
  const primary = primaryFolder(notebookPath);
  const held = parseIdentity(await reader.read(join(primary, IDENTITY_FILE)));
  if (notebookId === null) {
    return { folder: primary, id: held?.id ?? newId(), note: null };
  }
  if (held?.id === notebookId) {
    return { folder: primary, id: notebookId, note: null };
  }
  const candidates = (await reader.folders(dir)).filter(folder => folder.endsWith(PROV_SUFFIX)).sort();
  for (const candidate of candidates) {
    const folder = join(dir, candidate);
    const identity = parseIdentity(await reader.read(join(folder, IDENTITY_FILE)));
    if (identity?.id !== notebookId) {
      continue;
    }
    const original = identity.notebook;
    if (original && original !== name && idOfNotebookText(await reader.read(join(dir, original))) === notebookId) {
      // A copy of a notebook that still exists: the history stays with the original.
      const note = `${name} is a copy of ${original}`;
      if (held !== null && held.notebook === name) {
        return { folder: primary, id: held.id, note };
      }
      const fresh = newId();
      return { folder: held === null ? primary : conflictFolder(notebookPath, fresh), id: fresh, note };
    }
    return { folder, id: notebookId, note: `found by the notebook's id in ${candidate}` };
  }
  if (held === null) {
    return { folder: primary, id: notebookId, note: null };
  }
  return {
    folder: conflictFolder(notebookPath, notebookId),
    id: notebookId,
    note: `${splitPath(primary).name} holds another notebook's history`
  };
}

/** Name of the ignore file written into a `.prov` folder nbprov creates. */
export const GITIGNORE_FILE = '.gitignore';

// Shared with the kernel (nbprov/identity.py), read at build time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const GITIGNORE: { text: string } = require('../../nbprov/prov_gitignore.json');

/** The `.gitignore` of a `.prov` folder nbprov creates: the history (journal/, blobs/), not the export. */
export const GITIGNORE_TEXT: string = GITIGNORE.text;
