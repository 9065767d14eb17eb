/**
 * The filesystem side of the run table: finds `.prov` folders (one, a folder's, or every one below
 * a folder), reads each journal through the core session model, and caches each folder's rows by
 * the size and modification time of its journal files.
 *
 * The cache lives outside the user's tree: `$NBPROV_CACHE_DIR`, else `$XDG_CACHE_HOME/nbprov`, else
 * `~/.cache/nbprov`, one file `runs/<sha256 of the folder's absolute path, 32 hex>.json` per `.prov`
 * folder. A cache that cannot be read or written is ignored (the journal is read again).
 */

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { IDENTITY_FILE, idOfNotebookText, type IIdentityReader, parseIdentity, resolveFolder } from '../core/identity';
import { foldJournals } from '../core/reader';
import { type CellValue, FLOAT_COLUMNS, liveRow, type RunRow, sessionRows } from '../core/runtable';
import { finalizeSession, type ISession, newSessionModel } from '../core/session';
import { JOURNAL_DIR, JOURNAL_SUFFIX, PROV_SUFFIX } from '../core/records';
import { journalStream } from './journalstream';
import { UserError } from './errors';

/** Bumped whenever the rows or their encoding change, so old cache files are not used. */
const CACHE_VERSION = 3;
const SKIPPED_FOLDERS = new Set(['node_modules', '__pycache__']);

export interface IScanWarning {
  /** The `.prov` folder, relative to the scan's base. */
  folder: string;
  reason: string;
}

export interface IScanResult {
  /** The folder the `notebook` and `folder` columns are relative to. */
  base: string;
  rows: RunRow[];
  warnings: IScanWarning[];
}

export interface IScanOptions {
  recursive: boolean;
  liveSessions: string[];
  /** The cache folder; null disables the cache. */
  cacheDir: string | null;
}

export function defaultCacheDir(): string {
  const env = process.env;
  if (env.NBPROV_CACHE_DIR) {
    return env.NBPROV_CACHE_DIR;
  }
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'nbprov');
}

const fileSystemReader: IIdentityReader = {
  folders: async dir => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    return entries.filter(entry => entry.isDirectory()).map(entry => entry.name);
  },
  read: filePath => fs.readFile(filePath, 'utf8').catch(() => null)
};

async function isDirectory(target: string): Promise<boolean> {
  return (await fs.stat(target).catch(() => null))?.isDirectory() ?? false;
}

/** The `.prov` folders a path names, and the base their labels are relative to. */
export async function findProvFolders(
  target: string,
  recursive: boolean
): Promise<{ base: string; folders: string[]; single: boolean }> {
  const absolute = path.resolve(target);
  const stat = await fs.stat(absolute).catch(() => null);
  if (stat === null) {
    throw new UserError(`no such file or folder: ${target}`);
  }
  if (stat.isFile()) {
    if (path.extname(absolute) !== '.ipynb') {
      throw new UserError(`not a notebook (.ipynb), .prov folder or folder: ${target}`);
    }
    const id = idOfNotebookText(await fileSystemReader.read(absolute));
    const location = await resolveFolder(fileSystemReader, absolute, id);
    return { base: path.dirname(absolute), folders: [location.folder], single: true };
  }
  if (absolute.endsWith(PROV_SUFFIX) || (await isDirectory(path.join(absolute, JOURNAL_DIR)))) {
    return { base: path.dirname(absolute), folders: [absolute], single: true };
  }
  const folders: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.name.endsWith(PROV_SUFFIX) && (entry.isDirectory() || entry.isSymbolicLink())) {
        folders.push(full);
      } else if (recursive && entry.isDirectory() && !entry.name.startsWith('.') && !SKIPPED_FOLDERS.has(entry.name)) {
        // Symbolic links to folders are not followed: a link cycle cannot make the scan endless.
        await walk(full);
      }
    }
  };
  await walk(absolute);
  folders.sort(); // by path: the table's order does not depend on the order folders were listed in
  return { base: absolute, folders, single: false };
}

interface IFileStamp {
  name: string;
  size: number;
  mtimeMs: number;
}

interface ICacheEntry {
  version: number;
  folder: string;
  stamps: IFileStamp[];
  rows: { cells: Record<string, unknown>; floats: string[] }[];
  warnings: string[];
}

/** Cache cells: bigints and non-finite numbers are tagged so they come back as they were. */
function encodeCell(value: CellValue): unknown {
  if (typeof value === 'bigint') {
    return { big: value.toString() };
  }
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) {
    return { float: String(value) };
  }
  return value;
}

function decodeCell(value: unknown): CellValue {
  if (value !== null && typeof value === 'object') {
    const tagged = value as { big?: string; float?: string };
    return tagged.big !== undefined ? BigInt(tagged.big) : Number(tagged.float);
  }
  return value as CellValue;
}

async function stamps(provFolder: string): Promise<IFileStamp[]> {
  const journalDir = path.join(provFolder, JOURNAL_DIR);
  const names = (await fs.readdir(journalDir)).filter(name => name.endsWith(JOURNAL_SUFFIX)).sort();
  const result: IFileStamp[] = [];
  for (const name of [...names.map(name => path.join('journal', name)), IDENTITY_FILE]) {
    const stat = await fs.stat(path.join(provFolder, name)).catch(() => null);
    if (stat?.isFile()) {
      result.push({ name, size: stat.size, mtimeMs: stat.mtimeMs });
    }
  }
  return result;
}

function cachePath(cacheDir: string, provFolder: string): string {
  const key = createHash('sha256').update(provFolder).digest('hex').slice(0, 32);
  return path.join(cacheDir, 'runs', `${key}.json`);
}

async function readCache(file: string): Promise<ICacheEntry | null> {
  try {
    const entry = JSON.parse(await fs.readFile(file, 'utf8')) as ICacheEntry;
    return entry.version === CACHE_VERSION ? entry : null;
  } catch {
    return null;
  }
}

async function writeCache(file: string, entry: ICacheEntry): Promise<void> {
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await fs.writeFile(temporary, JSON.stringify(entry));
    await fs.rename(temporary, file); // readers see the old entry or the new one, never half of one
  } catch {
    // An unwritable cache only costs the next scan a journal read.
  }
}

/** The notebook's file name: as `identity.json` last saw it, else as its kernels named it, else `<stem>.ipynb`. */
function notebookName(provFolder: string, identityText: string | null, kernelNotebooks: string[]): string {
  const fromIdentity = parseIdentity(identityText)?.notebook;
  const fromKernel = kernelNotebooks.filter(name => typeof name === 'string' && name.endsWith('.ipynb')).pop();
  return fromIdentity ?? fromKernel ?? `${path.basename(provFolder, PROV_SUFFIX)}.ipynb`;
}

/** Everything the journal of one `.prov` folder says, through the core model; a `UserError` when it has none. */
export async function readProvFolder(
  provFolder: string,
  liveSessions: string[]
): Promise<{ session: ISession; notebook: string; journalWarnings: string[] }> {
  const journalDir = path.join(provFolder, JOURNAL_DIR);
  let names: string[];
  try {
    names = (await fs.readdir(journalDir)).filter(name => name.endsWith(JOURNAL_SUFFIX)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT' ? 'no journal/ folder (missing or not a .prov folder)' : `cannot read journal/: ${code}`
    );
  }
  if (names.length === 0) {
    throw new UserError('journal/ holds no .jsonl files');
  }
  const identityText = await fileSystemReader.read(path.join(provFolder, IDENTITY_FILE));
  const model = newSessionModel(parseIdentity(identityText)?.id ?? null);
  await foldJournals(
    model,
    names.map(name => journalStream(journalDir, name))
  );
  if (model.folded === 0) {
    // A line can have two warnings (bytes replaced, then not JSON): count lines.
    const lines = new Set(model.warnings.map(warning => `${warning.file}:${warning.line}`)).size;
    throw new UserError(`its journal holds no readable record (${lines} lines skipped)`);
  }
  const session = finalizeSession(model, liveSessions);
  const kernelNotebooks = [...model.kernelSessions.values()].map(kernel => kernel.notebook).filter(name => name !== '');
  const notebook = notebookName(provFolder, identityText, kernelNotebooks);
  const skipped = session.warnings;
  const journalWarnings = skipped.length
    ? [`${skipped.length} journal line(s) skipped, first ${skipped[0].file}:${skipped[0].line}: ${skipped[0].reason}`]
    : [];
  return { session, notebook, journalWarnings };
}

const slashes = (relative: string): string => relative.split(path.sep).join('/');

/** The rows of one `.prov` folder, from the cache when its journal files are unchanged. */
async function folderRows(
  provFolder: string,
  base: string,
  options: IScanOptions
): Promise<{ rows: RunRow[]; warnings: string[] }> {
  const real = await fs.realpath(provFolder).catch(() => null);
  if (real === null || !(await isDirectory(real))) {
    throw new UserError('missing (a broken link or not a folder)');
  }
  const fileStamps = await stamps(real).catch(() => null);
  const cacheFile = options.cacheDir === null ? null : cachePath(options.cacheDir, real);
  // Rows are built and cached without live sessions; the live ones are applied to every read.
  const live = new Set(options.liveSessions);
  const folderLabel = slashes(path.relative(base, provFolder)) || '.';
  if (cacheFile !== null && fileStamps !== null) {
    const cached = await readCache(cacheFile);
    if (cached !== null && cached.folder === real && JSON.stringify(cached.stamps) === JSON.stringify(fileStamps)) {
      const rows = cached.rows.map(({ cells, floats }) => {
        const row: RunRow = Object.fromEntries(Object.entries(cells).map(([key, value]) => [key, decodeCell(value)]));
        row[FLOAT_COLUMNS] = floats;
        return liveRow(row, live);
      });
      return { rows: relabel(rows, base, provFolder, folderLabel), warnings: cached.warnings };
    }
  }
  const { session, notebook, journalWarnings } = await readProvFolder(real, []);
  const rows = sessionRows(session, notebook);
  if (cacheFile !== null && fileStamps !== null) {
    await writeCache(cacheFile, {
      version: CACHE_VERSION,
      folder: real,
      stamps: fileStamps,
      rows: rows.map(row => ({
        cells: Object.fromEntries(Object.entries(row).map(([key, value]) => [key, encodeCell(value)])),
        floats: row[FLOAT_COLUMNS] ?? []
      })),
      warnings: journalWarnings
    });
  }
  const liveRows = rows.map(row => liveRow(row, live));
  return { rows: relabel(liveRows, base, provFolder, folderLabel), warnings: journalWarnings };
}

/** Rows carry the notebook as a path relative to the scan's base, and their `.prov` folder. */
function relabel(rows: RunRow[], base: string, provFolder: string, folderLabel: string): RunRow[] {
  const dir = slashes(path.relative(base, path.dirname(provFolder)));
  return rows.map(row => ({
    ...row,
    notebook: dir ? `${dir}/${String(row.notebook)}` : row.notebook,
    folder: folderLabel
  }));
}

/**
 * The rows of every run the path names. In a scan, unreadable `.prov` folders are skipped with a
 * warning; a path naming one notebook or `.prov` folder that cannot be read is an error.
 */
export async function scanRuns(target: string, options: IScanOptions): Promise<IScanResult> {
  const { base, folders, single } = await findProvFolders(target, options.recursive);
  const rows: RunRow[] = [];
  const warnings: IScanWarning[] = [];
  for (const folder of folders) {
    const label = slashes(path.relative(base, folder)) || '.';
    try {
      const result = await folderRows(folder, base, options);
      rows.push(...result.rows);
      warnings.push(...result.warnings.map(reason => ({ folder: label, reason })));
    } catch (error) {
      if (single && error instanceof UserError) {
        throw new UserError(`${folder}: ${error.message}`);
      }
      const reason = error instanceof UserError ? error.message : `unreadable: ${String(error)}`;
      warnings.push({ folder: label, reason: `skipped: ${reason}` });
    }
  }
  return { base, rows, warnings };
}
