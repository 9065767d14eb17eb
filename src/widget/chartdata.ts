/**
 * Chart rows from run-store series, and the incremental feed that turns store changes into
 * insert/remove changes for one chart. Pure (Vega only applies the result).
 */
import { OpenReduction, reduceSeries, visibleRange } from '../core/reduce';
import { IMetricSeries } from '../tokens';

/** `relative`: seconds since the run started, so runs started at different times line up. */
export type XAxis = 'step' | 'epoch' | 'time' | 'relative';
export type YScale = 'linear' | 'log';

/**
 * One point of a chart's line. `key` identifies the line (run + series); `i` orders its points;
 * `solo` marks the only point of a line, which has no segment to draw.
 */
export interface IChartPoint {
  key: string;
  label: string;
  color: string;
  opacity: number;
  context: string;
  x: number;
  y: number;
  i: number;
  solo: boolean;
}

/** A line of a chart: one series of one run, with how it is drawn and named. */
export interface ILine {
  key: string;
  runId: string;
  /** The run's display label (runidentity.ts). */
  label: string;
  color: string;
  /** 1 for a highlighted or ordinary line; less for a faded one (unselected, or raw under smoothing). */
  opacity: number;
  /** The series' context (training, validation, …); '' when it has none. */
  context: string;
  series: IMetricSeries;
  /** Start of the run (ms since the epoch), the origin of the `relative` axis. */
  start: number;
  /** Exponential moving average weight in [0, 1); 0 draws the values as logged. */
  smoothing: number;
}

/** What a line's rows carry or are placed by besides its points: when it changes, the line is drawn again. */
function lineStyle(line: ILine): string {
  return JSON.stringify([line.label, line.color, line.opacity, line.context, line.smoothing, line.start]);
}

/** Where an exponential moving average stands after the values it has read. */
export interface IEma {
  average: number;
  /** Finite values averaged so far (the debiasing's exponent). */
  finite: number;
}

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so that the first points are
 * not pulled towards 0. Non-finite values are kept as they are and stay out of the average.
 * `ema` is where the average stood before these values (a line's earlier points), and is moved on.
 */
export function smooth(values: ArrayLike<number>, weight: number, ema: IEma = { average: 0, finite: 0 }): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isFinite(value)) {
      out[i] = value;
      continue;
    }
    ema.average = ema.average * weight + (1 - weight) * value;
    ema.finite++;
    out[i] = weight === 0 ? value : ema.average / (1 - Math.pow(weight, ema.finite));
  }
  return out;
}

/**
 * x positions of points [start, end) of a series on an axis; no epoch (-1) becomes NaN. `points`
 * is the series' slice [start, end) when the caller already made it (copying 1M points costs ms);
 * `runStart` is the origin of the relative axis.
 */
export function xPositions(
  series: IMetricSeries,
  axis: XAxis,
  start: number,
  end: number,
  points?: { steps: Float64Array | Int32Array; timestamps: Float64Array },
  runStart?: number
): Float64Array | Int32Array {
  if (axis === 'step') {
    return (points ?? series.slice(start, end)).steps;
  }
  if (axis === 'time') {
    return (points ?? series.slice(start, end)).timestamps;
  }
  if (axis === 'relative') {
    const origin = runStart ?? 0;
    return (points ?? series.slice(start, end)).timestamps.map(timestamp => (timestamp - origin) / 1000);
  }
  const out = new Float64Array(Math.max(0, Math.min(end, series.length) - start));
  for (let i = 0; i < out.length; i++) {
    const epoch = series.epoch(start + i);
    out[i] = epoch < 0 ? NaN : epoch;
  }
  return out;
}

/**
 * Rows of a line reduced to its share of pixel columns, over the whole series or, when zoomed, over
 * the points inside the visible x domain (step and time axes are ascending, so a binary search
 * finds them; the epoch axis is reduced whole against the domain). On a log scale, values ≤ 0
 * cannot be drawn: they are left out and counted in `nonPositive`.
 */
export function lineRows(
  line: ILine,
  axis: XAxis,
  share: ILineShare,
  domain: readonly [number, number] | null,
  yScale: YScale = 'linear',
  tryOpen = false
): { rows: IChartPoint[]; nonFinite: number; nonPositive: number; open: IOpenLine | null } {
  const length = line.series.length;
  const points = line.series.slice(0, length);
  const xs = xPositions(line.series, axis, 0, length, points, line.start);
  let start = 0;
  let end = length;
  if (domain && axis !== 'epoch') {
    ({ start, end } = visibleRange(xs, domain[0], domain[1]));
  }
  // Smoothing reads the whole series (each average depends on every earlier point).
  const ema = { average: 0, finite: 0 };
  const values = line.smoothing > 0 ? smooth(points.values, line.smoothing, ema) : points.values;
  const { ys, nonPositive } = plottable(values.subarray(start, end), yScale);
  const xsInRange = xs.subarray(start, end);
  // `tryOpen` (a whole line longer than its share): kept open for the points it gets later, unless
  // they go back a column.
  const reduction = tryOpen ? OpenReduction.of(xsInRange, ys, share.columns, share.extremes) : null;
  if (reduction) {
    return {
      rows: keptRows(line, reduction, 0),
      nonFinite: reduction.nonFinite - nonPositive,
      nonPositive,
      open: { reduction, ema }
    };
  }
  const { indices, nonFinite } = reduceSeries(xsInRange, ys, {
    columns: share.columns,
    extremes: share.extremes,
    domain: domain ?? undefined
  });
  const rows = new Array<IChartPoint>(indices.length);
  const solo = length === 1;
  for (let k = 0; k < indices.length; k++) {
    const j = indices[k];
    rows[k] = pointRow(line, xsInRange[j], ys[j], start + j, solo);
  }
  return { rows, nonFinite: nonFinite - nonPositive, nonPositive, open: null };
}

/** A reduced line kept open for its later points, and its smoothing's state after its last point. */
export interface IOpenLine {
  reduction: OpenReduction;
  ema: IEma;
}

/**
 * The rows of the points `from`…`to` of a line reduced open: its last points, read from the store
 * alone and smoothed on from where its average stood; null (the line is left as it was) when they
 * go back a column. Counts the values a log scale hides among them.
 */
function appendedRows(
  line: ILine,
  axis: XAxis,
  open: IOpenLine,
  from: number,
  to: number,
  yScale: YScale
): { rows: IChartPoint[]; changedFrom: number; nonPositive: number } | null {
  const points = line.series.slice(from, to);
  const xs = xPositions(line.series, axis, from, to, points, line.start);
  // A refused batch leaves the line to be reduced whole again, its average with it.
  const values = line.smoothing > 0 ? smooth(points.values, line.smoothing, open.ema) : points.values;
  const { ys, nonPositive } = plottable(values, yScale);
  const changedFrom = open.reduction.extend(xs, ys, from);
  if (changedFrom < 0) {
    return null;
  }
  return { rows: keptRows(line, open.reduction, changedFrom), changedFrom, nonPositive };
}

/** Values a chart can place on its y scale: on a log scale, those ≤ 0 become NaN and are counted. */
function plottable(values: Float64Array, yScale: YScale): { ys: Float64Array; nonPositive: number } {
  let nonPositive = 0;
  const ys = yScale === 'log' ? values.map(y => (y <= 0 ? (nonPositive++, NaN) : y)) : values;
  return { ys, nonPositive };
}

/** Rows of a line's points kept by an open reduction, from position `from` of its kept points. */
function keptRows(line: ILine, reduction: OpenReduction, from: number): IChartPoint[] {
  const rows = new Array<IChartPoint>(reduction.indices.length - from);
  for (let k = from; k < reduction.indices.length; k++) {
    rows[k - from] = pointRow(line, reduction.xs[k], reduction.ys[k], reduction.indices[k], false);
  }
  return rows;
}

function pointRow(line: ILine, x: number, y: number, i: number, solo: boolean): IChartPoint {
  return { key: line.key, label: line.label, color: line.color, opacity: line.opacity, context: line.context, x, y, i, solo };
}

/**
 * Rows a chart holds at most, whatever the number of lines. Vega's work grows with its rows, about
 * 10–25 µs each here: a sweep of 1,000 lines of 1,000 points would otherwise give it a million
 * rows, and every update would take seconds; 32,000 still cost most of a second per filter
 * keystroke (bench/bench_view.mjs). One line keeps up to 4,000 columns with their extremes.
 * The lines are drawn on the chart's own canvas (`ChartRows`), but every row is still kept and
 * drawn at each change, so the budget holds for them too; a line reduced open grows past its share
 * by at most MAX_OPEN_GROWTH before it is reduced whole again.
 */
export const CHART_ROW_BUDGET = 12_000;
/** Columns a line keeps with their extremes at least; with fewer, it is sampled (`ILineShare`). */
export const MIN_EXTREME_COLUMNS = 64;
/** Columns a line keeps however many lines share the chart: its trend stays visible. */
export const MIN_LINE_COLUMNS = 8;

/** How a line of a chart is reduced: to how many columns, and whether with each column's extremes. */
export interface ILineShare {
  columns: number;
  extremes: boolean;
}

/**
 * How each of `lines` lines of a chart `width` pixels wide is reduced within the row budget: with
 * each column's extremes (up to 3 rows a column) while a line keeps enough columns for them to be
 * its real extent, else to one point a column, which follows the line's course with more columns
 * (1,000 lines: 12 points each, where their extremes would allow 4 columns and draw spikes).
 */
export function lineShare(width: number, lines: number): ILineShare {
  const rows = Math.floor(CHART_ROW_BUDGET / Math.max(1, lines));
  const extremeColumns = Math.floor(rows / 3);
  if (extremeColumns >= Math.min(width, MIN_EXTREME_COLUMNS)) {
    return { columns: Math.min(width, extremeColumns), extremes: true };
  }
  return { columns: Math.min(width, Math.max(MIN_LINE_COLUMNS, rows)), extremes: false };
}

/** A line read whole (no reduction). */
const WHOLE: ILineShare = { columns: Infinity, extremes: true };

/**
 * What to apply to a chart's data: lines whose rows are all removed, lines whose rows past the
 * first n are (`truncate`, key → n), then rows inserted.
 */
export interface IChartChange {
  removeLines: Set<string>;
  truncate: Map<string, number>;
  insert: IChartPoint[];
}

/** A row Vega draws: a one-point line's dot, or (`frame`) an invisible point that spans the axes. */
export type ChartRow = IChartPoint & { frame?: boolean };

/** A line drawn on the chart's own canvas: its style and its points, in order. */
export interface ICanvasLine {
  color: string;
  opacity: number;
  context: string;
  xs: number[];
  ys: number[];
}

/** The key of the rows that give Vega the extent of the canvas lines. */
const FRAME_KEY = '\0frame';

/**
 * Turns a chart's changes of points into what is drawn: the lines, kept for the chart's own canvas
 * (Vega facets its data by line, a dataflow of its own per line that cost seconds per redraw of
 * 1,000 lines, and its cost per row made a filter keystroke over 1,000 runs take most of a second),
 * and for Vega only a line of one point (as a dot) and the rows that span the lines' extent once
 * per context, so that its axes, domains and its scale of the contexts' dashes are those of every point.
 */
export class ChartRows {
  /** Lines drawn on the chart's own canvas, by key. */
  readonly canvasLines = new Map<string, ICanvasLine>();

  /** Points of the lines drawn, summed (what the chart reports as drawn). */
  get points(): number {
    let total = 0;
    for (const count of this._counts.values()) {
      total += count;
    }
    return total;
  }

  /** The contexts of the lines drawn, sorted ('' for none): the chart's key to their dashes. */
  get contexts(): string[] {
    const contexts = new Set<string>();
    for (const line of [...this.canvasLines.values(), ...this._soloRows.values()]) {
      contexts.add(line.context);
    }
    return Array.from(contexts).sort();
  }

  /** Vega's rows after a change: its few rows are replaced whole at every change. */
  apply(change: IChartChange): ChartRow[] {
    for (const key of change.removeLines) {
      this._counts.delete(key);
      this.canvasLines.delete(key);
      this._soloRows.delete(key);
    }
    for (const [key, kept] of change.truncate) {
      const line = this.canvasLines.get(key);
      if (line) {
        line.xs.length = line.ys.length = kept;
        this._counts.set(key, kept);
      }
    }
    for (const point of change.insert) {
      this._counts.set(point.key, (this._counts.get(point.key) ?? 0) + 1);
      if (point.solo) {
        this._soloRows.set(point.key, point);
        continue;
      }
      let line = this.canvasLines.get(point.key);
      if (!line) {
        line = { color: point.color, opacity: point.opacity, context: point.context, xs: [], ys: [] };
        this.canvasLines.set(point.key, line);
      }
      line.xs.push(point.x);
      line.ys.push(point.y);
    }
    return [...this._soloRows.values(), ...this._frameRows()];
  }

  private _frameRows(): ChartRow[] {
    let minX = Infinity;
    let maxX = -Infinity;
    let minY = Infinity;
    let maxY = -Infinity;
    const contexts = new Set<string>();
    for (const line of this.canvasLines.values()) {
      contexts.add(line.context);
      for (let index = 0; index < line.xs.length; index++) {
        minX = Math.min(minX, line.xs[index]);
        maxX = Math.max(maxX, line.xs[index]);
        minY = Math.min(minY, line.ys[index]);
        maxY = Math.max(maxY, line.ys[index]);
      }
    }
    const row = (context: string, x: number, y: number, i: number): ChartRow => ({
      key: FRAME_KEY,
      label: '',
      color: 'transparent',
      opacity: 0,
      context,
      x,
      y,
      i,
      solo: false,
      frame: true
    });
    return Array.from(contexts).flatMap((context, i) => [row(context, minX, minY, 2 * i), row(context, maxX, maxY, 2 * i + 1)]);
  }

  private _counts = new Map<string, number>();
  private _soloRows = new Map<string, IChartPoint>();
}

/** The part of a 2D canvas context the line drawing uses. */
export type LineContext = Pick<
  CanvasRenderingContext2D,
  'beginPath' | 'moveTo' | 'lineTo' | 'stroke' | 'setLineDash' | 'strokeStyle' | 'globalAlpha' | 'lineWidth'
>;

/**
 * A dash pattern as the canvas should get it: one without gaps (Vega's first context gets
 * [1, 0]) as none, which draws the same line; the browser cuts a dashed line into its dashes, and
 * 1,000 lines "dashed" [1, 0] took 200 ms to paint against 13 ms solid.
 */
export function drawnDash(pattern: readonly number[]): number[] {
  // An odd-length pattern is repeated to an even one ([4] is 4 on, 4 off).
  const even = pattern.length % 2 ? [...pattern, ...pattern] : pattern;
  return even.some((length, index) => index % 2 === 1 && length > 0) ? [...pattern] : [];
}

/**
 * Up to this many lines are drawn 2 px wide, as Vega draws a line; more 1 px wide, so that a sweep
 * stays legible.
 */
export const WIDE_LINES_UP_TO = 64;

/**
 * Draws the canvas lines through the chart's scales (data → pixels in the plot), faded lines
 * first so that highlighted ones stay on top; `dash` gives a context's dash pattern.
 */
export function drawCanvasLines(
  context: LineContext,
  lines: Iterable<ICanvasLine>,
  x: (value: number) => number,
  y: (value: number) => number,
  dash: (context: string) => number[]
): void {
  const ordered = Array.from(lines).sort((a, b) => a.opacity - b.opacity);
  context.lineWidth = ordered.length > WIDE_LINES_UP_TO ? 1 : 2;
  for (const line of ordered) {
    context.beginPath();
    context.strokeStyle = line.color;
    context.globalAlpha = line.opacity;
    context.setLineDash(drawnDash(dash(line.context)));
    for (let index = 0; index < line.xs.length; index++) {
      if (index === 0) {
        context.moveTo(x(line.xs[index]), y(line.ys[index]));
      } else {
        context.lineTo(x(line.xs[index]), y(line.ys[index]));
      }
    }
    context.stroke();
  }
  context.globalAlpha = 1;
  context.setLineDash([]);
}

/** Lines filtered out that a chart keeps reduced, for filtering back to them. */
const HIDDEN_LINES_KEPT = 10_000;
/** A line reduced open is reduced whole again before its columns pass this many times its share. */
const MAX_OPEN_GROWTH = 1.5;

/**
 * How many times the points it was reduced whole with a line reduced open may grow to before it is
 * reduced whole again: 1.25–1.5, spread by the line's key, so that a sweep's lines, which grow in
 * step, are not all reduced again in the same update.
 */
function regrowth(key: string): number {
  let hash = 0;
  for (let k = 0; k < key.length; k++) {
    hash = (hash * 31 + key.charCodeAt(k)) | 0;
  }
  return 1.25 + ((hash >>> 0) % 256) / 1024;
}

/** What a chart shows of a line: how it was reduced, and what it hides. */
interface IShownLine {
  count: number;
  /** Points the line had when it was last reduced whole. */
  reducedCount: number;
  reduced: boolean;
  columns: number;
  extremes: boolean;
  nonFinite: number;
  nonPositive: number;
  style: string;
  open: IOpenLine | null;
}

/**
 * Keeps track of what a chart shows per line, so that appending to a short line inserts only the
 * new points, appending to a line reduced open (`OpenReduction`) reduces only the new points, and
 * any other line past its share of columns is reduced whole again (its x extent moved, so its
 * columns did).
 */
export class ChartFeed {
  constructor(
    public axis: XAxis,
    public columns: number,
    public yScale: YScale = 'linear'
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

  /** Total points hidden because a log scale cannot draw them (≤ 0), over all lines. */
  get nonPositive(): number {
    let total = 0;
    for (const shown of this._shown.values()) {
      total += shown.nonPositive;
    }
    return total;
  }

  /** Changes bringing the given lines up to date; lines not given are removed. */
  update(lines: readonly ILine[], dirty: ReadonlySet<string> | 'all'): IChartChange {
    const change: IChartChange = { removeLines: new Set(), truncate: new Map(), insert: [] };
    const present = new Set(lines.map(line => line.key));
    // Many lines share the row budget: each is reduced to fewer columns, and drawn again when
    // the number of lines (and so its share) changed.
    const share = lineShare(this.columns, present.size);
    const { columns } = share;
    for (const [key, shown] of this._shown) {
      if (!present.has(key)) {
        change.removeLines.add(key);
        this._shown.delete(key);
        if (shown.open) {
          this._hidden.set(key, { ...shown, open: shown.open });
          // The oldest go first: a run forgotten for good is never filtered back.
          if (this._hidden.size > HIDDEN_LINES_KEPT) {
            this._hidden.delete(this._hidden.keys().next().value!);
          }
        }
      }
    }
    for (const line of lines) {
      const style = lineStyle(line);
      const length = line.series.length;
      const hidden = this._hidden.get(line.key);
      this._hidden.delete(line.key);
      if (
        hidden &&
        hidden.count === length &&
        hidden.style === style &&
        hidden.columns === columns &&
        hidden.extremes === share.extremes
      ) {
        // Filtered out and back with nothing new: its kept points are drawn again as they were.
        this._shown.set(line.key, hidden);
        change.insert.push(...keptRows(line, hidden.open.reduction, 0));
        continue;
      }
      const shown = this._shown.get(line.key);
      // A new share changes the rows of a line longer than the smaller share only.
      const resized =
        shown !== undefined &&
        (shown.columns !== columns || shown.extremes !== share.extremes) &&
        Math.max(shown.count, length) > Math.min(shown.columns, columns);
      const restyled = shown !== undefined && (shown.style !== style || resized);
      if (shown && !restyled) {
        shown.columns = columns;
        shown.extremes = share.extremes;
      }
      if (shown && !restyled && dirty !== 'all' && !dirty.has(line.key)) {
        continue;
      }
      if (shown && !restyled && !shown.reduced && !this.domain && length <= columns && length > shown.count && shown.count > 1) {
        // Still short enough to show whole: insert only the new points.
        const { rows, nonPositive } = lineRows(line, this.axis, WHOLE, null, this.yScale);
        const added = rows.filter(row => row.i >= shown.count);
        change.insert.push(...added);
        const newPositive = nonPositive - shown.nonPositive;
        shown.nonFinite = length - shown.count - added.length - newPositive + shown.nonFinite;
        shown.nonPositive = nonPositive;
        shown.count = length;
        continue;
      }
      if (shown && length === shown.count && !restyled && !this.domain) {
        continue; // no new points, same share of columns: the same rows
      }
      if (shown?.open && !restyled && !this.domain && length > shown.count) {
        // Reduced and open: only the new points are reduced, until its columns grew too many.
        const appended =
          length <= shown.reducedCount * regrowth(line.key) &&
          appendedRows(line, this.axis, shown.open, shown.count, length, this.yScale);
        if (appended && shown.open.reduction.columns <= columns * MAX_OPEN_GROWTH) {
          change.truncate.set(line.key, appended.changedFrom);
          change.insert.push(...appended.rows);
          shown.nonPositive += appended.nonPositive;
          shown.nonFinite = shown.open.reduction.nonFinite - shown.nonPositive;
          shown.count = length;
          continue;
        }
      }
      if (shown) {
        change.removeLines.add(line.key);
      }
      const tryOpen = !this.domain && length > columns && !this._reducedWhole.has(line.key);
      const { rows, nonFinite, nonPositive, open } = lineRows(line, this.axis, share, this.domain, this.yScale, tryOpen);
      if (tryOpen && !open) {
        // Its stored points never change: it is reduced whole from now on.
        this._reducedWhole.add(line.key);
      }
      change.insert.push(...rows);
      this._shown.set(line.key, {
        count: length,
        reducedCount: length,
        reduced: this.domain !== null || length > columns,
        columns,
        extremes: share.extremes,
        nonFinite,
        nonPositive,
        style,
        open
      });
    }
    return change;
  }

  /** Forget what is shown (after the axis, width or zoom changed and the chart was cleared). */
  reset(): void {
    this._shown.clear();
    this._hidden.clear();
    this._reducedWhole.clear();
  }

  private _shown = new Map<string, IShownLine>();
  /**
   * Lines reduced open that the filter took away, kept so that filtering back to them redraws
   * their kept points instead of reducing them again (most of a keystroke back to 1,000 runs).
   */
  private _hidden = new Map<string, IShownLine & { open: IOpenLine }>();
  /** Lines no open reduction holds (their points go back a column, or span no width): reduced whole. */
  private _reducedWhole = new Set<string>();
}

/** One run's value in the tooltip at a hovered x. */
export interface IHoverEntry {
  key: string;
  runId: string;
  /** The line's label, with its context when it has one. */
  label: string;
  color: string;
  /** The x of the line's point nearest to the hovered x, and its (smoothed, when smoothing) value. */
  x: number;
  value: number;
}

/** The tooltip at a hovered x: the runs it lists, how many more are drawn there, and the x it snapped to. */
export interface IHover {
  entries: IHoverEntry[];
  more: number;
  x: number | null;
}

/** A point's x on an axis, read from the series without copying it. */
function xAt(series: IMetricSeries, axis: XAxis, index: number, runStart: number): number {
  if (axis === 'step') {
    return series.step(index);
  }
  if (axis === 'time') {
    return series.timestamp(index);
  }
  if (axis === 'relative') {
    return (series.timestamp(index) - runStart) / 1000;
  }
  const epoch = series.epoch(index);
  return epoch < 0 ? NaN : epoch;
}

/**
 * The index of a line's point nearest to x: a binary search on the ascending step and time axes,
 * a scan on the epoch axis (points without an epoch are skipped); -1 when there is none.
 */
export function nearestIndex(line: ILine, axis: XAxis, x: number): number {
  const { series, start } = line;
  if (!series.length) {
    return -1;
  }
  if (axis === 'epoch') {
    let best = -1;
    for (let i = 0; i < series.length; i++) {
      const at = xAt(series, axis, i, start);
      if (Number.isFinite(at) && (best < 0 || Math.abs(at - x) < Math.abs(xAt(series, axis, best, start) - x))) {
        best = i;
      }
    }
    return best;
  }
  let low = 0;
  let high = series.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (xAt(series, axis, middle, start) < x) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  if (low > 0 && Math.abs(xAt(series, axis, low - 1, start) - x) <= Math.abs(xAt(series, axis, low, start) - x)) {
    return low - 1;
  }
  return low;
}

/** A value rounded as the tooltips show it: five significant digits, trailing zeros dropped (d3's `.5~g`). */
export function formatRounded(value: number): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  return value
    .toPrecision(5)
    .replace(/(\.\d*?)0+(e|$)/, '$1$2')
    .replace(/\.(e|$)/, '$1');
}

/**
 * Every plotted line's value at a hovered x, as trackers' tooltips list them: each line's point
 * nearest to x, for the lines whose points reach within `tolerance` of it (a run that ended
 * earlier is not listed at a later step). Under smoothing, the smoothed lines stand for their
 * runs. Sorted by value, largest first (the order the lines stack in on the chart), the selected
 * runs first, capped at `cap` entries (or the selected ones, when more), then "N more". The
 * tooltip snaps to the listed point nearest to x.
 */
export function hoverValues(
  lines: readonly ILine[],
  axis: XAxis,
  x: number,
  tolerance: number,
  selected: ReadonlySet<string>,
  cap: number
): IHover {
  const smoothed = lines.some(line => line.smoothing > 0);
  const entries: IHoverEntry[] = [];
  for (const line of lines) {
    if (smoothed && line.smoothing === 0) {
      continue;
    }
    const index = nearestIndex(line, axis, x);
    if (index < 0) {
      continue;
    }
    const first = xAt(line.series, axis, 0, line.start);
    const last = xAt(line.series, axis, line.series.length - 1, line.start);
    if (axis !== 'epoch' && (x < first - tolerance || x > last + tolerance)) {
      continue;
    }
    const value =
      line.smoothing > 0 ? smooth(line.series.slice(0, index + 1).values, line.smoothing)[index] : line.series.value(index);
    if (!Number.isFinite(value)) {
      continue;
    }
    const context = line.context ? ` · ${line.context}` : '';
    entries.push({
      key: line.key,
      runId: line.runId,
      label: line.label + context,
      color: line.color,
      x: xAt(line.series, axis, index, line.start),
      value
    });
  }
  const byValue = (a: IHoverEntry, b: IHoverEntry) => b.value - a.value || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
  const picked = entries.filter(entry => selected.has(entry.runId)).sort(byValue);
  const rest = entries.filter(entry => !selected.has(entry.runId)).sort(byValue);
  const listed = [...picked, ...rest].slice(0, Math.max(cap, picked.length));
  let snapped: number | null = null;
  for (const entry of entries) {
    if (snapped === null || Math.abs(entry.x - x) < Math.abs(snapped - x)) {
      snapped = entry.x;
    }
  }
  return { entries: listed, more: entries.length - listed.length, x: snapped };
}

/** Pixels between two y-axis labels at least (a label is about 11 px tall). */
export const MIN_LABEL_GAP_PX = 18;
/** Mantissas of a decade's ticks, densest first: 1-2-3-5, 1-2-5, 1-3, the decades alone. */
const LOG_MANTISSAS = [[1, 2, 3, 5], [1, 2, 5], [1, 3], [1]];

/**
 * The y-axis tick values of a log scale over `domain` in `height` pixels: the densest set of round
 * values (1-2-3-5 of each decade down to every n-th decade) whose labels stay MIN_LABEL_GAP_PX apart,
 * so labels neither crowd nor drop out unevenly (Vega's overlap removal left 2, 0.9, 0.7, 0.5, 0.3).
 * A domain narrower than two such values gets round linear steps: within a fraction of a decade a
 * log scale is nearly linear.
 */
export function logTicks(domain: readonly [number, number], height: number): number[] {
  const lo = Math.min(domain[0], domain[1]);
  const hi = Math.max(domain[0], domain[1]);
  if (!(lo > 0) || !Number.isFinite(hi) || !(height > 0)) {
    return [];
  }
  // Differences of logarithms: hi / lo overflows past 308 decades.
  const decades = Math.log10(hi) - Math.log10(lo);
  const pxPerDecade = decades > 0 ? height / decades : Infinity;
  const fits = (ticks: number[]): boolean =>
    ticks.every((tick, i) => i === 0 || Math.log10(tick / ticks[i - 1]) * pxPerDecade >= MIN_LABEL_GAP_PX);
  const first = Math.floor(Math.log10(lo));
  const last = Math.ceil(Math.log10(hi));
  const inDomain = (value: number): boolean => value >= lo * (1 - 1e-12) && value <= hi * (1 + 1e-12);
  for (const mantissas of LOG_MANTISSAS) {
    const ticks: number[] = [];
    for (let exponent = first; exponent <= last; exponent++) {
      for (const mantissa of mantissas) {
        // Parsed from text, so that 3e-1 is 0.3 and not 0.30000000000000004.
        const value = Number(`${mantissa}e${exponent}`);
        if (inDomain(value)) {
          ticks.push(value);
        }
      }
    }
    if (ticks.length < 2) {
      break;
    }
    if (fits(ticks)) {
      return ticks;
    }
  }
  if (first + 1 < last) {
    // Too many decades for each to be labelled: every n-th, n the smallest that leaves room.
    const every = Math.ceil(MIN_LABEL_GAP_PX / pxPerDecade);
    const ticks: number[] = [];
    for (let exponent = Math.ceil(first / every) * every; exponent <= last; exponent += every) {
      const value = Number(`1e${exponent}`);
      if (inDomain(value)) {
        ticks.push(value);
      }
    }
    if (ticks.length >= 2) {
      return ticks;
    }
  }
  return linearTicks(lo, hi, Math.max(2, Math.floor(height / (2 * MIN_LABEL_GAP_PX))));
}

/** Ticks a linear fallback gives at most, whatever the domain. */
const MAX_LINEAR_TICKS = 100;

/**
 * About `count` round values (1, 2 or 5 times a power of ten apart) within [lo, hi]; a domain too
 * narrow for distinct round values (a flat series: a few units in the last place) gets [lo].
 */
function linearTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi - lo > hi * 1e-9)) {
    return [lo];
  }
  const rough = (hi - lo) / count;
  const power = Math.floor(Math.log10(rough));
  const mantissa = [1, 2, 5, 10].find(candidate => candidate * Math.pow(10, power) >= rough)!;
  // Ticks as integer multiples of `step`, printed from text so that they stay round.
  const stepExponent = mantissa === 10 ? power + 1 : power;
  const stepMantissa = mantissa === 10 ? 1 : mantissa;
  const step = Number(`${stepMantissa}e${stepExponent}`);
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.min(Math.floor(hi / step + 1e-9), first + MAX_LINEAR_TICKS - 1);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) {
    ticks.push(Number((k * step).toPrecision(12)));
  }
  return ticks;
}
