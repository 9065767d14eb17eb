/** `nbprov export [--live-session ID]... [--license LICENSE] <notebook.ipynb>`: the filesystem side of core/export. */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { exportSession } from '../core/export';
import { IDENTITY_FILE, idOfNotebookText, type IIdentityReader, parseIdentity, resolveFolder } from '../core/identity';
import { JOURNAL_DIR, JOURNAL_SUFFIX } from '../core/records';
import { journalStream } from './journalstream';
import { DirectorySink } from './fssink';
import { fileScratch } from './scratch';
import { licenseUri } from '../core/rocrate';
import { type ICommandSpec, parseCommandArgs, usageLine } from './args';
import { UsageError, UserError } from './errors';

export const exportSpec: ICommandSpec = {
  summary: 'write prov.json, metrics.zarr/ and ro-crate-metadata.json next to a notebook',
  help: [
    'usage: nbprov export [--live-session ID]... [--license LICENSE] <notebook.ipynb>',
    '',
    'Exports the provenance recorded for <notebook.ipynb> from its journal (<stem>.prov/journal/) into',
    '<stem>.prov/: prov.json (PROV-JSON), metrics.zarr/ (Zarr v3 metric series) and',
    'ro-crate-metadata.json (RO-Crate).',
    '',
    'options:',
    '  --live-session ID  a kernel session that is still running (its open runs are exported as',
    '                     running, not crashed); may be given more than once',
    "  --license LICENSE  the crate's licence: an http(s) URL or an SPDX identifier (MIT, CC-BY-4.0…);",
    '                     default CC BY 4.0',
    '  -h, --help         show this help'
  ].join('\n'),
  options: { 'live-session': { type: 'string', multiple: true }, license: { type: 'string' } },
  positionals: ['notebook.ipynb']
};

interface IExportOptions {
  notebook: string;
  liveSessions: string[];
  /** The crate's licence as given (checked by `licenseUri`), or undefined for the default. */
  license?: string;
}

/** The export options, or 'help'; a `UsageError` for a command line that does not parse. */
export function parseExportArgs(args: string[]): IExportOptions | 'help' {
  const parsed = parseCommandArgs(exportSpec, args);
  if (parsed === 'help') {
    return 'help';
  }
  const license = parsed.values.license as string | undefined;
  if (license !== undefined) {
    try {
      licenseUri(license);
    } catch (error) {
      throw new UsageError(`--license: ${(error as Error).message}`, usageLine(exportSpec));
    }
  }
  return {
    notebook: parsed.positionals[0],
    liveSessions: (parsed.values['live-session'] as string[] | undefined) ?? [],
    ...(license !== undefined ? { license } : {})
  };
}

async function listFiles(folder: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(folder, { withFileTypes: true });
    return entries
      .filter(entry => entry.isFile())
      .map(entry => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return [];
    }
    throw error;
  }
}

/** The filesystem as the identity rule reads it; symbolic links are not folders here. */
export const fileSystemReader: IIdentityReader = {
  folders: async dir => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    return entries.filter(entry => entry.isDirectory()).map(entry => entry.name);
  },
  read: filePath => fs.readFile(filePath, 'utf8').catch(() => null)
};

export async function runExport(options: IExportOptions, version: string): Promise<string> {
  const notebookPath = path.resolve(options.notebook);
  if (path.extname(notebookPath) !== '.ipynb') {
    throw new UserError(`not a notebook (.ipynb): ${options.notebook}`);
  }
  const stat = await fs.stat(notebookPath).catch(() => null);
  if (!stat?.isFile()) {
    throw new UserError(`notebook not found: ${options.notebook}`);
  }
  const notebook = path.basename(notebookPath);
  const notebookId = idOfNotebookText(await fileSystemReader.read(notebookPath));
  const location = await resolveFolder(fileSystemReader, notebookPath, notebookId);
  const provDir = location.folder;
  if (location.note) {
    process.stderr.write(`nbprov export: the provenance of ${notebook} is in ${provDir} (${location.note})\n`);
  }
  const journalDir = path.join(provDir, JOURNAL_DIR);
  const names = (await listFiles(journalDir)).filter(name => name.endsWith(JOURNAL_SUFFIX));
  if (names.length === 0) {
    throw new UserError(`no journal for ${notebook}: ${journalDir} has no .jsonl files`);
  }
  const journal = names.map(name => journalStream(journalDir, name));
  const folderNotebookId = parseIdentity(await fileSystemReader.read(path.join(provDir, IDENTITY_FILE)))?.id ?? null;
  const blobs = await listFiles(path.join(provDir, 'blobs'));
  // The points wait in a file on the export's disk: memory stays bounded whatever the journal's size.
  const summary = await (async () =>
    exportSession(
      {
        notebook,
        journal,
        notebookId: folderNotebookId,
        liveSessions: options.liveSessions,
        blobs,
        nbprovVersion: version,
        license: options.license,
        scratch: fileScratch(provDir)
      },
      new DirectorySink(provDir)
    ))().catch((error: unknown) => {
    throw writeFailure(error, provDir);
  });
  for (const warning of summary.warnings) {
    process.stderr.write(`nbprov export: warning: ${warning.file}:${warning.line}: ${warning.reason}\n`);
  }
  process.stdout.write(
    `nbprov export: ${summary.executions} executions, ${summary.runs} runs, ` +
      `${summary.metricSeries} metric series (${summary.points} points) -> ${provDir}\n`
  );
  return provDir;
}

/** Why the disk refused a write, for the errors an export can meet there. */
const DISK_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  ELOOP: 'a symbolic link appeared in the export folder'
};

/** A disk error as one line for the user (the staging sink has already restored the folder). */
function writeFailure(error: unknown, provDir: string): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === undefined || !(code in DISK_ERRORS)) {
    return error;
  }
  return new UserError(
    `cannot write the export into ${provDir}: ${DISK_ERRORS[code]} (${code}); the previous export is unchanged`
  );
}

export async function exportCommand(args: string[], version: string): Promise<number> {
  const options = parseExportArgs(args);
  if (options === 'help') {
    process.stdout.write(exportSpec.help + '\n');
    return 0;
  }
  await runExport(options, version);
  return 0;
}
