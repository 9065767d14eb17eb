/**
 * The export's series sink: metric points go to scratch storage as they are folded, so the
 * export's memory is bounded by `SPILL_POINTS` (and the Zarr chunk), not by the journal's size.
 *
 * The reducer calls `append` in exactly the order the in-memory sink concatenates batches, and a
 * series' segments are read back in the order they were written, so the points come out as
 * `finalizeSession` joins them: same order, same dedup, same rank placement (one reducer).
 * A segment holds one series' points of one flush, column after column (steps, values,
 * timestamps: 8 bytes a point each; epochs: 4), so each column's bytes stay aligned.
 */

import type { ISeriesSink } from './model';
import type { IMetricBatch } from './records';
import type { ISeriesHead } from './session';

/**
 * Where the points wait between fold and Zarr write: a file on the disk the export goes to (the
 * CLI's, cli/scratch.ts; the page's, on the server through the Contents API, exportscratch.ts), or
 * memory (tests, benchmarks, a drive with no file route).
 */
export interface IScratch {
  /**
   * Takes `bytes` (the caller does not change them afterwards); returns the handle `read` takes.
   * A scratch that stores asynchronously may still hold them until `settle`.
   */
  append(bytes: Uint8Array): number;
  /**
   * Resolves once what waits to be stored is at most the latest append (which may go on while the
   * caller prepares the next); rejects with the storage's error. `read` waits for everything.
   */
  settle(): Promise<void>;
  /** `length` bytes from `offset` within what `append` returned `handle` for, 8-byte aligned. */
  read(handle: number, offset: number, length: number): Promise<Uint8Array>;
  /** Frees the storage; the scratch is not used afterwards. */
  close(): Promise<void>;
}

/** Scratch in memory: the points cost what they did as batches. */
export function memoryScratch(): IScratch {
  let blocks: Uint8Array[] = [];
  return {
    append: bytes => blocks.push(bytes) - 1,
    settle: async () => undefined,
    read: async (handle, offset, length) => blocks[handle].subarray(offset, offset + length),
    close: async () => {
      blocks = [];
    }
  };
}

/** Points held in memory before every waiting series is written out (28 MB of points). */
export const SPILL_POINTS = 1 << 20;

export type SeriesColumnName = 'steps' | 'values' | 'timestamps' | 'epochs';
export type SeriesColumn = Float64Array | BigInt64Array | Int32Array;

const LAYOUT: {
  name: SeriesColumnName;
  width: number;
  make: (buffer: ArrayBufferLike, at: number, n: number) => SeriesColumn;
}[] = [
  { name: 'steps', width: 8, make: (buffer, at, n) => new BigInt64Array(buffer, at, n) },
  { name: 'values', width: 8, make: (buffer, at, n) => new Float64Array(buffer, at, n) },
  { name: 'timestamps', width: 8, make: (buffer, at, n) => new BigInt64Array(buffer, at, n) },
  { name: 'epochs', width: 4, make: (buffer, at, n) => new Int32Array(buffer, at, n) }
];
const POINT_BYTES = LAYOUT.reduce((sum, column) => sum + column.width, 0);

/** A series whose points are on scratch storage, in segments read back one at a time. */
export class SpilledSeries implements ISeriesHead {
  readonly metric: string;
  readonly ctx: number | null;
  readonly rank?: number;
  readonly process?: string;
  points = 0;

  constructor(
    first: IMetricBatch,
    private readonly _scratch: IScratch
  ) {
    this.metric = first.metric;
    this.ctx = first.ctx;
    if (first.rank !== undefined) {
      this.rank = first.rank;
      this.process = first.process;
    }
  }

  /** One column's points, segment by segment, in the order they were folded. */
  async *pieces(column: SeriesColumnName): AsyncIterable<SeriesColumn> {
    const index = LAYOUT.findIndex(c => c.name === column);
    const { width, make } = LAYOUT[index];
    for (const { handle, points } of this._segments) {
      const offset = LAYOUT.slice(0, index).reduce((sum, c) => sum + c.width * points, 0);
      const bytes = await this._scratch.read(handle, offset, width * points);
      yield make(bytes.buffer, bytes.byteOffset, points);
    }
  }

  /** Writes the batches waiting in memory as one segment. */
  write(): void {
    const points = this._waiting.reduce((sum, batch) => sum + batch.values.length, 0);
    const bytes = new Uint8Array(points * POINT_BYTES);
    let offset = 0;
    for (const { name, width, make } of LAYOUT) {
      const column = make(bytes.buffer, offset, points);
      let at = 0;
      for (const batch of this._waiting) {
        (column as Float64Array).set(batch[name] as Float64Array, at);
        at += batch.values.length;
      }
      offset += width * points;
    }
    this._segments.push({ handle: this._scratch.append(bytes), points });
    this._waiting = [];
  }

  /** Takes a batch (kept until the next `write`); returns its points. */
  wait(batch: IMetricBatch): number {
    this._waiting.push(batch);
    this.points += batch.values.length;
    return batch.values.length;
  }

  private _waiting: IMetricBatch[] = [];
  private readonly _segments: { handle: number; points: number }[] = [];
}

/** The sink the export folds into: every waiting series is written out once `limit` points wait. */
export class SeriesSpill {
  constructor(
    private readonly _scratch: IScratch,
    private readonly _limit: number = SPILL_POINTS
  ) {}

  readonly sink: ISeriesSink<SpilledSeries> = {
    create: batch => new SpilledSeries(batch, this._scratch),
    append: (series, batch) => {
      this._waitingPoints += series.wait(batch);
      this._waiting.add(series);
      if (this._waitingPoints >= this._limit) {
        this.flush();
      }
    }
  };

  /** Writes out every waiting series (call once the fold is done, before reading any series). */
  flush(): void {
    for (const series of this._waiting) {
      series.write();
    }
    this._waiting.clear();
    this._waitingPoints = 0;
  }

  private readonly _waiting = new Set<SpilledSeries>();
  private _waitingPoints = 0;
}
