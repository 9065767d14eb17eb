/**
 * Journal parsing: JSON-lines texts in, typed records out.
 *
 * Tolerant by design (see the journal contract in ARCHITECTURE.md): a line that does not
 * parse or lacks a required field becomes a warning and loses only itself; unknown record
 * types are skipped silently so that newer writers do not break older readers.
 */

export interface IJournalFile {
  /** File name inside `journal/`, e.g. `k-<session>.jsonl`. */
  name: string;
  text: string;
}

export interface IJournalWarning {
  file: string;
  /** 1-based line number. */
  line: number;
  reason: string;
}

import { checkParamValue, PARAM_VALUE_TYPES, ParamValueType } from './params';
import { type IRankStart, parseRankStart } from './ranks';

type JsonScalar = string | number | boolean | null;

interface IRecordBase {
  /** ISO 8601 date-time with time zone. */
  t: string;
  /** Kernel records only: counter per kernel journal file. */
  seq?: number;
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

export interface IRunStart extends IRecordBase {
  type: 'run_start';
  run: string;
  name: string;
  experiment: string;
  exec: string | null;
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
}

export interface IContextEnd extends IRecordBase {
  type: 'context_end';
  run: string;
  ctx: number;
}

/** One metric's batch of points, arrays decoded from little-endian base64. */
export interface IMetricBatch {
  metric: string;
  ctx: number | null;
  n: number;
  steps: BigInt64Array;
  values: Float64Array;
  timestamps: BigInt64Array;
  epochs: Int32Array;
  /** Set by `foldRankJournals` on a rank journal's series (never read from disk): its rank and session. */
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

/** A record with where it came from (file and 1-based line). */
export interface ILocatedRecord {
  file: string;
  line: number;
  record: JournalRecord;
}

export interface IParsedJournal {
  records: ILocatedRecord[];
  warnings: IJournalWarning[];
}

/** Thrown by the validators below; turned into a warning for the offending line. */
class RecordError extends Error {}

type Json = Record<string, unknown>;

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

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decodeArray<T>(
  o: Json,
  k: string,
  n: number,
  width: number,
  make: (buffer: ArrayBuffer) => T,
  readBigEndianHost: (view: DataView, count: number) => T
): T {
  const bytes = decodeBase64(str(o, k));
  if (bytes.length !== n * width) {
    throw new RecordError(`array "${k}" has ${bytes.length} bytes, expected ${n * width}`);
  }
  // `bytes` owns a fresh, aligned buffer of exactly this length.
  return LITTLE_ENDIAN_HOST ? make(bytes.buffer as ArrayBuffer) : readBigEndianHost(new DataView(bytes.buffer), n);
}

function metricBatch(o: Json): IMetricBatch {
  const n = int(o, 'n');
  if (n < 0) {
    throw new RecordError('field "n" must be >= 0');
  }
  return {
    metric: str(o, 'metric'),
    ctx: optInt(o, 'ctx'),
    n,
    steps: decodeArray(
      o,
      'steps',
      n,
      8,
      b => new BigInt64Array(b),
      (v, c) => BigInt64Array.from({ length: c }, (_, i) => v.getBigInt64(i * 8, true))
    ),
    values: decodeArray(
      o,
      'values',
      n,
      8,
      b => new Float64Array(b),
      (v, c) => Float64Array.from({ length: c }, (_, i) => v.getFloat64(i * 8, true))
    ),
    timestamps: decodeArray(
      o,
      'timestamps',
      n,
      8,
      b => new BigInt64Array(b),
      (v, c) => BigInt64Array.from({ length: c }, (_, i) => v.getBigInt64(i * 8, true))
    ),
    epochs: decodeArray(
      o,
      'epochs',
      n,
      4,
      b => new Int32Array(b),
      (v, c) => Int32Array.from({ length: c }, (_, i) => v.getInt32(i * 4, true))
    )
  };
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

/** A `kernel_start`'s `rank` object, validated; a malformed one fails the record. */
function rankField(o: Json): { rank?: IRankStart } {
  if (o.rank === undefined || o.rank === null) {
    return {};
  }
  const rank = parseRankStart(o.rank);
  if (rank === null) {
    throw new RecordError('field "rank" must be an object with "run" and a non-negative integer "rank"');
  }
  return { rank };
}

/**
 * Validates the fields every consumer relies on and returns the typed record, or null for an
 * unknown type. Extra fields are kept (spread) so future additions pass through.
 */
function validate(o: Json): JournalRecord | null {
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
        cell_role: optStr(o, 'cell_role')
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
        run: str(o, 'run'),
        name: optStr(o, 'name') ?? '',
        experiment: optStr(o, 'experiment') ?? '',
        exec: optStr(o, 'exec'),
        code: typeof o.code === 'object' && o.code !== null ? (o.code as ICodeState) : null,
        energy: o.energy === true,
        parent: optStr(o, 'parent')
      };
    case 'tag':
      return { ...base, type: 'tag', run: str(o, 'run'), key: str(o, 'key'), value: str(o, 'value') };
    case 'run_exec':
      return { ...base, type: 'run_exec', run: str(o, 'run'), exec: str(o, 'exec') };
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
        run: str(o, 'run'),
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
        run: str(o, 'run'),
        ctx: int(o, 'ctx'),
        name: str(o, 'name'),
        epoch: optInt(o, 'epoch'),
        parent: optInt(o, 'parent')
      };
    case 'context_end':
      return { ...base, type: 'context_end', run: str(o, 'run'), ctx: int(o, 'ctx') };
    case 'metrics': {
      if (!Array.isArray(o.series)) {
        throw new RecordError('field "series" must be a list');
      }
      return {
        ...base,
        type: 'metrics',
        run: str(o, 'run'),
        batch: int(o, 'batch'),
        series: o.series.map(s => {
          if (typeof s !== 'object' || s === null) {
            throw new RecordError('series item must be an object');
          }
          return metricBatch(s as Json);
        })
      };
    }
    case 'artifact':
      return {
        ...base,
        type: 'artifact',
        run: str(o, 'run'),
        path: str(o, 'path'),
        name: optStr(o, 'name') ?? '',
        sha256: str(o, 'sha256'),
        size: int(o, 'size'),
        role: oneOf(o, 'role', ROLES)
      };
    case 'energy': {
      const ref = o.ref;
      return {
        ...base,
        type: 'energy',
        run: str(o, 'run'),
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
        run: str(o, 'run'),
        status: oneOf(o, 'status', ['finished', 'failed', 'interrupted', 'crashed'] as const),
        ename: optStr(o, 'ename'),
        evalue: optStr(o, 'evalue')
      };
    case 'gap':
      return {
        ...base,
        type: 'gap',
        run: optStr(o, 'run'),
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

/** Parses one journal file; every line that fails yields one warning and nothing else is lost. */
export function parseJournalFile(file: IJournalFile): IParsedJournal {
  const records: ILocatedRecord[] = [];
  const warnings: IJournalWarning[] = [];
  const lines = file.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    if (text === '') {
      continue;
    }
    const line = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const truncated = i === lines.length - 1 && !file.text.endsWith('\n');
      warnings.push({
        file: file.name,
        line,
        reason: truncated ? 'truncated last line' : `invalid JSON: ${(error as Error).message}`
      });
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      warnings.push({ file: file.name, line, reason: 'not a JSON object' });
      continue;
    }
    if (typeof (parsed as Json).type !== 'string') {
      warnings.push({ file: file.name, line, reason: 'missing "type"' });
      continue;
    }
    try {
      const record = validate(parsed as Json);
      if (record !== null) {
        records.push({ file: file.name, line, record });
      }
    } catch (error) {
      if (!(error instanceof RecordError)) {
        throw error;
      }
      warnings.push({ file: file.name, line, reason: `${(parsed as Json).type}: ${error.message}` });
    }
  }
  return { records, warnings };
}

/** Parses all journal files in name order, so the result does not depend on listing order. */
export function parseJournal(files: IJournalFile[]): IParsedJournal {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const records: ILocatedRecord[] = [];
  const warnings: IJournalWarning[] = [];
  for (const file of sorted) {
    const parsed = parseJournalFile(file);
    // Plain loops: spreading very long arrays into push() overflows the call stack.
    for (const record of parsed.records) {
      records.push(record);
    }
    for (const warning of parsed.warnings) {
      warnings.push(warning);
    }
  }
  return { records, warnings };
}
