/** `nbprov check <journal file or folder>`: every line of journal files against the record contract. */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { JournalLineReader } from '../core/reader';
import { JOURNAL_SUFFIX } from '../core/records';
import { type ICommandSpec, parseCommandArgs } from './args';
import { journalStream } from './journalstream';
import { UserError } from './errors';

export const checkSpec: ICommandSpec = {
  summary: 'check journal files line by line against the record contract',
  help: [
    'usage: nbprov check <journal>',
    '',
    'Reads a journal file (e.g. <stem>.prov/journal/k-<session>.jsonl), or every .jsonl file of a',
    'journal folder, as a stream and validates every line as the export and the page do. Prints',
    'file:line: reason for each line that would be skipped (not JSON, a missing or bad field) and',
    'for each record of an unknown type, then a count.',
    'Exits 1 when any line was skipped or unknown.',
    '',
    'options:',
    '  -h, --help  show this help'
  ].join('\n'),
  options: {},
  positionals: ['journal']
};

export async function checkCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(checkSpec, args);
  if (parsed === 'help') {
    process.stdout.write(checkSpec.help + '\n');
    return 0;
  }
  const [target] = parsed.positionals;
  const stat = await fs.stat(target).catch(() => null);
  if (stat === null) {
    throw new UserError(`no such file or folder: ${target}`);
  }
  const files = stat.isDirectory()
    ? (await fs.readdir(target))
        .filter(name => name.endsWith(JOURNAL_SUFFIX))
        .sort()
        .map(name => path.join(target, name))
    : [target];
  let records = 0;
  let problems = 0;
  for (const file of files) {
    const label = file;
    const reader = new JournalLineReader(
      label,
      () => records++,
      warning => {
        problems++;
        process.stdout.write(`${warning.file}:${warning.line}: ${warning.reason}\n`);
      },
      (line, type) => {
        problems++;
        process.stdout.write(`${label}:${line}: unknown record type ${JSON.stringify(type)}\n`);
      }
    );
    try {
      for await (const chunk of journalStream(path.dirname(file), path.basename(file)).read()) {
        reader.push(chunk);
      }
    } catch (error) {
      throw new UserError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    reader.end();
  }
  process.stdout.write(`${records} records valid, ${problems} lines skipped or unknown\n`);
  return problems === 0 ? 0 : 1;
}
