/**
 * The record contract (ARCHITECTURE.md, "The journal"): the record types, the one validator every
 * record passes through (journal lines and live comm records alike), and the naming rules of the
 * `.prov` folder. Its Python twin is nbprov/records.py; a test validates a real kernel's journal here.
 *
 * The validator checks the fields every consumer relies on and returns the typed record, or null
 * for an unknown type (newer writers must not break older readers). Metric arrays are the one
 * difference between disk and comm: base64 text in a journal line, a binary buffer's index over the
 * comm; `journalArrays` and `commArrays` decode them and nothing else does.
 */

import { decodeMetricArrays, FramingError, type PayloadBytes } from './framing';
import { checkParamValue, PARAM_VALUE_TYPES, ParamValueType } from './params';
import { sha256Hex } from './sha256';

/** The folder next to a notebook that holds its provenance: `<stem>.prov`. */
export const PROV_SUFFIX = '.prov';
/** Journal files live in `<stem>.prov/journal/`. */
export const JOURNAL_DIR = 'journal';
/** Kernel and page sessions are generated ids, never free text. */
export const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** `k-<kernel session>.jsonl` (one kernel process) or `f-<page session>-<n>.jsonl` (one page segment). */
export const JOURNAL_FILE = /^[kf]-[A-Za-z0-9_-]+\.jsonl$/;
/**
 * `k-<session>.jsonl`, or `k-<session>-r<rank>.jsonl` for a rank process that joined a run
 * (`nbprov.ranks`); the session is the shortest match, so a rank journal never passes for a kernel's.
 */
const KERNEL_JOURNAL = /^k-([A-Za-z0-9_-]+?)(?:-r(\d+))?\.jsonl$/;
/** A run id names a Zarr group: 32 lowercase hex digits. */
export const RUN_ID = /^[0-9a-f]{32}$/;

/** The kernel session a kernel journal file belongs to (`k-<session>.jsonl`), else null. */
export function kernelSessionOf(fileName: string): string | null {
  const match = KERNEL_JOURNAL.exec(fileName);
  return match ? match[1] : null;
}

/** The rank of a rank process's journal (`k-<session>-r<rank>.jsonl`), else null. */
export function journalRankOf(fileName: string): number | null {
  const match = KERNEL_JOURNAL.exec(fileName);
  return match && match[2] !== undefined ? Number(match[2]) : null;
}

/** A kernel session's journal file name; a rank process's with its rank. */
export function kernelJournalName(session: string, rank: number | null = null): string {
  return rank === null ? `k-${session}.jsonl` : `k-${session}-r${rank}.jsonl`;
}

/** Journal files end so; readers take every such file of `journal/`. */
export const JOURNAL_SUFFIX = '.jsonl';

/** Segment `n` of a page session's journal: `f-<page>-<nnnn>.jsonl`. */
export function pageJournalName(page: string, segment: number): string {
  return `f-${page}-${String(segment).padStart(4, '0')}.jsonl`;
}

const PAGE_JOURNAL = /^f-([A-Za-z0-9_-]+)-(\d+)\.jsonl$/;

/** The page session a page segment belongs to (`f-<page>-<n>.jsonl`), else null. */
export function pageSessionOf(fileName: string): string | null {
  const match = PAGE_JOURNAL.exec(fileName);
  return match ? match[1] : null;
}

/** True for a page journal segment (`f-*.jsonl`). */
export function isPageJournal(fileName: string): boolean {
  return JOURNAL_FILE.test(fileName) && fileName.startsWith('f-');
}

/** The energy sampler logs a device's power as the metric `power_watts[<device>]`. */
const POWER_METRIC = /^power_watts\[(.*)\]$/s;

/** The power metric name of a device. */
export function powerMetric(device: string): string {
  return `power_watts[${device}]`;
}

/** The device of a power series name (`power_watts[<device>]`), or null for other metrics. */
export function powerDevice(metric: string): string | null {
  const match = POWER_METRIC.exec(metric);
  return match ? match[1] : null;
}

type JsonScalar = string | number | boolean | null;

interface IRecordBase {
  /** ISO 8601 date-time with time zone. */
  t: string;
  /** Kernel records only: counter per kernel journal file. */
  seq?: number;
}

/** The `rank` object of a rank process's `kernel_start` (`nbprov.ranks`): the run it joined, and where. */
export interface IRankStart {
  run: string;
  parent_session: string | null;
  rank: number;
  local_rank: number | null;
  world_size: number | null;
  node_rank: number | null;
  launcher: string;
}

export interface IKernelStart extends IRecordBase {
  type: 'kernel_start';
  session: string;
  kernel_id: string | null;
  pid: number;
  hostname: string;
  python: string;
  nbprov_version: string;
  notebook: string;
  /** The notebook's identity (`identity.json` id), or null when the kernel wrote none. */
  notebook_id: string | null;
  user: string;
  /** A rank process that joined a run (`nbprov.ranks`; see `src/core/ranks.ts`). */
  rank?: IRankStart;
}

export interface IExecStart extends IRecordBase {
  type: 'exec_start';
  exec: string;
  msg_id: string | null;
  cell: string | null;
  count: number | null;
  source: string;
  /**
   * How the cell was identified: `request` (named by the execute request), `source` (the only cell
   * of the notebook file with this source), `ambiguous` (several have it: `cell` is a guess among
   * `cell_candidates`); null when no cell was identified (older kernels: absent).
   */
  cell_match?: 'request' | 'source' | 'ambiguous' | null;
  cell_candidates?: string[];
  /** Papermill's tag of the cell in the notebook file: `parameters` or `injected-parameters`. */
  cell_role?: string | null;
  /** The cell's 0-based position in the notebook file as the kernel read it; null when not found there. */
  cell_index?: number | null;
}

export interface IExecEnd extends IRecordBase {
  type: 'exec_end';
  exec: string;
  status: string;
  ename?: string | null;
  evalue?: string | null;
}

export interface IGitState {
  root?: string | null;
  commit?: string | null;
  branch?: string | null;
  /** `origin`'s reduced URL, else the first remote's; null when none or when it is unparseable. */
  remote?: string | null;
  /** Every remote: URL reduced to scheme, host and path, or `unparseable`. */
  remotes?: { name: string; url: string }[] | null;
  dirty?: boolean | null;
  diff?: string | null;
  /** `utf-8`, or `base64` when the diff is not valid UTF-8. */
  diff_encoding?: string | null;
  diff_sha256?: string | null;
  diff_size?: number | null;
  diff_truncated?: boolean | null;
  untracked?: string[] | null;
  notebook?: string | null;
}

export interface ICodeState {
  git: IGitState | null;
  python?: string | null;
  packages?: Record<string, string> | null;
}

/**
 * A code state, written once per distinct content per journal file, before the first `run_start`
 * that names it by `code_sha256` (each file stays self-contained: it can be folded alone).
 */
export interface ICodeStateRecord extends IRecordBase {
  type: 'code_state';
  /** `codeStateSha256(code)`: the content key runs refer to. */
  sha256: string;
  code: ICodeState;
}

/** A SHA-256 in lowercase hex. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** JSON with every object's keys sorted and no spaces: the text a code state's key is the hash of. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Json).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The content key of a code state (the kernel's `records.code_state_sha256`, the same bytes). */
export function codeStateSha256(code: ICodeState): string {
  return sha256Hex(canonicalJson(code));
}

export interface IRunStart extends IRecordBase {
  type: 'run_start';
  run: string;
  name: string;
  experiment: string;
  exec: string | null;
  /** The `code_state` record of this journal file that holds the run's code state, or null. */
  code_sha256: string | null;
  /** Journals written before `code_state` records: the code state inline (read as such by the reducer). */
  code: ICodeState | null;
  energy: boolean;
  /** The run it is nested in (a sweep's parent), or null. */
  parent: string | null;
}

export interface ITag extends IRecordBase {
  type: 'tag';
  run: string;
  key: string;
  value: string;
}

/** A later cell execution that logged into a run open across cells. */
export interface IRunExec extends IRecordBase {
  type: 'run_exec';
  run: string;
  exec: string;
}

export interface IParam extends IRecordBase {
  type: 'param';
  run: string;
  key: string;
  value: JsonScalar;
  /** Absent in journals written before nbprov recorded it. */
  value_type: ParamValueType | null;
  role: 'input' | 'output';
}

export interface IContextStart extends IRecordBase {
  type: 'context_start';
  run: string;
  ctx: number;
  name: string;
  epoch: number | null;
  parent: number | null;
  /** Set by the reducer on a rank process's context (never read from disk). */
  rank?: number;
}

export interface IContextEnd extends IRecordBase {
  type: 'context_end';
  run: string;
  ctx: number;
}

/** One metric's batch of points, arrays decoded from their framing (`./framing`). */
export interface IMetricBatch {
  metric: string;
  ctx: number | null;
  n: number;
  steps: BigInt64Array;
  values: Float64Array;
  timestamps: BigInt64Array;
  epochs: Int32Array;
  /** Set by the reducer on a rank process's series (never read from disk): its rank and session (`core/ranks.ts`). */
  rank?: number;
  process?: string;
}

export interface IMetrics extends IRecordBase {
  type: 'metrics';
  run: string;
  batch: number;
  series: IMetricBatch[];
}

export interface IArtifact extends IRecordBase {
  type: 'artifact';
  run: string;
  path: string;
  name: string;
  sha256: string;
  size: number;
  role: 'input' | 'output';
  /** Logged text, dicts and figures: where the file is stored (`artifacts/<sha256><suffix>`) and its type. */
  stored?: string | null;
  media_type?: string | null;
}

export interface IEnergy extends IRecordBase {
  type: 'energy';
  run: string;
  scope: 'run' | 'context' | 'epoch' | 'cell';
  ref: string | number | null;
  /** Context of a `context` / `epoch` reading (an `epoch` reading's `ref` is the epoch number). */
  ctx: number | null;
  device: string;
  joules: number | null;
  method: string;
  reason?: string | null;
  resolution_limited?: boolean | null;
  /** Set by the reducer on a rank process's reading (never read from disk): where it was measured. */
  rank?: number;
  host?: string;
}

export interface IRunEnd extends IRecordBase {
  type: 'run_end';
  run: string;
  status: 'finished' | 'failed' | 'interrupted' | 'crashed';
  ename?: string | null;
  evalue?: string | null;
}

/** A rank process's end of its part of a run (its own journal; see `src/core/ranks.ts`). */
export interface IRankEnd extends IRecordBase {
  type: 'rank_end';
  run: string;
  status: 'finished' | 'failed' | 'interrupted' | 'crashed';
  ename?: string | null;
  evalue?: string | null;
}

/** Metric points the kernel could not keep while its disk refused the journal (beyond its memory bound). */
export interface IGap extends IRecordBase {
  type: 'gap';
  run: string | null;
  records: number;
  points: number;
  reason: string;
}

/** The kernel's journal stopped (`failing`) or started again (`ok`) being written to disk. */
export interface IJournalStatus extends IRecordBase {
  type: 'journal_status';
  state: 'failing' | 'ok';
  reason: string;
}

export interface IPageStart extends IRecordBase {
  type: 'page_start';
  page: string;
  notebook: string;
  /** The notebook's identity (`identity.json` id), or null when the page wrote none. */
  notebook_id: string | null;
  user: string;
}

/** The page started or stopped recording the notebook (the toggle, an opt-in, a settings change). */
export interface IRecordingSwitch extends IRecordBase {
  type: 'recording';
  state: 'recorded' | 'paused' | 'off';
  reason: string;
}

export interface ISourceRecord extends IRecordBase {
  type: 'source';
  cell: string;
  cell_type: string;
  sha256: string;
  source: string;
}

export interface IStructure extends IRecordBase {
  type: 'structure';
  op: 'add' | 'remove' | 'move';
  cell: string;
  from: number | null;
  to: number | null;
}

export interface INotebookSnapshot extends IRecordBase {
  type: 'notebook';
  /** `[cell id, source sha256]` in notebook order. */
  cells: [string, string][];
}

export interface IOutputItem {
  output_type: string;
  name?: string;
  mime?: string;
  text?: string;
  truncated: boolean;
  sha256: string;
  size: number;
  blob?: string;
}

export interface IExecOutput extends IRecordBase {
  type: 'exec_output';
  msg_id: string | null;
  cell: string | null;
  count: number | null;
  status: string;
  started: string;
  ended: string | null;
  outputs: IOutputItem[];
}

/** Outputs captured by the kernel: items from `index` on replace what earlier records said. */
export interface IKernelOutput extends IRecordBase {
  type: 'kernel_output';
  exec: string;
  index: number;
  outputs: IOutputItem[];
  /** True on the record written at the execution's end. */
  final: boolean;
}

export type JournalRecord =
  | IKernelOutput
  | IKernelStart
  | IExecStart
  | IExecEnd
  | IRunStart
  | ICodeStateRecord
  | IParam
  | IContextStart
  | IContextEnd
  | IMetrics
  | IArtifact
  | IEnergy
  | IRunEnd
  | IRankEnd
  | ITag
  | IRunExec
  | IGap
  | IJournalStatus
  | IPageStart
  | IRecordingSwitch
  | ISourceRecord
  | IStructure
  | INotebookSnapshot
  | IExecOutput;

/** Thrown by the validator: the reason a record is rejected (a warning for a journal line). */
export class RecordError extends Error {}

export type Json = Record<string, unknown>;

const str = (o: Json, k: string): string => {
  if (typeof o[k] !== 'string') {
    throw new RecordError(`field "${k}" must be a string`);
  }
  return o[k] as string;
};
const optStr = (o: Json, k: string): string | null => {
  if (o[k] === undefined || o[k] === null) {
    return null;
  }
  return str(o, k);
};
const num = (o: Json, k: string): number => {
  if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) {
    throw new RecordError(`field "${k}" must be a number`);
  }
  return o[k] as number;
};
const int = (o: Json, k: string): number => {
  const value = num(o, k);
  if (!Number.isSafeInteger(value)) {
    throw new RecordError(`field "${k}" must be an integer`);
  }
  return value;
};
/** Full ISO 8601 date-time with a zone: PROV readers drop partial dates silently. */
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/;
const time = (o: Json, k: string): string => {
  const value = str(o, k);
  if (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw new RecordError(`field "${k}" must be an ISO 8601 date-time with time zone`);
  }
  return value;
};
const optTime = (o: Json, k: string): string | null => (o[k] === undefined || o[k] === null ? null : time(o, k));
const optInt = (o: Json, k: string): number | null => (o[k] === undefined || o[k] === null ? null : int(o, k));
const oneOf = <T extends string>(o: Json, k: string, allowed: readonly T[]): T => {
  const value = str(o, k);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new RecordError(`field "${k}" must be one of ${allowed.join(', ')}`);
  }
  return value as T;
};
const ROLES = ['input', 'output'] as const;
const CELL_MATCHES = ['request', 'source', 'ambiguous'] as const;

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_LOOKUP = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) {
    table[BASE64_ALPHABET.charCodeAt(i)] = i;
  }
  return table;
})();

/** Standard base64 (with or without padding) to bytes; a hand loop because atob is slow on megabytes. */
export function decodeBase64(text: string): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* '=' */) {
    end--;
  }
  if (end % 4 === 1) {
    throw new RecordError('invalid base64 length');
  }
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  const sextet = (i: number): number => {
    const code = text.charCodeAt(i);
    const value = code < 128 ? BASE64_LOOKUP[code] : -1;
    if (value < 0) {
      throw new RecordError('invalid base64 character');
    }
    return value;
  };
  let o = 0;
  let i = 0;
  // Four characters make three bytes; the tail (2 or 3 characters) makes 1 or 2.
  for (const whole = end - (end % 4); i < whole; i += 4) {
    const bits = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6) | sextet(i + 3);
    out[o++] = bits >> 16;
    out[o++] = (bits >> 8) & 0xff;
    out[o++] = bits & 0xff;
  }
  if (end - i >= 2) {
    const bits = (sextet(i) << 18) | (sextet(i + 1) << 12) | (end - i === 3 ? sextet(i + 2) << 6 : 0);
    out[o++] = bits >> 16;
    if (end - i === 3) {
      out[o] = (bits >> 8) & 0xff;
    }
  }
  return out;
}

/**
 * Where a `metrics` record's array payloads come from (see core/framing.ts for the framing): journal
 * lines hold base64 text where comm messages hold the index of one of the message's binary buffers.
 */
export type ArraySource = PayloadBytes;

/** Journal lines: each payload is base64 text. */
export const journalArrays: ArraySource = payload => {
  if (typeof payload !== 'string') {
    throw new RecordError('expected base64 text');
  }
  return decodeBase64(payload);
};

/** The binary buffer a view or buffer of a comm message holds. */
export type MessageBuffer = ArrayBuffer | ArrayBufferView;

/** Comm records: each payload is the index of a binary buffer of the message. */
export function commArrays(buffers: readonly MessageBuffer[]): ArraySource {
  return payload => {
    const buffer = Number.isSafeInteger(payload) ? buffers[payload as number] : undefined;
    if (buffer === undefined) {
      throw new RecordError('names no buffer of the message');
    }
    return buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  };
}

function metricBatch(o: Json, arrays: ArraySource): IMetricBatch {
  const n = int(o, 'n');
  if (n < 0) {
    throw new RecordError('field "n" must be >= 0');
  }
  try {
    return { metric: str(o, 'metric'), ctx: optInt(o, 'ctx'), n, ...decodeMetricArrays(o, n, arrays) };
  } catch (error) {
    throw error instanceof FramingError ? new RecordError(error.message, { cause: error }) : error;
  }
}

function outputItem(o: unknown): IOutputItem {
  if (typeof o !== 'object' || o === null) {
    throw new RecordError('output item must be an object');
  }
  const item = o as Json;
  const parsed: IOutputItem = {
    output_type: str(item, 'output_type'),
    truncated: item.truncated === true,
    sha256: str(item, 'sha256'),
    size: int(item, 'size')
  };
  for (const key of ['name', 'mime', 'text', 'blob'] as const) {
    const value = optStr(item, key);
    if (value !== null) {
      parsed[key] = value;
    }
  }
  return parsed;
}

function scalar(o: Json, k: string): JsonScalar {
  const value = o[k];
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
    return value as JsonScalar;
  }
  throw new RecordError(`field "${k}" must be a JSON scalar`);
}

const runId = (o: Json, k: string): string => {
  const value = str(o, k);
  if (!RUN_ID.test(value)) {
    throw new RecordError(`field "${k}" must be 32 lowercase hex digits`);
  }
  return value;
};
const optRunId = (o: Json, k: string): string | null => (o[k] === undefined || o[k] === null ? null : runId(o, k));

const sha256 = (o: Json, k: string): string => {
  const value = str(o, k);
  if (!SHA256_HEX.test(value)) {
    throw new RecordError(`field "${k}" must be 64 lowercase hex digits`);
  }
  return value;
};

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A code state: an object whose `git` is an object or null and whose `packages` maps names to
 * version strings (what the widget and the export read without further checks).
 */
function codeState(value: unknown): ICodeState {
  if (!isObject(value)) {
    throw new RecordError('field "code" must be an object');
  }
  if (value.git !== undefined && value.git !== null && !isObject(value.git)) {
    throw new RecordError('field "code.git" must be an object or null');
  }
  if (value.git && value.git.diff !== undefined && value.git.diff !== null && typeof value.git.diff !== 'string') {
    throw new RecordError('field "code.git.diff" must be a string');
  }
  const packages = value.packages;
  if (
    packages !== undefined &&
    packages !== null &&
    (!isObject(packages) || !Object.values(packages).every(v => typeof v === 'string'))
  ) {
    throw new RecordError('field "code.packages" must map names to version strings');
  }
  return { ...value, git: (value.git as IGitState | undefined) ?? null } as ICodeState;
}

function nullableIndex(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}

/** A `kernel_start`'s `rank` object, validated; a malformed one fails the record. */
function rankField(o: Json): { rank?: IRankStart } {
  if (o.rank === undefined || o.rank === null) {
    return {};
  }
  const value = o.rank as Json;
  const rank = typeof value === 'object' && !Array.isArray(value) ? nullableIndex(value.rank) : null;
  if (rank === null || typeof value.run !== 'string' || !RUN_ID.test(value.run)) {
    throw new RecordError('field "rank" must be an object with a run id "run" and a non-negative integer "rank"');
  }
  return {
    rank: {
      run: value.run,
      parent_session: typeof value.parent_session === 'string' ? value.parent_session : null,
      rank,
      local_rank: nullableIndex(value.local_rank),
      world_size: nullableIndex(value.world_size),
      node_rank: nullableIndex(value.node_rank),
      launcher: typeof value.launcher === 'string' ? value.launcher : 'unknown'
    }
  };
}

/**
 * Validates one record (a parsed journal line or a comm record) and returns it typed, or null for
 * an unknown type; throws RecordError with the reason for a bad one. `arrays` decodes metric arrays.
 */
export function validateRecord(raw: unknown, arrays: ArraySource = journalArrays): JournalRecord | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new RecordError('not a JSON object');
  }
  const o = raw as Json;
  if (typeof o.type !== 'string') {
    throw new RecordError('missing "type"');
  }
  try {
    return validate(o, arrays);
  } catch (error) {
    if (error instanceof RecordError) {
      throw new RecordError(`${o.type}: ${error.message}`);
    }
    throw error;
  }
}

function validate(o: Json, arrays: ArraySource): JournalRecord | null {
  const base = { t: time(o, 't'), ...(o.seq === undefined ? {} : { seq: int(o, 'seq') }) };
  switch (o.type) {
    case 'kernel_start':
      return {
        ...base,
        type: 'kernel_start',
        session: str(o, 'session'),
        kernel_id: optStr(o, 'kernel_id'),
        pid: typeof o.pid === 'number' ? o.pid : -1,
        hostname: optStr(o, 'hostname') ?? '',
        python: optStr(o, 'python') ?? '',
        nbprov_version: optStr(o, 'nbprov_version') ?? '',
        notebook: optStr(o, 'notebook') ?? '',
        notebook_id: optStr(o, 'notebook_id'),
        user: optStr(o, 'user') ?? '',
        ...rankField(o)
      };
    case 'exec_start':
      return {
        ...base,
        type: 'exec_start',
        exec: str(o, 'exec'),
        msg_id: optStr(o, 'msg_id'),
        cell: optStr(o, 'cell'),
        count: optInt(o, 'count'),
        source: str(o, 'source'),
        cell_match: o.cell_match === undefined || o.cell_match === null ? null : oneOf(o, 'cell_match', CELL_MATCHES),
        cell_candidates: Array.isArray(o.cell_candidates)
          ? o.cell_candidates.filter((c): c is string => typeof c === 'string')
          : [],
        cell_role: optStr(o, 'cell_role'),
        cell_index: optInt(o, 'cell_index')
      };
    case 'kernel_output': {
      if (!Array.isArray(o.outputs)) {
        throw new RecordError('field "outputs" must be a list');
      }
      const index = int(o, 'index');
      if (index < 0) {
        throw new RecordError('field "index" must not be negative');
      }
      return {
        ...base,
        type: 'kernel_output',
        exec: str(o, 'exec'),
        index,
        outputs: o.outputs.map(outputItem),
        final: o.final === true
      };
    }
    case 'exec_end':
      return {
        ...base,
        type: 'exec_end',
        exec: str(o, 'exec'),
        status: str(o, 'status'),
        ename: optStr(o, 'ename'),
        evalue: optStr(o, 'evalue')
      };
    case 'run_start':
      return {
        ...base,
        type: 'run_start',
        run: runId(o, 'run'),
        name: optStr(o, 'name') ?? '',
        experiment: optStr(o, 'experiment') ?? '',
        exec: optStr(o, 'exec'),
        code_sha256: o.code_sha256 === undefined || o.code_sha256 === null ? null : sha256(o, 'code_sha256'),
        code: o.code === undefined || o.code === null ? null : codeState(o.code),
        energy: o.energy === true,
        parent: optRunId(o, 'parent')
      };
    case 'code_state':
      return { ...base, type: 'code_state', sha256: sha256(o, 'sha256'), code: codeState(o.code) };
    case 'tag':
      return { ...base, type: 'tag', run: runId(o, 'run'), key: str(o, 'key'), value: str(o, 'value') };
    case 'run_exec':
      return { ...base, type: 'run_exec', run: runId(o, 'run'), exec: str(o, 'exec') };
    case 'param': {
      const value = scalar(o, 'value');
      const valueType = o.value_type === undefined ? null : (oneOf(o, 'value_type', PARAM_VALUE_TYPES) as ParamValueType);
      const problem = valueType === null ? null : checkParamValue(value, valueType);
      if (problem !== null) {
        throw new RecordError(problem);
      }
      return {
        ...base,
        type: 'param',
        run: runId(o, 'run'),
        key: str(o, 'key'),
        value,
        value_type: valueType,
        role: oneOf(o, 'role', ROLES)
      };
    }
    case 'context_start':
      return {
        ...base,
        type: 'context_start',
        run: runId(o, 'run'),
        ctx: int(o, 'ctx'),
        name: str(o, 'name'),
        epoch: optInt(o, 'epoch'),
        parent: optInt(o, 'parent')
      };
    case 'context_end':
      return { ...base, type: 'context_end', run: runId(o, 'run'), ctx: int(o, 'ctx') };
    case 'metrics': {
      if (!Array.isArray(o.series)) {
        throw new RecordError('field "series" must be a list');
      }
      return {
        ...base,
        type: 'metrics',
        run: runId(o, 'run'),
        batch: int(o, 'batch'),
        series: o.series.map(s => {
          if (typeof s !== 'object' || s === null) {
            throw new RecordError('series item must be an object');
          }
          return metricBatch(s as Json, arrays);
        })
      };
    }
    case 'artifact':
      return {
        ...base,
        type: 'artifact',
        run: runId(o, 'run'),
        path: str(o, 'path'),
        name: optStr(o, 'name') ?? '',
        sha256: str(o, 'sha256'),
        size: int(o, 'size'),
        role: oneOf(o, 'role', ROLES),
        stored: optStr(o, 'stored'),
        media_type: optStr(o, 'media_type')
      };
    case 'energy': {
      const ref = o.ref;
      return {
        ...base,
        type: 'energy',
        run: runId(o, 'run'),
        scope: oneOf(o, 'scope', ['run', 'context', 'epoch', 'cell'] as const),
        ref: typeof ref === 'string' || typeof ref === 'number' ? ref : null,
        ctx: optInt(o, 'ctx'),
        device: str(o, 'device'),
        joules: o.joules === null || o.joules === undefined ? null : num(o, 'joules'),
        method: optStr(o, 'method') ?? '',
        reason: optStr(o, 'reason'),
        resolution_limited: o.resolution_limited === true
      };
    }
    case 'run_end':
    case 'rank_end':
      return {
        ...base,
        type: o.type,
        run: runId(o, 'run'),
        status: oneOf(o, 'status', ['finished', 'failed', 'interrupted', 'crashed'] as const),
        ename: optStr(o, 'ename'),
        evalue: optStr(o, 'evalue')
      };
    case 'gap':
      return {
        ...base,
        type: 'gap',
        run: optRunId(o, 'run'),
        records: int(o, 'records'),
        points: int(o, 'points'),
        reason: str(o, 'reason')
      };
    case 'journal_status':
      return { ...base, type: 'journal_status', state: oneOf(o, 'state', ['failing', 'ok'] as const), reason: str(o, 'reason') };
    case 'page_start':
      return {
        ...base,
        type: 'page_start',
        page: str(o, 'page'),
        notebook: optStr(o, 'notebook') ?? '',
        notebook_id: optStr(o, 'notebook_id'),
        user: optStr(o, 'user') ?? ''
      };
    case 'recording':
      return {
        ...base,
        type: 'recording',
        state: oneOf(o, 'state', ['recorded', 'paused', 'off'] as const),
        reason: str(o, 'reason')
      };
    case 'source':
      return {
        ...base,
        type: 'source',
        cell: str(o, 'cell'),
        cell_type: optStr(o, 'cell_type') ?? 'code',
        sha256: str(o, 'sha256'),
        source: str(o, 'source')
      };
    case 'structure':
      return {
        ...base,
        type: 'structure',
        op: oneOf(o, 'op', ['add', 'remove', 'move'] as const),
        cell: str(o, 'cell'),
        from: optInt(o, 'from'),
        to: optInt(o, 'to')
      };
    case 'notebook': {
      const cells = o.cells;
      if (
        !Array.isArray(cells) ||
        !cells.every(c => Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && typeof c[1] === 'string')
      ) {
        throw new RecordError('field "cells" must be a list of [cell id, sha256]');
      }
      return { ...base, type: 'notebook', cells: cells as [string, string][] };
    }
    case 'exec_output': {
      if (!Array.isArray(o.outputs)) {
        throw new RecordError('field "outputs" must be a list');
      }
      return {
        ...base,
        type: 'exec_output',
        msg_id: optStr(o, 'msg_id'),
        cell: optStr(o, 'cell'),
        count: optInt(o, 'count'),
        status: optStr(o, 'status') ?? 'unknown',
        started: time(o, 'started'),
        ended: optTime(o, 'ended'),
        outputs: o.outputs.map(outputItem)
      };
    }
    default:
      return null;
  }
}
