/**
 * Where the side panel's folder scopes find runs: every `.prov` folder of a folder, or below it.
 * Pure over a journal source (the lab's is the Contents API); the panel replays the journals.
 */
import { PathExt } from '@jupyterlab/coreutils';

import type { IJournalText } from '../service';

/** Which runs the side panel shows. */
export type RunsScope = 'notebook' | 'folder' | 'root';

/** What the loader reads through: folder listings and journals (`ContentsService`). */
export interface IJournalSource {
  folders(dir: string): Promise<string[]>;
  readJournal(provFolder: string): Promise<IJournalText[]>;
}

const SKIPPED_FOLDERS = new Set(['node_modules', '__pycache__']);

/** `.prov` folders in `dir` and, when `recursive`, below it (hidden folders skipped), sorted by path. */
export async function findProvFolders(source: IJournalSource, dir: string, recursive: boolean): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const name of (await source.folders(at)).sort()) {
      const path = at ? PathExt.join(at, name) : name;
      if (name.endsWith('.prov')) {
        found.push(path);
      } else if (recursive && !name.startsWith('.') && !SKIPPED_FOLDERS.has(name)) {
        await walk(path);
      }
    }
  };
  await walk(dir);
  return found.sort();
}
