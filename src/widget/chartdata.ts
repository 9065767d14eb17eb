/**
 * Chart rows from run-store series, and the incremental feed that turns store changes into
 * insert/remove changes for one chart. Pure (Vega only applies the result).
 */
import { reduceSeries, visibleRange } from '../core/reduce';
import { IMetricSeries } from '../tokens';

export type XAxis = 'step' | 'epoch' | 'time';

/** One chart row. `key` identifies the line (run + series); `i` orders its points. */
export interface IChartPoint {
  key: string;
  run: string;
  context: string;
  x: number;
  y: number;
  i: number;
}

/** A line of a chart: one series of one run, with its legend labels. */
export interface ILine {
  key: string;
  run: string;
  context: string;
  series: IMetricSeries;
}

/**
 * x positions of points [start, end) of a series on an axis; no epoch (-1) becomes NaN. `points`
 * is the series' slice [start, end) when the caller already made it (copying 1M points costs ms).
 */
export function xPositions(
  series: IMetricSeries,
  axis: XAxis,
  start: number,
  end: number,
  points?: { steps: Float64Array; timestamps: Float64Array }
): Float64Array {
  if (axis === 'step') {
    return (points ?? series.slice(start, end)).steps;
  }
  if (axis === 'time') {
    return (points ?? series.slice(start, end)).timestamps;
  }
  const out = new Float64Array(Math.max(0, Math.min(end, series.length) - start));
  for (let i = 0; i < out.length; i++) {
    const epoch = series.epoch(start + i);
    out[i] = epoch < 0 ? NaN : epoch;
  }
  return out;
}

/**
 * Rows of a line reduced to `columns` pixel columns, over the whole series or, when zoomed, over
 * the points inside the visible x domain (step and time axes are ascending, so a binary search
 * finds them; the epoch axis is reduced whole against the domain).
 */
export function lineRows(
  line: ILine,
  axis: XAxis,
  columns: number,
  domain: readonly [number, number] | null
): { rows: IChartPoint[]; nonFinite: number } {
  const length = line.series.length;
  const points = line.series.slice(0, length);
  const xs = xPositions(line.series, axis, 0, length, points);
  let start = 0;
  let end = length;
  if (domain && axis !== 'epoch') {
    ({ start, end } = visibleRange(xs, domain[0], domain[1]));
  }
  const ys = points.values.subarray(start, end);
  const xsInRange = xs.subarray(start, end);
  const { indices, nonFinite } = reduceSeries(xsInRange, ys, {
    columns,
    domain: domain ?? undefined
  });
  const rows = new Array<IChartPoint>(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const j = indices[k];
    rows[k] = { key: line.key, run: line.run, context: line.context, x: xsInRange[j], y: ys[j], i: start + j };
  }
  return { rows, nonFinite };
}

/** What to apply to a chart's data: lines whose rows are all removed, then rows inserted. */
export interface IChartChange {
  removeLines: Set<string>;
  insert: IChartPoint[];
}

/**
 * Keeps track of what a chart shows per line, so that appending to a short line inserts only the
 * new points and a line past the chart's width is re-reduced (its x extent moved, so its columns did).
 */
export class ChartFeed {
  constructor(
    public axis: XAxis,
    public columns: number
  ) {}

  /** The visible x domain while zoomed, else null. */
  domain: readonly [number, number] | null = null;

  /** Total points hidden because they are not finite, over all lines. */
  get nonFinite(): number {
    let total = 0;
    for (const shown of this._shown.values()) {
      total += shown.nonFinite;
    }
    return total;
  }

  /** Changes bringing the given lines up to date; lines not given are removed. */
  update(lines: readonly ILine[], dirty: ReadonlySet<string> | 'all'): IChartChange {
    const change: IChartChange = { removeLines: new Set(), insert: [] };
    const present = new Set(lines.map(line => line.key));
    for (const key of this._shown.keys()) {
      if (!present.has(key)) {
        change.removeLines.add(key);
        this._shown.delete(key);
      }
    }
    for (const line of lines) {
      const shown = this._shown.get(line.key);
      if (shown && dirty !== 'all' && !dirty.has(line.key)) {
        continue;
      }
      const length = line.series.length;
      if (shown && !shown.reduced && !this.domain && length <= this.columns && length >= shown.count) {
        // Still short enough to show whole: insert only the new points.
        const added = lineRows(line, this.axis, Infinity, null).rows.filter(row => row.i >= shown.count);
        change.insert.push(...added);
        shown.nonFinite = length - shown.count - added.length + shown.nonFinite;
        shown.count = length;
        continue;
      }
      if (shown) {
        change.removeLines.add(line.key);
      }
      const { rows, nonFinite } = lineRows(line, this.axis, this.columns, this.domain);
      change.insert.push(...rows);
      this._shown.set(line.key, {
        count: length,
        reduced: this.domain !== null || length > this.columns,
        nonFinite
      });
    }
    return change;
  }

  /** Forget what is shown (after the axis, width or zoom changed and the chart was cleared). */
  reset(): void {
    this._shown.clear();
  }

  private _shown = new Map<string, { count: number; reduced: boolean; nonFinite: number }>();
}
