/** `nbprov forget [--outputs-only] [--before DATE] <notebook.ipynb>`: the filesystem side of core/forget. */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import {
  describePlan,
  hasHistory,
  type IForgetOptions,
  type IProvListing,
  parseBefore,
  planForget,
  planIsEmpty
} from '../core/forget';
import { idOfNotebookText, resolveFolder } from '../core/identity';
import { type ICommandSpec, parseCommandArgs } from './args';
import { UsageError, UserError } from './errors';
import { fileSystemReader } from './export';

export const forgetSpec: ICommandSpec = {
  summary: "delete a notebook's recorded history (journal, blobs, artifacts) from <stem>.prov/",
  help: [
    'usage: nbprov forget [--outputs-only] [--before DATE] <notebook.ipynb>',
    '',
    'Deletes what nbprov recorded for <notebook.ipynb> in its provenance folder and says what it',
    'removed: every journal file, blob and stored artifact. identity.json and an earlier export stay.',
    'Only files inside the folder are touched, never through a symbolic link.',
    '',
    'options:',
    '  --outputs-only  remove only cell outputs (and blobs); sources, runs and metrics stay',
    '  --before DATE   remove only what was recorded before DATE (2026-12-01 is midnight UTC, or an',
    '                  ISO date-time); a kernel session that recorded after DATE too is kept whole',
    '  -h, --help      show this help'
  ].join('\n'),
  options: { 'outputs-only': { type: 'boolean' }, before: { type: 'string' } },
  positionals: ['notebook.ipynb']
};

/** Entries of a folder of the provenance folder: plain files, and what was skipped (links, others). */
async function plainFiles(folder: string): Promise<{ files: string[]; skipped: string[] }> {
  const entries = await fs.readdir(folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
      return [];
    }
    throw error;
  });
  const files = entries.filter(entry => entry.isFile()).map(entry => entry.name);
  const skipped = entries.filter(entry => !entry.isFile()).map(entry => entry.name);
  return { files, skipped };
}

/** Refuses a provenance folder, or a sub-folder of it, that is not a real folder inside it. */
async function assertRealFolder(folder: string, inside: string | null): Promise<boolean> {
  const stat = await fs.lstat(folder).catch(() => null);
  if (stat === null) {
    return false;
  }
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new UserError(`refusing to forget through ${folder}: it is a symbolic link or not a folder`);
  }
  if (inside !== null && (await fs.realpath(folder)) !== path.join(await fs.realpath(inside), path.basename(folder))) {
    throw new UserError(`refusing to forget ${folder}: it leads outside ${inside}`);
  }
  return true;
}

/** Replaces a file atomically: a temporary file in the same folder, then a rename over it. */
async function replaceFile(target: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.forget-${process.pid}`);
  await fs.writeFile(temporary, text, { flag: 'wx' });
  await fs.rename(temporary, target);
}

export interface IForgetResult {
  folder: string;
  message: string;
}

export async function runForget(notebook: string, options: IForgetOptions): Promise<IForgetResult> {
  const notebookPath = path.resolve(notebook);
  if (path.extname(notebookPath) !== '.ipynb') {
    throw new UserError(`not a notebook (.ipynb): ${notebook}`);
  }
  const name = path.basename(notebookPath);
  const notebookId = idOfNotebookText(await fileSystemReader.read(notebookPath));
  const { folder } = await resolveFolder(fileSystemReader, notebookPath, notebookId);
  if (!(await assertRealFolder(folder, null))) {
    return { folder, message: `no recorded history for ${name} (${folder} does not exist)` };
  }
  const sub = async (dir: string) =>
    (await assertRealFolder(path.join(folder, dir), folder)) ? plainFiles(path.join(folder, dir)) : { files: [], skipped: [] };
  const journal = await sub('journal');
  const blobs = await sub('blobs');
  const artifacts = await sub('artifacts');
  const listing: IProvListing = {
    journal: await Promise.all(
      journal.files
        .filter(file => file.endsWith('.jsonl'))
        .map(async file => ({ name: file, text: await fs.readFile(path.join(folder, 'journal', file), 'utf8') }))
    ),
    blobs: blobs.files,
    artifacts: artifacts.files,
    exported: (await fs.lstat(path.join(folder, 'prov.json')).catch(() => null)) !== null
  };
  const plan = planForget(listing, options);
  const skipped = [...journal.skipped, ...blobs.skipped, ...artifacts.skipped];
  const note = skipped.length ? `; left alone (not plain files): ${skipped.map(s => JSON.stringify(s)).join(', ')}` : '';
  if (!hasHistory(listing)) {
    return { folder, message: `no recorded history for ${name} in ${folder}${note}` };
  }
  if (planIsEmpty(plan)) {
    return { folder, message: `nothing to remove for ${name} in ${folder} (${describePlan(plan, options)})${note}` };
  }
  for (const rewrite of plan.rewrite) {
    await replaceFile(path.join(folder, ...rewrite.path.split('/')), rewrite.text);
  }
  for (const relative of plan.delete) {
    // Listed as plain files above; unlink never follows a link either.
    await fs.unlink(path.join(folder, ...relative.split('/'))).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') {
        throw error;
      }
    });
  }
  return { folder, message: `removed from ${folder}: ${describePlan(plan, options)}${note}` };
}

export async function forgetCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(forgetSpec, args);
  if (parsed === 'help') {
    process.stdout.write(forgetSpec.help + '\n');
    return 0;
  }
  let before: Date | null = null;
  if (parsed.values.before !== undefined) {
    try {
      before = parseBefore(parsed.values.before as string);
    } catch (error) {
      throw new UsageError((error as Error).message, forgetSpec.help.split('\n', 1)[0]);
    }
  }
  const result = await runForget(parsed.positionals[0], { outputsOnly: parsed.values['outputs-only'] === true, before });
  process.stdout.write(`nbprov forget: ${result.message}\n`);
  return 0;
}
