/**
 * The frontend run store: the one reducer (core/model.ts) folding validated records live, with
 * its series in chunked typed arrays and a signal per applied batch. Pure (no JupyterLab imports)
 * so the benchmark and the CLI can use it.
 *
 * Metric points live in fixed-size chunks: appending never copies what is stored, and capacity never
 * exceeds the points held by more than one chunk. Values are Float64; steps are Int32 and timestamps
 * Uint32 milliseconds after the chunk's first one, the common case, so a point takes 16 bytes; a chunk
 * whose steps or timestamps do not fit is widened to Float64. Epochs change rarely and are stored
 * run-length encoded.
 */
import { Signal } from '@lumino/signaling';
import { applyRecord, IModel, IRunState, newModel, runDisplayName } from './core/model';
import { distinctDeviceEnergy, rankedStatus, rankParts } from './core/ranks';
import { ICodeState, IMetricBatch, JournalRecord, kernelJournalName } from './core/records';
import {
  ExecutionStatus,
  IEnergyFigure,
  IExecution,
  IMetricSeries,
  IRun,
  IRunContext,
  IRunArtifact,
  IRunParam,
  IRunStore,
  RunStatus,
  RunStoreChange
} from './tokens';

// 8,192 points a chunk: at most 192 KiB of unused capacity per series.
const CHUNK_BITS = 13;
const CHUNK = 1 << CHUNK_BITS;

/** A metric series stored in chunks; grows by appending decoded batches. */
export class MetricSeries implements IMetricSeries {
  constructor(
    readonly metric: string,
    readonly ctx: number | null,
    readonly rank?: number
  ) {}

  get length(): number {
    return this._length;
  }

  step(i: number): number {
    return this._steps[i >>> CHUNK_BITS][i & (CHUNK - 1)];
  }

  value(i: number): number {
    return this._values[i >>> CHUNK_BITS][i & (CHUNK - 1)];
  }

  timestamp(i: number): number {
    const chunk = i >>> CHUNK_BITS;
    return this._timeBases[chunk] + this._timestamps[chunk][i & (CHUNK - 1)];
  }

  epoch(i: number): number {
    // Binary search for the last epoch run starting at or before i.
    const starts = this._epochStarts;
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || starts[0] > i) {
      return -1;
    }
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= i) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return this._epochValues[lo];
  }

  slice(start: number, end: number): { steps: Float64Array | Int32Array; values: Float64Array; timestamps: Float64Array } {
    const lo = Math.max(0, start);
    const hi = Math.min(this._length, end);
    const n = Math.max(0, hi - lo);
    let timestamps: Float64Array | undefined;
    const readTimestamps = (): Float64Array => this._timestampsOf(lo, n);
    return {
      steps: this._read(this._steps, lo, n),
      values: this._read(this._values, lo, n),
      // Copied when first read (points below the length never change): a chart on the step axis
      // never reads them, and they were a third of re-reducing 1,000 lines.
      get timestamps(): Float64Array {
        return (timestamps ??= readTimestamps());
      }
    };
  }

  private _timestampsOf(lo: number, n: number): Float64Array {
    const timestamps = this._copy(this._timestamps, lo, n);
    for (let i = 0; i < n; i++) {
      timestamps[i] += this._timeBases[(lo + i) >>> CHUNK_BITS];
    }
    return timestamps;
  }

  /** Appends points; typed arrays of equal length (epochs may hold -1 for none). */
  append(
    steps: ArrayLike<number | bigint>,
    values: ArrayLike<number>,
    timestamps: ArrayLike<number | bigint>,
    epochs: ArrayLike<number>
  ): void {
    const n = values.length;
    const stepAt = int64Reader(steps);
    const timeAt = int64Reader(timestamps);
    // One chunk's stretch at a time, with its arrays in locals: this loop is the page's ingest.
    for (let i = 0; i < n;) {
      const at = this._length + i;
      const chunk = at >>> CHUNK_BITS;
      const offset = at & (CHUNK - 1);
      if (offset === 0 && chunk === this._values.length) {
        this._steps.push(new Int32Array(CHUNK));
        this._values.push(new Float64Array(CHUNK));
        this._timestamps.push(new Uint32Array(CHUNK));
        this._timeBases.push(timeAt(i));
      }
      const take = Math.min(CHUNK - offset, n - i);
      let stepsOut = this._steps[chunk];
      let timesOut = this._timestamps[chunk];
      const valuesOut = this._values[chunk];
      let base = this._timeBases[chunk];
      for (let k = 0; k < take; k++, i++) {
        const step = stepAt(i);
        if (step !== (step | 0) && !(stepsOut instanceof Float64Array)) {
          stepsOut = this._steps[chunk] = Float64Array.from(stepsOut);
        }
        stepsOut[offset + k] = step;
        valuesOut[offset + k] = values[i];
        const time = timeAt(i);
        const sinceBase = time - base;
        if (!(sinceBase >= 0 && sinceBase <= 0xffffffff && Number.isInteger(sinceBase)) && !(timesOut instanceof Float64Array)) {
          timesOut = this._widenTimestamps(chunk);
          base = 0;
        }
        timesOut[offset + k] = time - base;
        const epoch = epochs[i];
        if (epoch !== this._lastEpoch) {
          this._epochStarts.push(at + k);
          this._epochValues.push(epoch);
          this._lastEpoch = epoch;
        }
      }
    }
    this._length += n;
  }

  /** Bytes held by this series' buffers. */
  get byteLength(): number {
    let bytes = this._epochStarts.length * 16 + this._timeBases.length * 8;
    for (let chunk = 0; chunk < this._values.length; chunk++) {
      bytes += this._steps[chunk].byteLength + this._values[chunk].byteLength + this._timestamps[chunk].byteLength;
    }
    return bytes;
  }

  /** Stores a chunk's timestamps as absolute Float64 milliseconds (base 0). */
  private _widenTimestamps(chunk: number): Float64Array {
    const base = this._timeBases[chunk];
    const widened = Float64Array.from(this._timestamps[chunk], t => t + base);
    this._timestamps[chunk] = widened;
    this._timeBases[chunk] = 0;
    return widened;
  }

  /**
   * Points [start, start + n) of chunked arrays: a view when they lie in one chunk (points below
   * the length never change, and a widened chunk is a new array), else a copy. Filtering back to
   * 1,000 runs read 2,000 arrays; copying them was a fifth of the keystroke, in allocations.
   */
  private _read<T extends Int32Array | Float64Array>(chunks: T[], start: number, n: number): T | Float64Array {
    const offset = start & (CHUNK - 1);
    if (n > 0 && offset + n <= CHUNK) {
      return chunks[start >>> CHUNK_BITS].subarray(offset, offset + n) as T;
    }
    return this._copy(chunks, start, n);
  }

  private _copy(chunks: (Int32Array | Uint32Array | Float64Array)[], start: number, n: number): Float64Array {
    const out = new Float64Array(n);
    let written = 0;
    while (written < n) {
      const at = start + written;
      const chunk = chunks[at >>> CHUNK_BITS];
      const offset = at & (CHUNK - 1);
      const take = Math.min(CHUNK - offset, n - written);
      out.set(chunk.subarray(offset, offset + take), written);
      written += take;
    }
    return out;
  }

  private _length = 0;
  private _steps: (Int32Array | Float64Array)[] = [];
  private _values: Float64Array[] = [];
  private _timestamps: (Uint32Array | Float64Array)[] = [];
  /** Per chunk: the timestamp its Uint32 offsets count from (0 once widened to Float64). */
  private _timeBases: number[] = [];
  private _epochStarts: number[] = [];
  private _epochValues: number[] = [];
  private _lastEpoch = -1;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO_32 = 2 ** 32;

/**
 * Element i of an int64 array as the nearest double. A BigInt64Array's elements are read as two
 * 32-bit halves: reading one as a bigint allocates it, which made that most of the ingest's cost.
 */
function int64Reader(array: ArrayLike<number | bigint>): (i: number) => number {
  if (array instanceof BigInt64Array && LITTLE_ENDIAN_HOST) {
    const words = new Int32Array(array.buffer, array.byteOffset, array.length * 2);
    // One rounding of the exact sum, as Number(bigint) rounds.
    return i => words[2 * i + 1] * TWO_32 + (words[2 * i] >>> 0);
  }
  return i => Number(array[i]);
}

/** The store's series sink: points appended to chunked typed arrays as batches arrive. */
const chunkedSink = {
  create: (batch: IMetricBatch): MetricSeries => new MetricSeries(batch.metric, batch.ctx, batch.rank),
  append: (series: MetricSeries, batch: IMetricBatch): void =>
    series.append(batch.steps, batch.values, batch.timestamps, batch.epochs)
};

/** The widget's read-only view of a run the reducer holds. */
class RunView implements IRun {
  constructor(
    private readonly _state: IRunState<MetricSeries>,
    private readonly _model: IModel<MetricSeries>,
    readonly notebook: string | null
  ) {}
  get id(): string {
    return this._state.id;
  }
  get name(): string {
    return runDisplayName(this._state);
  }
  get experiment(): string {
    return this._state.experiment;
  }
  /** The worst of the kernel's and its ranks' (`core/ranks.ts`, as the export has it). */
  get status(): RunStatus {
    return rankedStatus(this._state.status, rankParts(this._model.rankPlaces, this._state.id)).status;
  }
  get start(): number {
    return Date.parse(this._state.started);
  }
  get end(): number | null {
    return this._state.ended === null ? null : Date.parse(this._state.ended);
  }
  get session(): string {
    return this._state.kernelSession;
  }
  get exec(): string | null {
    return this._state.exec;
  }
  /** Keyed by `paramKey(key, role)`. */
  get params(): ReadonlyMap<string, IRunParam> {
    return this._state.params;
  }
  get contexts(): ReadonlyMap<number, IRunContext> {
    return this._state.contexts;
  }
  get series(): ReadonlyMap<string, MetricSeries> {
    return this._state.series;
  }
  /** With ranks: once per physical device, as the export has it. */
  get energy(): readonly IEnergyFigure[] {
    if (rankParts(this._model.rankPlaces, this._state.id).length === 0) {
      return this._state.energy;
    }
    return distinctDeviceEnergy(this._state.energy, this._model.kernelSessions.get(this._state.kernelSession)?.hostname ?? '');
  }
  get code(): ICodeState | null {
    return this._state.code;
  }
  get codeUnavailable(): string | null {
    return this._state.codeUnavailable;
  }
  get error(): { ename: string; evalue: string } | null {
    const { culprit } = rankedStatus(this._state.status, rankParts(this._model.rankPlaces, this._state.id));
    const ename = culprit?.ename ?? this._state.ename;
    const evalue = culprit?.evalue ?? this._state.evalue;
    return ename ? { ename, evalue: evalue ?? '' } : null;
  }
  get lost(): { points: number; reason: string } | null {
    const reasons = this._state.lostReasons;
    return reasons.length ? { points: this._state.lostPoints, reason: reasons[reasons.length - 1] } : null;
  }
  get parent(): string | null {
    return this._state.parent;
  }
  get tags(): ReadonlyMap<string, string> {
    return this._state.tags;
  }
  get artifacts(): readonly IRunArtifact[] {
    return this._state.artifacts;
  }
}

const EXECUTION_STATUSES: readonly string[] = ['ok', 'error', 'interrupted'];

export class RunStore implements IRunStore {
  get runs(): ReadonlyMap<string, IRun> {
    return this._runs;
  }

  get executions(): ReadonlyMap<string, IExecution> {
    return this._executions;
  }

  get changed(): Signal<this, readonly RunStoreChange[]> {
    return this._changed;
  }

  get pointCount(): number {
    let count = 0;
    for (const run of this._model.runs.values()) {
      for (const series of run.series.values()) {
        count += series.length;
      }
    }
    return count;
  }

  /** Highest record `seq` applied for a kernel session (0 when none). */
  lastSeq(session: string): number {
    return this._lastSeq.get(session) ?? 0;
  }

  /** Names the notebook whose journal holds this session (before its records are applied). */
  setNotebook(session: string, notebook: string): void {
    this._notebookOfSession.set(session, notebook);
  }

  /**
   * Applies validated records of one kernel session in any order and any number of times: a record
   * whose `seq` was applied is dropped. Live records beyond a gap wait until it is filled; the caller
   * re-reads the journal when this returns true. `journalEnd`, once a journal file has been read to
   * its end (in one call or in several as it arrives), is the highest `seq` it holds: a `seq` missing
   * below it (a damaged line) is lost for good and no longer waited for.
   */
  apply(session: string, records: Iterable<JournalRecord>, journalEnd = 0): boolean {
    const pending = this._pending.get(session) ?? new Map<number, JournalRecord>();
    this._pending.set(session, pending);
    const changes: RunStoreChange[] = [];
    for (const record of records) {
      if (record.seq === undefined) {
        this._applyOne(session, record, changes);
      } else if (record.seq > this.lastSeq(session)) {
        pending.set(record.seq, record);
      }
    }
    let next = this.lastSeq(session) + 1;
    for (;;) {
      const record = pending.get(next);
      if (record) {
        pending.delete(next);
        this._applyOne(session, record, changes);
      } else if (!(next < journalEnd)) {
        break;
      }
      this._lastSeq.set(session, next);
      next++;
    }
    if (changes.length) {
      this._changed.emit(changes);
    }
    return pending.size > 0;
  }

  /** Marks the running runs of sessions that are no longer live as crashed. */
  markCrashed(liveSessions: ReadonlySet<string>): void {
    const changes: RunStoreChange[] = [];
    for (const run of this._model.runs.values()) {
      if (run.status === 'running' && !liveSessions.has(run.kernelSession)) {
        run.status = 'crashed';
        changes.push({ kind: 'run', runId: run.id });
      }
    }
    if (changes.length) {
      this._changed.emit(changes);
    }
  }

  /** Folds one record with the reducer and says what changed. */
  private _applyOne(session: string, record: JournalRecord, changes: RunStoreChange[]): void {
    const run = 'run' in record && record.run !== null ? this._model.runs.get(record.run) : undefined;
    const lengthsBefore = new Map<string, number>();
    if (record.type === 'metrics' && run) {
      // The reducer may key the batch's series by a rank's session: look at all the run's series.
      for (const [key, series] of run.series) {
        lengthsBefore.set(key, series.length);
      }
    }
    const folded = applyRecord(this._model, { file: kernelJournalName(session), line: record.seq ?? 0, record });
    if (!folded) {
      return;
    }
    switch (record.type) {
      case 'exec_start':
      case 'exec_end': {
        const state = this._model.executions.get(record.exec);
        if (state) {
          this._executions.set(state.id, {
            id: state.id,
            cell: state.start.cell,
            count: state.start.count,
            source: state.start.source,
            status: (EXECUTION_STATUSES.includes(state.status) ? state.status : 'running') as ExecutionStatus,
            start: Date.parse(state.start.t),
            end: state.ended === null ? null : Date.parse(state.ended)
          });
          changes.push({ kind: 'exec', exec: state.id });
        }
        return;
      }
      case 'run_start': {
        const state = this._model.runs.get(record.run);
        if (state && !this._runs.has(record.run)) {
          this._runs.set(record.run, new RunView(state, this._model, this._notebookOfSession.get(session) ?? null));
          changes.push({ kind: 'run', runId: record.run });
          // Points of records that came before their run_start, now folded.
          for (const key of state.series.keys()) {
            changes.push({ kind: 'points', runId: record.run, seriesKey: key, from: 0 });
          }
        }
        return;
      }
      case 'metrics':
        for (const [key, series] of run?.series ?? []) {
          const from = lengthsBefore.get(key) ?? 0;
          if (series.length > from) {
            changes.push({ kind: 'points', runId: record.run, seriesKey: key, from });
          }
        }
        return;
      case 'artifact':
      case 'tag':
      case 'gap':
      case 'run_end':
      case 'rank_end':
      case 'param':
      case 'context_start':
      case 'energy':
        if (run) {
          changes.push({ kind: 'run', runId: run.id });
        }
        return;
      default:
        return;
    }
  }

  private _model: IModel<MetricSeries> = newModel(chunkedSink);
  private _runs = new Map<string, RunView>();
  private _executions = new Map<string, IExecution>();
  private _lastSeq = new Map<string, number>();
  private _pending = new Map<string, Map<number, JournalRecord>>();
  private _notebookOfSession = new Map<string, string>();
  private _changed = new Signal<this, readonly RunStoreChange[]>(this);
}
