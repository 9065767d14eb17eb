/**
 * Energy views as data: the power samples the kernel logs as `power_watts[<device>]` series, split
 * off the user's metrics into one power chart, and the metric-versus-energy trade-off across runs
 * (one point per run). Pure (no DOM); runs without an energy figure are listed with the reason,
 * never plotted at 0.
 */
import { powerDevice } from '../core/records';
import { trans } from '../i18n';
import { IRun } from '../tokens';
import { ILine } from './chartdata';
import { IRunIdentity } from './runidentity';
import { metricGroups, MetricSummaries, missingEnergy, runEnergy } from './tablemodel';

export { powerDevice } from '../core/records';

/**
 * Splits chart lines by metric into the user's metrics and the power lines. A power line keeps its
 * key (so live updates still find it) and names its device in the dash legend, after its context.
 */
export function splitPowerLines(byMetric: ReadonlyMap<string, ILine[]>): {
  metrics: Map<string, ILine[]>;
  power: ILine[];
} {
  const metrics = new Map<string, ILine[]>();
  const power: ILine[] = [];
  for (const [metric, lines] of byMetric) {
    const device = powerDevice(metric);
    if (device === null) {
      metrics.set(metric, lines);
      continue;
    }
    for (const line of lines) {
      const context = line.context ? ` [${line.context}]` : '';
      power.push({ ...line, context: `${device}${context}` });
    }
  }
  return { metrics, power };
}

/** A metric that the trade-off chart can plot: a metric name within a context name. */
export interface ITradeoffMetric {
  /** Stable key (JSON of metric and context). */
  key: string;
  metric: string;
  context: string;
  /** `metric [context]`, or the metric alone outside any context. */
  label: string;
}

/** The user metrics (never power) of the given runs, by label. */
export function tradeoffMetrics(runs: readonly IRun[]): ITradeoffMetric[] {
  const found = new Map<string, ITradeoffMetric>();
  for (const run of runs) {
    for (const [key, group] of metricGroups(run)) {
      if (powerDevice(group.metric) === null && !found.has(key)) {
        const label = group.context ? `${group.metric} [${group.context}]` : group.metric;
        found.set(key, { key, metric: group.metric, context: group.context, label });
      }
    }
  }
  return Array.from(found.values()).sort((a, b) => a.label.localeCompare(b.label));
}

export type TradeoffStatistic = 'last' | 'best';

/** One plotted run. */
export interface ITradeoffPoint {
  runId: string;
  run: string;
  color: string;
  joules: number;
  value: number;
  /** True when some of the run's devices had no figure (the energy is a lower bound). */
  partial: boolean;
}

/** A run left out of the chart, and why. */
export interface ITradeoffOmission {
  runId: string;
  run: string;
  reason: string;
}

export interface ITradeoff {
  points: ITradeoffPoint[];
  omitted: ITradeoffOmission[];
}

/**
 * Metric (last or best value) against run energy, one point per run with both. `identities`
 * gives each run's label and colour (runidentity.ts), the same as in every other view.
 */
export function buildTradeoff(
  runs: readonly IRun[],
  metric: ITradeoffMetric,
  statistic: TradeoffStatistic,
  summaries: MetricSummaries,
  identities: ReadonlyMap<string, IRunIdentity>
): ITradeoff {
  const points: ITradeoffPoint[] = [];
  const omitted: ITradeoffOmission[] = [];
  for (const run of runs) {
    const { label, color } = identities.get(run.id) ?? { label: run.name, color: 'gray' };
    const energy = runEnergy(run);
    const group = metricGroups(run).get(metric.key);
    const value = group ? summaries.summarize(metric.metric, group.series)[statistic] : null;
    if (typeof energy.sortValue !== 'number') {
      omitted.push({ runId: run.id, run: label, reason: trans().__('energy unavailable: %1', missingEnergy(run)) });
    } else if (value === null) {
      omitted.push({ runId: run.id, run: label, reason: trans().__('no finite value of %1', metric.label) });
    } else {
      const partial = run.energy.some(figure => figure.scope === 'run' && figure.joules === null);
      points.push({ runId: run.id, run: label, color, joules: energy.sortValue, value, partial });
    }
  }
  return { points, omitted };
}

/**
 * The runs not plotted, grouped by reason: on a machine without sensors every run has the same
 * one, which is then said once for all of them rather than once per run.
 */
export function groupOmissions(omitted: readonly ITradeoffOmission[]): { reason: string; runs: ITradeoffOmission[] }[] {
  const byReason = new Map<string, ITradeoffOmission[]>();
  for (const entry of omitted) {
    byReason.set(entry.reason, [...(byReason.get(entry.reason) ?? []), entry]);
  }
  return Array.from(byReason, ([reason, runs]) => ({ reason, runs }));
}
