/** `nbprov forget [--outputs-only] [--before DATE] <notebook.ipynb>`: the filesystem side of core/forget. */

import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';

import {
  describePlan,
  ForgetPlanner,
  hasHistory,
  type IForgetOptions,
  type JournalForget,
  parseBefore,
  planIsEmpty
} from '../core/forget';
import { idOfNotebookText, resolveFolder } from '../core/identity';
import { LineSplitter, sortJournalNames } from '../core/reader';
import { JOURNAL_DIR, JOURNAL_SUFFIX } from '../core/records';
import { type ICommandSpec, parseCommandArgs } from './args';
import { UsageError, UserError } from './errors';
import { fileSystemReader } from './export';
import { READ_CHUNK_BYTES } from './journalstream';

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

/**
 * Judges one journal file as it is read in chunks; when it may be rewritten, its kept lines go to a
 * temporary file beside it as they come (memory: a chunk and its lines, whatever the file's size).
 * Returns the temporary file when the file is to be replaced by it (the caller renames it over).
 */
async function judgeJournal(file: string, judge: JournalForget): Promise<string | null> {
  const temporary = judge.rewrites ? path.join(path.dirname(file), `.${path.basename(file)}.forget-${process.pid}`) : null;
  const output = temporary === null ? null : await fs.open(temporary, 'wx');
  try {
    let kept: string[] = [];
    const lines = new LineSplitter(text => {
      const keep = judge.line(text);
      if (keep !== null && output !== null) {
        kept.push(keep);
      }
    });
    const write = async () => {
      if (output !== null && kept.length) {
        const text = kept.join('\n') + '\n';
        kept = [];
        await output.write(text);
      }
    };
    for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK_BYTES })) {
      lines.push(chunk as Buffer);
      await write();
    }
    lines.end();
    await write();
  } catch (error) {
    await output?.close();
    if (temporary !== null) {
      await fs.unlink(temporary).catch(() => undefined);
    }
    throw error;
  }
  await output?.close();
  if (judge.end() === 'rewrite') {
    return temporary;
  }
  if (temporary !== null) {
    await fs.unlink(temporary);
  }
  return null;
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
  const journal = await sub(JOURNAL_DIR);
  const blobs = await sub('blobs');
  const artifacts = await sub('artifacts');
  const journalNames = sortJournalNames(journal.files.filter(file => file.endsWith(JOURNAL_SUFFIX)));
  const skipped = [...journal.skipped, ...blobs.skipped, ...artifacts.skipped];
  const note = skipped.length ? `; left alone (not plain files): ${skipped.map(s => JSON.stringify(s)).join(', ')}` : '';
  if (!hasHistory({ journal: journalNames.map(file => ({ name: file })), blobs: blobs.files, artifacts: artifacts.files })) {
    return { folder, message: `no recorded history for ${name} in ${folder}${note}` };
  }
  const planner = new ForgetPlanner(options, (await fs.lstat(path.join(folder, 'prov.json')).catch(() => null)) !== null);
  // Rewritten files are staged beside their journal file, then renamed over it: each is replaced atomically.
  const staged = new Map<string, string>();
  try {
    for (const file of journalNames) {
      const judge = planner.journal(file);
      const temporary = judge === null ? null : await judgeJournal(path.join(folder, JOURNAL_DIR, file), judge);
      if (temporary !== null) {
        staged.set(path.join(folder, JOURNAL_DIR, file), temporary);
      }
    }
  } catch (error) {
    await Promise.all([...staged.values()].map(temporary => fs.unlink(temporary).catch(() => undefined)));
    throw error;
  }
  const plan = planner.finish(blobs.files, artifacts.files);
  if (planIsEmpty(plan)) {
    return { folder, message: `nothing to remove for ${name} in ${folder} (${describePlan(plan, options)})${note}` };
  }
  for (const [target, temporary] of staged) {
    await fs.rename(temporary, target);
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
