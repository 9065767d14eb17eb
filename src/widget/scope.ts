/**
 * The runs of a folder or of everything under the server root, for the side panel: every `.prov`
 * folder found below, its journal read into one run store (the same replay the notebooks' stores use).
 */
import { PathExt } from '@jupyterlab/coreutils';

import type { IJournalText } from '../service';
import { RunStore } from '../store';
import { applyJournal } from '../tracker';

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

export interface IScopeRuns {
  store: RunStore;
  /** `.prov` folders read. */
  folders: string[];
  /** `.prov` folders skipped, with the reason. */
  skipped: string[];
}

/**
 * One store holding the runs of every `.prov` folder of `dir` (below it too when `recursive`). Runs
 * without an end are running only while `isLive(session)`; a folder that cannot be read is skipped.
 */
export async function loadScopeRuns(
  source: IJournalSource,
  dir: string,
  recursive: boolean,
  isLive: (session: string) => boolean
): Promise<IScopeRuns> {
  const store = new RunStore();
  const folders: string[] = [];
  const skipped: string[] = [];
  for (const folder of await findProvFolders(source, dir, recursive)) {
    try {
      const files = await source.readJournal(folder);
      if (files.length === 0) {
        skipped.push(`${folder}: no journal`);
        continue;
      }
      applyJournal(store, files);
      folders.push(folder);
    } catch (error) {
      skipped.push(`${folder}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const live = new Set([...store.runs.values()].map(run => run.session).filter(isLive));
  store.markCrashed(live);
  return { store, folders, skipped };
}
