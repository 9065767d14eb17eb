/**
 * The sweep view as data: each run's aggregate of a metric (last, min or max), the axes of the
 * scatter and of the parallel coordinates (every input parameter plus the metric), positions and
 * ticks on them, and the runs inside brushed intervals. Pure (no DOM), so it is unit-tested.
 */
import { isDefaultRankSeries } from '../core/ranks';
import { powerDevice } from '../core/records';
import { IRun } from '../tokens';
import { spansDecades } from './runidentity';
import { formatNumber, MetricSummaries } from './tablemodel';

export type Aggregate = 'last' | 'min' | 'max';

/** A parameter with more distinct text values than this is no axis (names, paths, reprs). */
export const MAX_CATEGORIES = 20;

/**
 * One axis. Numeric axes are linear, or logarithmic when every value is positive and they span
 * two decades or more (learning rates); text and boolean values make a point axis of their
 * distinct values in natural order.
 */
export interface IDimension {
  /** `param:<key>` for an input parameter, `metric` for the metric's aggregate. */
  key: string;
  title: string;
  kind: 'linear' | 'log' | 'point';
  /** Smallest and largest value (numeric axes); [0, 0] on a point axis. */
  domain: [number, number];
  /** The distinct values of a point axis, in order; empty otherwise. */
  categories: string[];
  /** Each run's value; runs without one are absent. */
  values: Map<string, number | string>;
}

/** A brush on one axis: a value interval on a numeric axis, the values inside it on a point axis. */
export type Brush = { key: string; range: [number, number] } | { key: string; categories: Set<string> };

/** The metrics the runs logged, in natural order (power series are the energy view's, not a metric). */
export function sweepMetrics(runs: readonly IRun[]): string[] {
  const metrics = new Set<string>();
  for (const run of runs) {
    for (const series of run.series.values()) {
      if (powerDevice(series.metric) === null) {
        metrics.add(series.metric);
      }
    }
  }
  return Array.from(metrics).sort(naturalOrder);
}

/**
 * Each run's last, smallest or largest finite value of the metric over its default series (the
 * kernel's and rank 0's, every context); runs without one are absent.
 */
export function metricAggregates(
  runs: readonly IRun[],
  metric: string,
  aggregate: Aggregate,
  summaries: MetricSummaries
): Map<string, number> {
  const out = new Map<string, number>();
  for (const run of runs) {
    const series = Array.from(run.series.values()).filter(one => one.metric === metric && isDefaultRankSeries(one));
    if (!series.length) {
      continue;
    }
    const value = summaries.summarize(metric, series)[aggregate];
    if (value !== null) {
      out.set(run.id, value);
    }
  }
  return out;
}

/** An axis over these values, its kind chosen from them; null when no run has a value. */
export function dimension(key: string, title: string, values: Map<string, number | string>): IDimension | null {
  if (!values.size) {
    return null;
  }
  const all = Array.from(values.values());
  if (all.every(value => typeof value === 'number')) {
    const numbers = all as number[];
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    return { key, title, kind: spansDecades(min, max) ? 'log' : 'linear', domain: [min, max], categories: [], values };
  }
  const categories = Array.from(new Set(all.map(String))).sort(naturalOrder);
  const text = new Map(Array.from(values, ([runId, value]) => [runId, String(value)]));
  return { key, title, kind: 'point', domain: [0, 0], categories, values: text };
}

/**
 * The axes of the input parameters the runs have, in natural order of their keys: numeric ones
 * (finite numbers on every run that has the parameter), and text or boolean ones of at most
 * MAX_CATEGORIES distinct values. Parameters of other values (null, mixed) make no axis.
 */
export function parameterDimensions(runs: readonly IRun[]): IDimension[] {
  const byKey = new Map<string, Map<string, number | string>>();
  const unusable = new Set<string>();
  for (const run of runs) {
    for (const param of run.params.values()) {
      if (param.role !== 'input') {
        continue;
      }
      const values = byKey.get(param.key) ?? new Map<string, number | string>();
      byKey.set(param.key, values);
      const value = param.value;
      if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'string' || typeof value === 'boolean') {
        values.set(run.id, typeof value === 'boolean' ? String(value) : value);
      } else {
        unusable.add(param.key);
      }
    }
  }
  const dimensions: IDimension[] = [];
  for (const key of Array.from(byKey.keys()).sort(naturalOrder)) {
    const values = byKey.get(key)!;
    const kinds = new Set(Array.from(values.values(), value => typeof value));
    if (unusable.has(key) || kinds.size > 1) {
      continue;
    }
    const axis = dimension(`param:${key}`, key, values);
    if (axis && (axis.kind !== 'point' || axis.categories.length <= MAX_CATEGORIES)) {
      dimensions.push(axis);
    }
  }
  return dimensions;
}

/**
 * Where a value sits on an axis, from 0 (its start) to 1 (its end); null for a value the axis
 * does not hold. A point axis spaces its values evenly, with half a gap at either end; a numeric
 * axis of one value puts it in the middle.
 */
export function position(axis: IDimension, value: number | string): number | null {
  if (axis.kind === 'point') {
    const index = axis.categories.indexOf(String(value));
    return index < 0 ? null : (index + 0.5) / axis.categories.length;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return null;
  }
  const [min, max] = axis.domain;
  if (max === min) {
    return 0.5;
  }
  return axis.kind === 'log' ? Math.log(value / min) / Math.log(max / min) : (value - min) / (max - min);
}

/** The value at a position of a numeric axis (position's inverse). */
export function valueAt(axis: IDimension, t: number): number {
  const [min, max] = axis.domain;
  if (max === min) {
    return min;
  }
  return axis.kind === 'log' ? min * Math.pow(max / min, t) : min + (max - min) * t;
}

export interface ITick {
  position: number;
  label: string;
}

/**
 * Labelled ticks of an axis, about `count` of them: round numbers (1, 2 or 5 times a power of
 * ten) on a linear axis, powers of ten on a log axis (with both ends when it spans less than a
 * decade), every value on a point axis.
 */
export function ticks(axis: IDimension, count: number): ITick[] {
  if (axis.kind === 'point') {
    return axis.categories.map(category => ({ position: position(axis, category)!, label: category }));
  }
  const [min, max] = axis.domain;
  // Tick values are round: 1e-6, not 1.000e-6.
  const at = (value: number): ITick => ({ position: position(axis, value)!, label: formatNumber(value).replace(/\.?0+e/, 'e') });
  if (max === min) {
    return [at(min)];
  }
  if (axis.kind === 'log') {
    const powers: number[] = [];
    for (let exponent = Math.ceil(Math.log10(min) - 1e-9); exponent <= Math.floor(Math.log10(max) + 1e-9); exponent++) {
      powers.push(Math.pow(10, exponent));
    }
    const stride = Math.max(1, Math.ceil(powers.length / Math.max(1, count)));
    const shown = powers.filter((_, index) => index % stride === 0);
    return (shown.length >= 2 ? shown : [min, max]).map(at);
  }
  const rough = (max - min) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map(factor => factor * power).find(candidate => candidate >= rough)!;
  const out: ITick[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    // k * step, not a running sum, so that 0.1 + 0.2 never shows as 0.30000000000000004.
    out.push(at(Number((k * step).toPrecision(12))));
  }
  return out;
}

/**
 * The brush of an axis between two positions (in either order): the value interval on a numeric
 * axis, the values whose positions lie between on a point axis.
 */
export function brushBetween(axis: IDimension, from: number, to: number): Brush {
  const [low, high] = from <= to ? [from, to] : [to, from];
  if (axis.kind === 'point') {
    return {
      key: axis.key,
      categories: new Set(
        axis.categories.filter(category => {
          const t = position(axis, category)!;
          return t >= low && t <= high;
        })
      )
    };
  }
  return { key: axis.key, range: [valueAt(axis, Math.max(0, low)), valueAt(axis, Math.min(1, high))] };
}

/** The positions a brush covers on its axis (for drawing it); null when it covers nothing there. */
export function brushExtent(axis: IDimension, brush: Brush): [number, number] | null {
  if ('categories' in brush) {
    const positions = axis.categories.filter(category => brush.categories.has(category)).map(c => position(axis, c)!);
    if (!positions.length) {
      return null;
    }
    const half = 0.5 / axis.categories.length;
    return [Math.min(...positions) - half, Math.max(...positions) + half];
  }
  const [low, high] = brush.range.map(value => position(axis, value) ?? 0.5);
  return [Math.max(0, Math.min(low, high)), Math.min(1, Math.max(low, high))];
}

/** Whether a value lies inside a brush. */
function inside(brush: Brush, value: number | string | undefined): boolean {
  if (value === undefined) {
    return false;
  }
  if ('categories' in brush) {
    return brush.categories.has(String(value));
  }
  // A relative tolerance: the brush's ends went through a log or a division and back.
  const [low, high] = brush.range;
  const slack = 1e-9 * Math.max(Math.abs(low), Math.abs(high));
  return typeof value === 'number' && value >= low - slack && value <= high + slack;
}

/**
 * The runs inside every brush (brushes on several axes narrow each other down, as in
 * parallel-coordinates tools); a run without a value on a brushed axis is outside it. Brushes on
 * axes not given are ignored.
 */
export function brushedRuns(runIds: readonly string[], axes: readonly IDimension[], brushes: readonly Brush[]): Set<string> {
  const byKey = new Map(axes.map(axis => [axis.key, axis]));
  const active = brushes.filter(brush => byKey.has(brush.key));
  return new Set(runIds.filter(runId => active.every(brush => inside(brush, byKey.get(brush.key)!.values.get(runId)))));
}

function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}
