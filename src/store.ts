/**
 * The frontend run store. Pure (no JupyterLab imports) so the benchmark and the CLI can use it.
 *
 * Metric points live in fixed-size chunks: appending never copies what is stored, and capacity never
 * exceeds the points held by more than one chunk. Values are Float64; steps are Int32 and timestamps
 * Uint32 milliseconds after the chunk's first one, the common case, so a point takes 16 bytes; a chunk
 * whose steps or timestamps do not fit is widened to Float64. Epochs change rarely and are stored
 * run-length encoded.
 */
import { Signal } from '@lumino/signaling';
import { LiveRankPlaces, worseStatus } from './core/ranks';
import {
  ExecutionStatus,
  ICodeSnapshot,
  IEnergyFigure,
  IExecution,
  IMetricSeries,
  IRun,
  IRunContext,
  IRunArtifact,
  IRunParam,
  IRunStore,
  RunStatus,
  RunStoreChange,
  seriesKey
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

  slice(start: number, end: number): { steps: Float64Array; values: Float64Array; timestamps: Float64Array } {
    const lo = Math.max(0, start);
    const hi = Math.min(this._length, end);
    const n = Math.max(0, hi - lo);
    const timestamps = this._copy(this._timestamps, lo, n);
    for (let i = 0; i < n; i++) {
      timestamps[i] += this._timeBases[(lo + i) >>> CHUNK_BITS];
    }
    return { steps: this._copy(this._steps, lo, n), values: this._copy(this._values, lo, n), timestamps };
  }

  /** Appends points; typed arrays of equal length (epochs may hold -1 for none). */
  append(
    steps: ArrayLike<number | bigint>,
    values: ArrayLike<number>,
    timestamps: ArrayLike<number | bigint>,
    epochs: ArrayLike<number>
  ): void {
    const n = values.length;
    for (let i = 0; i < n; i++) {
      const at = this._length + i;
      const chunk = at >>> CHUNK_BITS;
      const offset = at & (CHUNK - 1);
      const step = Number(steps[i]);
      const time = Number(timestamps[i]);
      if (offset === 0 && chunk === this._values.length) {
        this._steps.push(new Int32Array(CHUNK));
        this._values.push(new Float64Array(CHUNK));
        this._timestamps.push(new Uint32Array(CHUNK));
        this._timeBases.push(time);
      }
      if (step !== (step | 0) && !(this._steps[chunk] instanceof Float64Array)) {
        this._steps[chunk] = Float64Array.from(this._steps[chunk]);
      }
      this._steps[chunk][offset] = step;
      this._values[chunk][offset] = values[i];
      const sinceBase = time - this._timeBases[chunk];
      if (!(sinceBase >= 0 && sinceBase <= 0xffffffff && Number.isInteger(sinceBase))) {
        this._widenTimestamps(chunk);
      }
      this._timestamps[chunk][offset] = time - this._timeBases[chunk];
      const epoch = epochs[i];
      const lastEpoch = this._epochValues.length ? this._epochValues[this._epochValues.length - 1] : -1;
      if (epoch !== lastEpoch) {
        this._epochStarts.push(at);
        this._epochValues.push(epoch);
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
  private _widenTimestamps(chunk: number): void {
    if (this._timestamps[chunk] instanceof Float64Array) {
      return;
    }
    const base = this._timeBases[chunk];
    this._timestamps[chunk] = Float64Array.from(this._timestamps[chunk], t => t + base);
    this._timeBases[chunk] = 0;
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
}

class Run implements IRun {
  constructor(
    readonly id: string,
    readonly name: string,
    readonly experiment: string,
    readonly session: string,
    readonly exec: string | null,
    readonly start: number,
    readonly code: ICodeSnapshot | null,
    readonly parent: string | null,
    readonly notebook: string | null
  ) {}
  status: RunStatus = 'running';
  end: number | null = null;
  error: { ename: string; evalue: string } | null = null;
  lost: { points: number; reason: string } | null = null;
  readonly params = new Map<string, IRunParam>();
  readonly contexts = new Map<number, IRunContext>();
  readonly series = new Map<string, MetricSeries>();
  readonly energy: IEnergyFigure[] = [];
  readonly tags = new Map<string, string>();
  readonly artifacts: IRunArtifact[] = [];
  /** Metric batches applied, to drop a batch that arrives twice. */
  readonly batches = new Set<number>();
  /** ranks: the worst status a rank process ended with (the run's is never better). */
  rankStatus: RunStatus = 'finished';
}

/** A metric series as carried by a `metrics` record once its arrays are decoded. */
export interface IDecodedSeries {
  metric: string;
  ctx: number | null;
  steps: ArrayLike<number | bigint>;
  values: ArrayLike<number>;
  timestamps: ArrayLike<number | bigint>;
  epochs: ArrayLike<number>;
  /** ranks: set on a rank process's series (src/core/ranks.ts). */
  rank?: number;
  process?: string;
}

/** A kernel journal record with decoded metric arrays (see ARCHITECTURE.md). */
export interface IKernelRecord {
  type: string;
  t: string;
  seq?: number;
  [field: string]: unknown;
}

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
    for (const run of this._runs.values()) {
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

  /**
   * Applies records of one kernel session in any order and any number of times: a record whose
   * `seq` was applied is dropped. Live records beyond a gap wait until it is filled; the caller
   * re-reads the journal when this returns true. The journal is `complete` up to its last record:
   * a `seq` missing there (a damaged line) is lost for good and no longer waited for.
   */
  /** Names the notebook whose journal holds this session (before its records are applied). */
  setNotebook(session: string, notebook: string): void {
    this._notebookOfSession.set(session, notebook);
  }

  apply(session: string, records: Iterable<IKernelRecord>, complete = false): boolean {
    const pending = this._pending.get(session) ?? new Map<number, IKernelRecord>();
    this._pending.set(session, pending);
    const changes: RunStoreChange[] = [];
    let highest = 0;
    for (const record of records) {
      if (record.seq === undefined) {
        this._applyOne(session, record, changes);
      } else if (record.seq > this.lastSeq(session)) {
        pending.set(record.seq, record);
        highest = Math.max(highest, record.seq);
      }
    }
    let next = this.lastSeq(session) + 1;
    for (;;) {
      const record = pending.get(next);
      if (record) {
        pending.delete(next);
        this._applyOne(session, record, changes);
      } else if (!(complete && next < highest)) {
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
    for (const run of this._runs.values()) {
      if (run.status === 'running' && !liveSessions.has(run.session)) {
        run.status = 'crashed';
        changes.push({ kind: 'run', runId: run.id });
      }
    }
    if (changes.length) {
      this._changed.emit(changes);
    }
  }

  private _applyOne(session: string, kernelRecord: IKernelRecord, changes: RunStoreChange[]): void {
    // ranks: a rank process's records moved into its run (src/core/ranks.ts).
    const record = this._rankPlaces.place(session, kernelRecord);
    if (record === null) {
      return;
    }
    const time = Date.parse(record.t);
    const run = typeof record.run === 'string' ? this._runs.get(record.run) : undefined;
    switch (record.type) {
      case 'exec_start': {
        const id = String(record.exec);
        this._executions.set(id, {
          id,
          cell: (record.cell as string | null) ?? null,
          count: (record.count as number | null) ?? null,
          source: String(record.source ?? ''),
          status: 'running',
          start: time,
          end: null
        });
        changes.push({ kind: 'exec', exec: id });
        return;
      }
      case 'exec_end': {
        const id = String(record.exec);
        const execution = this._executions.get(id);
        if (execution) {
          this._executions.set(id, { ...execution, status: record.status as ExecutionStatus, end: time });
          changes.push({ kind: 'exec', exec: id });
        }
        return;
      }
      case 'run_start': {
        const id = String(record.run);
        if (!this._runs.has(id)) {
          this._runs.set(
            id,
            new Run(
              id,
              String(record.name ?? id.slice(0, 8)),
              String(record.experiment ?? 'default'),
              session,
              (record.exec as string | null) ?? null,
              time,
              (record.code as ICodeSnapshot | null) ?? null,
              typeof record.parent === 'string' ? record.parent : null,
              this._notebookOfSession.get(session) ?? null
            )
          );
          changes.push({ kind: 'run', runId: id });
        }
        return;
      }
      case 'artifact':
        if (run) {
          run.artifacts.push({
            name: String(record.name ?? ''),
            path: String(record.path),
            sha256: String(record.sha256),
            size: Number(record.size),
            role: record.role === 'input' ? 'input' : 'output',
            mediaType: typeof record.media_type === 'string' ? record.media_type : null
          });
          changes.push({ kind: 'run', runId: run.id });
        }
        return;
      case 'tag':
        if (run) {
          run.tags.set(String(record.key), String(record.value));
          changes.push({ kind: 'run', runId: run.id });
        }
        return;
      case 'gap':
        if (run) {
          const points = Number(record.points);
          run.lost = { points: (run.lost?.points ?? 0) + points, reason: String(record.reason) };
          changes.push({ kind: 'run', runId: run.id });
        }
        return;
      case 'rank_end': // ranks
        if (run) {
          run.rankStatus = worseStatus(run.rankStatus, record.status as RunStatus);
          run.status = worseStatus(run.status, run.rankStatus);
          changes.push({ kind: 'run', runId: run.id });
        }
        return;
      case 'run_end':
        if (run) {
          run.status = worseStatus(record.status as RunStatus, run.rankStatus); // ranks
          run.end = time;
          if (record.ename) {
            run.error = { ename: String(record.ename), evalue: String(record.evalue ?? '') };
          }
          changes.push({ kind: 'run', runId: run.id });
        }
        return;
      case 'param':
        if (run && !(this._rankPlaces.isRank(session) && run.params.has(String(record.key)))) {
          // ranks: a parameter is recorded once, the kernel's or the first rank's
          const key = String(record.key);
          run.params.set(key, {
            key,
            value: record.value,
            role: record.role === 'output' ? 'output' : 'input'
          });
          changes.push({ kind: 'run', runId: run.id });
        }
        return;
      case 'context_start':
        if (run) {
          const id = Number(record.ctx);
          run.contexts.set(id, {
            id,
            name: String(record.name),
            epoch: (record.epoch as number | null) ?? null,
            parent: (record.parent as number | null) ?? null
          });
        }
        return;
      case 'energy':
        if (run) {
          run.energy.push({
            scope: record.scope as IEnergyFigure['scope'],
            ref: (record.ref as string | number | null) ?? null,
            device: String(record.device),
            joules: (record.joules as number | null) ?? null,
            method: (record.method as string | null) ?? null,
            reason: (record.reason as string | null) ?? null,
            resolutionLimited: Boolean(record.resolution_limited)
          });
          changes.push({ kind: 'run', runId: run.id });
        }
        return;
      case 'metrics':
        if (run) {
          const batch = Number(record.batch);
          if (run.batches.has(batch)) {
            return;
          }
          run.batches.add(batch);
          for (const decoded of record.series as IDecodedSeries[]) {
            // ranks: one series per rank process
            const key =
              seriesKey(decoded.metric, decoded.ctx) + (decoded.process === undefined ? '' : `\u0000${decoded.process}`);
            let series = run.series.get(key);
            if (!series) {
              series = new MetricSeries(decoded.metric, decoded.ctx, decoded.rank);
              run.series.set(key, series);
            }
            const from = series.length;
            series.append(decoded.steps, decoded.values, decoded.timestamps, decoded.epochs);
            changes.push({ kind: 'points', runId: run.id, seriesKey: key, from });
          }
        }
        return;
      default:
        return;
    }
  }

  private _runs = new Map<string, Run>();
  private _executions = new Map<string, IExecution>();
  private _lastSeq = new Map<string, number>();
  private _pending = new Map<string, Map<number, IKernelRecord>>();
  private _notebookOfSession = new Map<string, string>();
  private _rankPlaces = new LiveRankPlaces();
  private _changed = new Signal<this, readonly RunStoreChange[]>(this);
}
