/**
 * `nbprov restore --run RUN [--repo PATH] [--notebook-only] <prov.json> <destination>`
 *
 * Rebuilds the code of one run from an export: clones the run's repository (`--repo`, else the
 * recorded remote, else the recorded repository path) into the destination, checks out the
 * recorded commit, applies the recorded uncommitted diff (after checking its SHA-256) and writes
 * the notebook with the cell sources exactly as the run's kernel session executed them, up to and
 * including the run's cell.
 *
 * Refuses (non-zero exit, nothing written) when the run is unknown, the diff was capped or its
 * hash does not match, the destination is not empty, or the export has no git information
 * (`--notebook-only` then writes only `<destination>/<stem>.ipynb`). A commit missing from the
 * repository is found only after cloning: the clone is then removed again.
 * Nothing is ever written outside the destination.
 */

import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { simpleGit, SimpleGit } from 'simple-git';

import { type ICommandSpec, parseCommandArgs, usageLine } from './args';
import { UsageError, UserError } from './errors';

export const restoreSpec: ICommandSpec = {
  summary: "rebuild one run's code (commit, uncommitted diff, executed cells) from an export",
  help: [
    'usage: nbprov restore --run RUN [--repo PATH] [--notebook-only] <prov.json> <destination>',
    '',
    "Clones the run's repository into <destination> (which must be missing or empty), checks out the",
    'recorded commit, applies the recorded uncommitted diff after checking its SHA-256, and writes the',
    'notebook with the cells exactly as the run executed them.',
    '',
    'options:',
    '  --run RUN        the run: its id, its PROV id (nbprov:run.<id>) or its name, if unique',
    '  --repo PATH      clone this repository instead of the recorded remote (without a remote, the',
    '                   recorded repository path is used when it still holds the commit)',
    '  --notebook-only  restore only the notebook (for exports without git information)',
    '  -h, --help       show this help'
  ].join('\n'),
  options: { run: { type: 'string' }, repo: { type: 'string' }, 'notebook-only': { type: 'boolean' } },
  positionals: ['prov.json', 'destination']
};

export interface IRestoreOptions {
  provPath: string;
  /** The run: its id, its PROV id or its unique name. */
  run: string;
  destination: string;
  /** Local repository to clone instead of the recorded remote. */
  repo: string | null;
  notebookOnly: boolean;
}

/** What an export records about one run's code, as restore needs it. */
export interface IRecordedRun {
  run: string;
  /** The notebook's file name as the kernel reported it, or null. */
  notebook: string | null;
  git: IRecordedGit | null;
  /** The run's kernel session executions up to and including the run's, in execution order. */
  executions: IRecordedExecution[];
}

export interface IRecordedGit {
  root: string | null;
  commit: string | null;
  remote: string | null;
  /** The notebook's path relative to the repository root, `/`-separated. */
  notebook: string | null;
  diff: string;
  diffEncoding: 'utf-8' | 'base64';
  diffSha256: string;
  diffSize: number;
  diffTruncated: boolean;
  untracked: string[];
}

export interface IRecordedExecution {
  /** Kernel exec id, `<session>-<n>`. */
  exec: string;
  cell: string | null;
  count: number | null;
  source: string;
}

export interface IRestoreResult {
  /** Absolute path of the restored notebook. */
  notebook: string;
  /** Commit checked out, or null with `--notebook-only`. */
  commit: string | null;
  /** Untracked files present when the run started: they are not in the repository. */
  untrackedNotRestored: string[];
}

/** The restore options, or 'help'; a `UsageError` for a command line that does not parse. */
export function parseRestoreArgs(args: string[]): IRestoreOptions | 'help' {
  const parsed = parseCommandArgs(restoreSpec, args);
  if (parsed === 'help') {
    return 'help';
  }
  const { run, repo, 'notebook-only': notebookOnly } = parsed.values;
  if (typeof run !== 'string') {
    throw new UsageError('missing --run RUN', usageLine(restoreSpec));
  }
  return {
    provPath: parsed.positionals[0],
    run,
    destination: parsed.positionals[1],
    repo: typeof repo === 'string' ? repo : null,
    notebookOnly: notebookOnly === true
  };
}

type ProvAttributes = Record<string, unknown>;
type ProvSection = Record<string, ProvAttributes>;

/**
 * Reads one run out of a PROV-JSON export (mapping in ARCHITECTURE.md, "PROV mapping"): the
 * `nbprov:git_*` attributes of the code state entity the run `used`, the cell execution that
 * informed it, and the executions of its kernel session up to that one with the cell source each `used`.
 */
export function recordedRun(document: unknown, selector: string): IRecordedRun {
  if (!isObject(document) || !isObject(document.activity)) {
    throw new UserError('the file is not a PROV-JSON export of nbprov (it has no activities)');
  }
  const activities = document.activity as ProvSection;
  const [runKey, runAttributes] = findRun(activities, selector);
  const runId = text(runAttributes['nbprov:run_id']) as string;
  const isExecution = (key: string): boolean => text(activities[key]?.['prov:type']) === 'nbprov:CellExecution';
  const runExec = relations(document, 'wasInformedBy').find(
    relation => text(relation['prov:informed']) === runKey && isExecution(text(relation['prov:informant']) ?? '')
  );
  if (runExec === undefined) {
    throw new UserError(`the export does not record which cell execution started run ${runId}`);
  }
  const runExecAttributes = activities[text(runExec['prov:informant']) as string];
  const session = text(runExecAttributes['nbprov:kernel_session']);
  const lastIndex = integer(runExecAttributes['nbprov:exec_index']);
  if (session === null || lastIndex === null) {
    throw new UserError(`the export does not record the kernel session of run ${runId}`);
  }
  const sourceOf = executedSources(document);
  const executions = Object.entries(activities)
    .filter(([key, attributes]) => {
      const index = integer(attributes['nbprov:exec_index']);
      return isExecution(key) && text(attributes['nbprov:kernel_session']) === session && index !== null && index <= lastIndex;
    })
    .map(([key, attributes]) => {
      const index = integer(attributes['nbprov:exec_index']) as number;
      const source = sourceOf.get(key);
      if (source === undefined) {
        throw new UserError(`the export lacks the source that execution ${session}-${index} ran`);
      }
      const execution: IRecordedExecution = {
        exec: `${session}-${index}`,
        cell: text(attributes['nbprov:cell']),
        count: integer(attributes['nbprov:execution_count']),
        source
      };
      return { index, execution };
    })
    .sort((a, b) => a.index - b.index)
    .map(({ execution }) => execution);
  const codeState = codeStateOf(document, runKey);
  if (codeState === null && text(runAttributes['nbprov:code_state']) === 'unavailable') {
    throw new UserError(
      `the code state of run ${runId} is unavailable: ${text(runAttributes['nbprov:code_state_reason']) ?? 'no reason recorded'}`
    );
  }
  return { run: runId, notebook: notebookName(document), git: codeState && recordedGit(codeState), executions };
}

/** The attributes of the code state entity (`nbprov:CodeState`) the run activity `runKey` used, or null. */
function codeStateOf(document: Record<string, unknown>, runKey: string): ProvAttributes | null {
  const entities = (isObject(document.entity) ? document.entity : {}) as ProvSection;
  for (const relation of relations(document, 'used')) {
    const entity = entities[text(relation['prov:entity']) ?? ''];
    if (text(relation['prov:activity']) === runKey && entity && text(entity['prov:type']) === 'nbprov:CodeState') {
      return entity;
    }
  }
  return null;
}

/** The run activity `selector` names: its run id, its PROV id (`nbprov:run.<id>`) or its name when unique. */
function findRun(activities: ProvSection, selector: string): [string, ProvAttributes] {
  const runs = Object.entries(activities).filter(
    ([, attributes]) => text(attributes['prov:type']) === 'provml:RunExecution' && text(attributes['nbprov:run_id']) !== null
  );
  const byId = runs.find(([key, attributes]) => text(attributes['nbprov:run_id']) === selector || key === selector);
  if (byId !== undefined) {
    return byId;
  }
  const byName = runs.filter(([, attributes]) => text(attributes['prov:label']) === selector);
  if (byName.length === 1) {
    return byName[0];
  }
  const describe = (candidates: [string, ProvAttributes][]): string =>
    candidates.map(([, attributes]) => `${text(attributes['nbprov:run_id'])} (${text(attributes['prov:label'])})`).join(', ');
  if (byName.length > 1) {
    throw new UserError(
      `${byName.length} runs are named ${JSON.stringify(selector)}: ${describe(byName)}; give one of their ids`
    );
  }
  throw new UserError(`run ${JSON.stringify(selector)} is not in this export; its runs are: ${describe(runs) || 'none'}`);
}

function recordedGit(codeState: ProvAttributes): IRecordedGit | null {
  const diffSha256 = text(codeState['nbprov:git_diff_sha256']);
  if (diffSha256 === null) {
    return null; // `nbprov:git` says "not a git repository", or no code state was captured
  }
  const diff = text(codeState['nbprov:git_diff']);
  const diffSize = integer(codeState['nbprov:git_diff_size']);
  if (diff === null || diffSize === null) {
    throw new UserError('the export records a diff hash but not the diff itself');
  }
  const untracked = text(codeState['nbprov:git_untracked']);
  return {
    root: text(codeState['nbprov:git_root']),
    commit: text(codeState['nbprov:git_commit']),
    remote: text(codeState['nbprov:git_remote']),
    notebook: text(codeState['nbprov:git_notebook']),
    diff,
    diffEncoding: text(codeState['nbprov:git_diff_encoding']) === 'base64' ? 'base64' : 'utf-8',
    diffSha256,
    diffSize,
    diffTruncated: flag(codeState['nbprov:git_diff_truncated']),
    untracked: untracked === null ? [] : parseStringList(untracked)
  };
}

/** Cell execution id → the source it ran, from `used` relations to `nbprov:CellSource` entities. */
function executedSources(document: Record<string, unknown>): Map<string, string> {
  const entities = (isObject(document.entity) ? document.entity : {}) as ProvSection;
  const sources = new Map<string, string>();
  for (const relation of relations(document, 'used')) {
    const entity = entities[text(relation['prov:entity']) ?? ''];
    const activity = text(relation['prov:activity']);
    const source = entity && text(entity['prov:type']) === 'nbprov:CellSource' ? text(entity['nbprov:source']) : null;
    if (activity !== null && source !== null) {
      sources.set(activity, source);
    }
  }
  return sources;
}

function notebookName(document: Record<string, unknown>): string | null {
  const entities = (isObject(document.entity) ? document.entity : {}) as ProvSection;
  const notebook = Object.values(entities).find(attributes => text(attributes['prov:type']) === 'nbprov:Notebook');
  return notebook ? text(notebook['prov:label']) : null;
}

function relations(document: Record<string, unknown>, kind: string): ProvAttributes[] {
  const section = document[kind];
  return isObject(section) ? Object.values(section).filter(isObject) : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A PROV-JSON value as plain JSON: typed literals (`{"$": …, "type": …}`) give their `$`. */
function plain(value: unknown): unknown {
  return isObject(value) && '$' in value ? value.$ : value;
}

function text(value: unknown): string | null {
  const v = plain(value);
  return typeof v === 'string' ? v : null;
}

function integer(value: unknown): number | null {
  const v = plain(value);
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : null;
}

function flag(value: unknown): boolean {
  const v = plain(value);
  return v === true || v === 'true';
}

function parseStringList(json: string): string[] {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

/** The bytes of the recorded diff, refused when capped or when they do not match their hash. */
export function verifiedDiff(git: IRecordedGit): Buffer {
  if (git.diffTruncated) {
    throw new UserError(
      `the run's uncommitted changes (${git.diffSize} bytes) exceeded the recording cap; ` +
        'the recorded diff is incomplete and cannot be restored'
    );
  }
  const diff = Buffer.from(git.diff, git.diffEncoding === 'base64' ? 'base64' : 'utf8');
  const sha256 = createHash('sha256').update(diff).digest('hex');
  if (sha256 !== git.diffSha256 || diff.length !== git.diffSize) {
    if (/\[redacted:[A-Za-z0-9_.-]+\]/.test(git.diff)) {
      throw new UserError(
        'the recorded diff had credentials redacted (it contains [redacted:...]), so it cannot be ' +
          'restored exactly; restore with --notebook-only and re-apply those changes by hand'
      );
    }
    throw new UserError(`the recorded diff does not match its SHA-256 (${git.diffSha256}): the export was modified`);
  }
  return diff;
}

/**
 * Where the notebook goes inside the destination: its recorded path in the repository, or
 * `<stem>.ipynb` at the top without git. The recorded path must stay inside the destination.
 */
export function notebookTarget(destination: string, run: IRecordedRun): string {
  const relative = run.git ? checkedRepositoryPath(run.git.notebook) : `${safeStem(run.notebook)}.ipynb`;
  const target = path.resolve(destination, ...relative.split('/'));
  if (!isWithin(path.resolve(destination), target)) {
    throw new UserError(`the recorded notebook path ${JSON.stringify(relative)} leaves the destination`);
  }
  return target;
}

/** nbformat 4.5 JSON: one code cell per execution, sources exactly as executed. */
export function restoredNotebook(run: IRecordedRun): string {
  const usedIds = new Set<string>();
  const cells = run.executions.map((execution, index) => {
    const id = uniqueCellId(execution, index, usedIds);
    return {
      cell_type: 'code',
      execution_count: execution.count,
      id,
      metadata: { nbprov: { exec: execution.exec, cell: execution.cell } },
      outputs: [],
      source: sourceLines(execution.source)
    };
  });
  const notebook = {
    cells,
    metadata: { nbprov: { restored_run: run.run } },
    nbformat: 4,
    nbformat_minor: 5
  };
  return JSON.stringify(notebook, null, 1) + '\n';
}

export async function restore(options: IRestoreOptions): Promise<IRestoreResult> {
  const run = recordedRun(await readProv(options.provPath), options.run);
  if (run.git === null && !options.notebookOnly) {
    throw new UserError(
      'the export has no git information for this run (its notebook was not in a git repository): ' +
        'only the notebook can be restored; pass --notebook-only to do that'
    );
  }
  const useGit = run.git !== null && !options.notebookOnly;
  const restoring: IRecordedRun = useGit ? run : { ...run, git: null };
  const destination = path.resolve(options.destination);
  // Every check that needs no clone runs before anything is written.
  const diff = useGit && run.git ? verifiedDiff(run.git) : null;
  const target = notebookTarget(destination, restoring);
  const source = useGit && run.git ? await cloneSource(run.git, options.repo) : null;
  const createdDestination = await prepareDestination(destination);
  try {
    if (source !== null && diff !== null && run.git) {
      await checkoutRecordedState(source, destination, run.git.commit, diff);
    }
    await writeInside(destination, target, restoredNotebook(restoring));
  } catch (error) {
    await undo(destination, createdDestination);
    throw error;
  }
  return {
    notebook: target,
    commit: useGit && run.git ? run.git.commit : null,
    untrackedNotRestored: useGit && run.git ? run.git.untracked : []
  };
}

/** Entry point of the subcommand; a `UserError` is printed by the command table with exit status 1. */
export async function restoreCommand(args: string[]): Promise<number> {
  const options = parseRestoreArgs(args);
  if (options === 'help') {
    process.stdout.write(restoreSpec.help + '\n');
    return 0;
  }
  const result = await restore(options);
  const what = result.commit ? `commit ${result.commit} and notebook` : 'notebook';
  process.stdout.write(`nbprov restore: restored ${what} ${result.notebook}\n`);
  if (result.untrackedNotRestored.length > 0) {
    process.stderr.write(
      'nbprov restore: untracked files at run start were not recorded and are not restored: ' +
        `${result.untrackedNotRestored.join(', ')}\n`
    );
  }
  return 0;
}

async function readProv(provPath: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(provPath, 'utf8');
  } catch (error) {
    throw new UserError(`cannot read ${provPath}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${provPath} is not JSON: ${(error as Error).message}`);
  }
}

/**
 * What to clone: `--repo`, else the recorded remote (transport-helper URLs are refused), else the
 * recorded repository path when it still holds the commit.
 */
async function cloneSource(git: IRecordedGit, repo: string | null): Promise<string> {
  if (repo !== null) {
    return path.resolve(repo);
  }
  if (git.remote !== null) {
    if (git.remote.startsWith('-') || git.remote.includes('::')) {
      throw new UserError(`refusing the recorded remote ${JSON.stringify(git.remote)}`);
    }
    return git.remote;
  }
  const root = git.root === null ? null : path.resolve(git.root);
  if (root !== null && git.commit !== null && (await holdsCommit(root, git.commit))) {
    return root;
  }
  throw new UserError(
    `the run's repository had no remote and its recorded path ${git.root ?? '(none)'} ` +
      `no longer holds commit ${git.commit ?? '(none)'}; give a clone of it with --repo`
  );
}

async function holdsCommit(folder: string, commit: string): Promise<boolean> {
  const stat = await fs.stat(folder).catch(() => null);
  if (!stat?.isDirectory()) {
    return false;
  }
  return hasCommit(simpleGit({ baseDir: folder }).env({ ...process.env, GIT_TERMINAL_PROMPT: '0' }), commit);
}

/**
 * Accepts a missing or empty destination; returns whether it had to be created. The destination
 * itself must not be a symbolic link: what is restored goes where its real path says.
 */
async function prepareDestination(destination: string): Promise<boolean> {
  if ((await fs.lstat(destination).catch(() => null))?.isSymbolicLink()) {
    throw new UserError(`the destination ${destination} is a symbolic link; give the folder it leads to`);
  }
  let entries: string[];
  try {
    entries = await fs.readdir(destination);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UserError(`the destination ${destination} is not a usable folder: ${(error as Error).message}`);
    }
    await fs.mkdir(destination, { recursive: true });
    return true;
  }
  if (entries.length > 0) {
    throw new UserError(`the destination ${destination} exists and is not empty`);
  }
  return false;
}

async function checkoutRecordedState(source: string, destination: string, commit: string | null, diff: Buffer): Promise<void> {
  if (commit === null) {
    throw new UserError('the run was recorded before the repository had any commit');
  }
  const environment = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  try {
    await simpleGit().env(environment).clone(source, destination, ['--no-checkout', '--']);
  } catch (error) {
    throw new UserError(`cannot clone ${source}: ${gitMessage(error)}`);
  }
  const git: SimpleGit = simpleGit({ baseDir: destination }).env(environment);
  if (!(await hasCommit(git, commit))) {
    // The commit may exist on the remote without being on any branch it advertises.
    await git.raw(['fetch', '--quiet', 'origin', commit]).catch(() => undefined);
    if (!(await hasCommit(git, commit))) {
      throw new UserError(`commit ${commit} is not in ${source} (was it pushed?)`);
    }
  }
  try {
    await git.raw(['checkout', '--quiet', '--detach', commit]);
    if (diff.length > 0) {
      // The patch goes inside the clone's own .git folder: nothing is written outside the destination.
      const patch = path.join(destination, '.git', 'nbprov-restore.patch');
      await fs.writeFile(patch, diff);
      await git.raw(['apply', '--binary', '--whitespace=nowarn', patch]);
      await fs.rm(patch);
    }
  } catch (error) {
    throw new UserError(`cannot restore commit ${commit} with its diff: ${gitMessage(error)}`);
  }
}

async function hasCommit(git: SimpleGit, commit: string): Promise<boolean> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) {
    throw new UserError(`the recorded commit ${JSON.stringify(commit)} is not a commit id`);
  }
  try {
    await git.raw(['cat-file', '-e', `${commit}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a file inside the restored tree. Its folders are checked one by one, each existing one by
 * its real path, before the next is created: a symbolic link in the cloned repository that leads
 * outside the destination is refused before any folder is made through it. The file is opened
 * without following a link.
 */
async function writeInside(destination: string, target: string, text: string): Promise<void> {
  const realDestination = await fs.realpath(destination);
  let folder = destination;
  for (const segment of path.relative(destination, path.dirname(target)).split(path.sep).filter(Boolean)) {
    folder = path.join(folder, segment);
    const stat = await fs.lstat(folder).catch(() => null);
    if (stat === null) {
      await fs.mkdir(folder);
    } else if (!isWithin(realDestination, await fs.realpath(folder))) {
      throw new UserError(`the notebook's folder ${folder} leads outside the destination`);
    } else if (!(await fs.stat(folder)).isDirectory()) {
      throw new UserError(`${folder} exists and is not a folder`);
    }
  }
  const existing = await fs.lstat(target).catch(() => null);
  if (existing !== null && !existing.isFile()) {
    throw new UserError(`${target} exists and is not a regular file`);
  }
  const handle = await fs
    .open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644)
    .catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ELOOP' ? new UserError(`${target} is a symbolic link`) : error;
    });
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

async function undo(destination: string, createdDestination: boolean): Promise<void> {
  if (createdDestination) {
    await fs.rm(destination, { recursive: true, force: true });
    return;
  }
  for (const entry of await fs.readdir(destination)) {
    await fs.rm(path.join(destination, entry), { recursive: true, force: true });
  }
}

/** A recorded path inside the repository: relative, `/`-separated, no `..`, not into `.git`. */
function checkedRepositoryPath(recorded: string | null): string {
  if (recorded === null) {
    throw new UserError('the export does not record where the notebook is in the repository');
  }
  const segments = recorded.split('/');
  const unsafe =
    recorded.includes('\\') ||
    recorded.includes('\0') ||
    path.isAbsolute(recorded) ||
    /^[a-zA-Z]:/.test(recorded) ||
    segments.some(s => s === '' || s === '.' || s === '..' || s.toLowerCase() === '.git');
  if (unsafe) {
    throw new UserError(`the recorded notebook path ${JSON.stringify(recorded)} is not a safe relative path`);
  }
  return recorded;
}

/** A file stem from the recorded notebook name: its base name, restricted to harmless characters. */
function safeStem(recordedName: string | null): string {
  const base = (recordedName ?? '').split(/[\\/]/).pop() ?? '';
  const stem = base
    .replace(/\.ipynb$/i, '')
    .replace(/[^A-Za-z0-9._ -]/g, '_')
    .replace(/^[.\s]+/, '');
  return stem.trim() === '' ? 'notebook' : stem;
}

/** True when `candidate` is `folder` or lies below it (both absolute). */
function isWithin(folder: string, candidate: string): boolean {
  const relative = path.relative(folder, candidate);
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function uniqueCellId(execution: IRecordedExecution, index: number, used: Set<string>): string {
  const valid = (id: string | null): id is string => id !== null && /^[A-Za-z0-9_-]{1,64}$/.test(id) && !used.has(id);
  const id = [execution.cell, execution.exec].find(valid) ?? `restored-${index + 1}`;
  used.add(id);
  return id;
}

/** Jupyter's multi-line string form: lines keep their newline; joining gives the source back. */
function sourceLines(source: string): string[] {
  return source.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function gitMessage(error: unknown): string {
  return error instanceof Error ? error.message.trim() : String(error);
}
