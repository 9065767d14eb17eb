/**
 * Per-pixel-column reduction of a metric series for charts. Pure.
 *
 * A chart `columns` pixels wide cannot show more than a few points per column, so for each column
 * we keep the points with the minimum and maximum value and the last point (in series order); the
 * first point of the range is kept as well. Drawn in series order this gives the same line as the
 * full series at that width (every vertical extent and every column-to-column join survives), and
 * the reduction is exact at the edges: the first and last plottable points are always kept.
 * It never samples at random, so the same input always gives the same output.
 *
 * Non-finite values (NaN, ±Infinity) and non-finite x positions cannot be placed on a linear
 * chart: they are never kept, and are counted in `nonFinite` so the chart can say how many it hides.
 */

/** The kept points: ascending indices into the input arrays, and how many points were unplottable. */
export interface IReduction {
  indices: Uint32Array;
  nonFinite: number;
}

/** Options of `reduceSeries`. */
export interface IReduceOptions {
  /** Number of pixel columns (chart width); at least 1. */
  columns: number;
  /** First and one-past-last index to consider (default: the whole input). */
  start?: number;
  end?: number;
  /** Visible x range; default: the x extent of the considered points. Points outside it join the edge columns. */
  domain?: readonly [number, number];
  /**
   * Whether each column keeps its extremes (the default). Without, it keeps its last point only:
   * a sample that follows the line's course when columns are far wider than pixels (many lines
   * sharing a chart), where the extremes of each wide column would draw spikes between them.
   */
  extremes?: boolean;
}

/**
 * Reduces points (xs[i], ys[i]) for i in [start, end) to at most 3 per column (1 without
 * `extremes`) plus the first.
 * Series no longer than `columns` are returned whole (less the unplottable points).
 */
export function reduceSeries(xs: ArrayLike<number>, ys: ArrayLike<number>, options: IReduceOptions): IReduction {
  const start = Math.max(0, options.start ?? 0);
  const end = Math.min(xs.length, ys.length, options.end ?? xs.length);
  const columns = Math.max(1, Math.floor(options.columns));
  const count = Math.max(0, end - start);

  if (count <= columns) {
    const kept = new Uint32Array(count);
    let n = 0;
    for (let i = start; i < end; i++) {
      if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) {
        kept[n++] = i;
      }
    }
    return { indices: kept.slice(0, n), nonFinite: count - n };
  }

  let lo = options.domain ? options.domain[0] : Infinity;
  let hi = options.domain ? options.domain[1] : -Infinity;
  if (!options.domain) {
    for (let i = start; i < end; i++) {
      const x = xs[i];
      if (Number.isFinite(x) && Number.isFinite(ys[i])) {
        if (x < lo) {
          lo = x;
        }
        if (x > hi) {
          hi = x;
        }
      }
    }
  }
  // A zero-width domain puts every point in column 0.
  const scale = hi > lo ? columns / (hi - lo) : 0;

  // Per column: index of the min, max and last point; -1 while the column is empty.
  const minAt = new Int32Array(columns).fill(-1);
  const maxAt = new Int32Array(columns).fill(-1);
  const lastAt = new Int32Array(columns).fill(-1);
  let first = -1;
  let nonFinite = 0;
  for (let i = start; i < end; i++) {
    const x = xs[i];
    const y = ys[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      nonFinite++;
      continue;
    }
    // Points outside the domain (the neighbours `visibleRange` adds) join the edge columns.
    const column = Math.min(columns - 1, Math.max(0, Math.floor((x - lo) * scale)));
    if (first < 0) {
      first = i;
    }
    const minIndex = minAt[column];
    if (minIndex < 0 || y < ys[minIndex]) {
      minAt[column] = i;
    }
    const maxIndex = maxAt[column];
    if (maxIndex < 0 || y > ys[maxIndex]) {
      maxAt[column] = i;
    }
    lastAt[column] = i;
  }

  const kept = new Uint32Array(columns * 3 + 1);
  let n = 0;
  if (first >= 0) {
    kept[n++] = first;
  }
  const extremes = options.extremes ?? true;
  for (let c = 0; c < columns; c++) {
    if (lastAt[c] >= 0) {
      if (extremes) {
        kept[n++] = minAt[c];
        kept[n++] = maxAt[c];
      }
      kept[n++] = lastAt[c];
    }
  }
  const sorted = kept.subarray(0, n).sort();
  // Drop repeats (a point can be first, min, max and last at once).
  let unique = 0;
  for (let k = 0; k < sorted.length; k++) {
    if (k === 0 || sorted[k] !== sorted[k - 1]) {
      sorted[unique++] = sorted[k];
    }
  }
  return { indices: sorted.slice(0, unique), nonFinite };
}

/**
 * A reduction kept open at its last column, so that points appended later are reduced alone: a
 * live chart of 1,000 lines, each re-reduced whole for every new point, spent most of its update
 * copying and reducing points it had already drawn.
 *
 * It holds a series whose points never go back a column (steps and wall times only grow). Its
 * columns keep the x width they had when it was first reduced, so appended points land in the
 * last column or in new ones to its right, and only the last column's kept points change. Over
 * the points it starts with, when they are more than its columns (`reduceSeries` keeps fewer
 * whole), it keeps exactly what `reduceSeries` keeps; the caller reduces the series whole again
 * once its columns have grown too many.
 */
export class OpenReduction {
  /**
   * The reduction of points (xs[i], ys[i]) into `columns` columns over their x extent; null when
   * a point goes back a column, or every x is the same (there is no width to keep).
   */
  static of(xs: ArrayLike<number>, ys: ArrayLike<number>, columns: number, extremes: boolean): OpenReduction | null {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < xs.length; i++) {
      if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) {
        lo = Math.min(lo, xs[i]);
        hi = Math.max(hi, xs[i]);
      }
    }
    if (!(hi > lo)) {
      return null;
    }
    const reduction = new OpenReduction(lo, hi, Math.max(1, Math.floor(columns)), extremes);
    return reduction._reduce(xs, ys, 0) < 0 ? null : reduction;
  }

  /** The kept points in series order: their indices, x and y. */
  readonly indices: number[] = [];
  readonly xs: number[] = [];
  readonly ys: number[] = [];
  /** Points not kept because their x or y is not finite. */
  nonFinite = 0;

  /** Columns from the first to the open one. */
  get columns(): number {
    return this._open + 1;
  }

  /**
   * Reduces points that follow the ones it holds: (xs[k], ys[k]) is point `first + k`. Returns the
   * position in `indices` from which the kept points changed; -1, changing nothing, when a point
   * lies left of the open column.
   */
  extend(xs: ArrayLike<number>, ys: ArrayLike<number>, first: number): number {
    // Checked first, so that a refused batch changes nothing.
    let column = this._open;
    for (let k = 0; k < xs.length; k++) {
      if (Number.isFinite(xs[k]) && Number.isFinite(ys[k])) {
        const next = gridColumn(xs[k], this._lo, this._hi, this._scale, this._gridColumns - 1);
        if (next < column) {
          return -1;
        }
        column = next;
      }
    }
    return this._reduce(xs, ys, first);
  }

  /**
   * The reduction's loop; -1, part-way, at a point that goes back a column. Filtering back to
   * 1,000 lines of 1,000 points runs it over every point, so the open column's points are kept in
   * locals, not in a closure (whose captured locals live on the heap), and no field is read per point.
   */
  private _reduce(xs: ArrayLike<number>, ys: ArrayLike<number>, first: number): number {
    const changedFrom = this._openFrom;
    const { min, max, last } = this._openColumn;
    let minI = min.i;
    let minX = min.x;
    let minY = min.y;
    let maxI = max.i;
    let maxX = max.x;
    let maxY = max.y;
    let lastI = last.i;
    let lastX = last.x;
    let lastY = last.y;
    let open = this._open;
    let nonFinite = 0;
    let firstUnset = this._first.i < 0;
    const [lo, hi, scale, top] = [this._lo, this._hi, this._scale, this._gridColumns - 1];
    for (let k = 0; k < xs.length; k++) {
      const x = xs[k];
      const y = ys[k];
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        nonFinite++;
        continue;
      }
      const i = first + k;
      const at = gridColumn(x, lo, hi, scale, top);
      if (at !== open) {
        if (at < open) {
          return -1;
        }
        set(min, minI, minX, minY);
        set(max, maxI, maxX, maxY);
        set(last, lastI, lastX, lastY);
        this._keepOpenColumn();
        this._openFrom = this.indices.length;
        open = this._open = at;
        lastI = -1;
      }
      if (firstUnset) {
        set(this._first, i, x, y);
        firstUnset = false;
      }
      if (lastI < 0 || y < minY) {
        minI = i;
        minX = x;
        minY = y;
      }
      if (lastI < 0 || y > maxY) {
        maxI = i;
        maxX = x;
        maxY = y;
      }
      lastI = i;
      lastX = x;
      lastY = y;
    }
    this.nonFinite += nonFinite;
    set(min, minI, minX, minY);
    set(max, maxI, maxX, maxY);
    set(last, lastI, lastX, lastY);
    this._keepOpenColumn();
    return changedFrom;
  }

  private constructor(
    private readonly _lo: number,
    private readonly _hi: number,
    private readonly _gridColumns: number,
    private readonly _extremes: boolean
  ) {
    this._scale = _gridColumns / (_hi - _lo);
  }

  /** Writes the open column's kept points (the first point too, while it is in it) after the closed columns'. */
  private _keepOpenColumn(): void {
    this.indices.length = this.xs.length = this.ys.length = this._openFrom;
    const { min, max, last } = this._openColumn;
    if (last.i < 0) {
      return;
    }
    const candidates = this._extremes ? [min, max, last] : [last];
    if (this._openFrom === 0) {
      candidates.push(this._first);
    }
    const kept = candidates.sort((a, b) => a.i - b.i).filter((point, k, all) => k === 0 || point.i !== all[k - 1].i);
    for (const point of kept) {
      this.indices.push(point.i);
      this.xs.push(point.x);
      this.ys.push(point.y);
    }
  }

  private readonly _scale: number;
  /** The open column, and the position in `indices` where its kept points start. */
  private _open = 0;
  private _openFrom = 0;
  /** The series' first plottable point, and the open column's lowest, highest and last (i -1: none yet). */
  private readonly _first: IKeptPoint = { i: -1, x: 0, y: 0 };
  private readonly _openColumn = {
    min: { i: -1, x: 0, y: 0 },
    max: { i: -1, x: 0, y: 0 },
    last: { i: -1, x: 0, y: 0 }
  };
}

interface IKeptPoint {
  i: number;
  x: number;
  y: number;
}

/**
 * The column of x in a grid of `scale` columns per unit from lo, as `reduceSeries` places it: its
 * last column, `top`, holds hi too. Past hi the columns go on.
 */
function gridColumn(x: number, lo: number, hi: number, scale: number, top: number): number {
  const column = Math.floor((x - lo) * scale);
  return x <= hi && column > top ? top : column;
}

/** Fields set in place: the reduction's loop allocates nothing per point. */
function set(point: IKeptPoint, i: number, x: number, y: number): void {
  point.i = i;
  point.x = x;
  point.y = y;
}

/**
 * The index range [start, end) of the points whose x lies in [lo, hi], for xs sorted ascending,
 * widened by one point on each side so a zoomed line still reaches the chart's edges.
 */
export function visibleRange(xs: ArrayLike<number>, lo: number, hi: number): { start: number; end: number } {
  const start = lowerBound(xs, lo);
  const end = upperBound(xs, hi);
  return { start: Math.max(0, start - 1), end: Math.min(xs.length, end + 1) };
}

/** First index with xs[i] >= value. */
function lowerBound(xs: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < value) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/** First index with xs[i] > value. */
function upperBound(xs: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= value) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
