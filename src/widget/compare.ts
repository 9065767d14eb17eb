/**
 * Comparison of two or more runs, as MLflow's compare view: inputs, outputs, metrics (last, min,
 * max) and the code differences between the cell versions that ran them. Pure.
 */
import { diffHunks, IDiffHunk } from '../core/diff';
import { IExecution, IRun, paramKey } from '../tokens';
import { powerDevice } from '../core/records';
import { trans } from '../i18n';
import { formatNumber, formatParam, metricGroups, MetricSummaries } from './tablemodel';

/** One compared quantity: its text per run, in the order of the runs given ('' when a run lacks it). */
export interface IComparisonRow {
  key: string;
  values: string[];
  differs: boolean;
}

/** Differing rows first, then by key (numbers in keys in their natural order). */
function differencesFirst(rows: IComparisonRow[]): IComparisonRow[] {
  return rows.sort((a, b) => Number(b.differs) - Number(a.differs) || a.key.localeCompare(b.key, undefined, { numeric: true }));
}

function row(key: string, values: string[]): IComparisonRow {
  return { key, values, differs: values.some(value => value !== values[0]) };
}

/** One row per parameter key of the given role (inputs, or outputs such as a chosen threshold). */
export function compareParams(runs: readonly IRun[], role: 'input' | 'output'): IComparisonRow[] {
  const keys = new Set<string>();
  for (const run of runs) {
    for (const param of run.params.values()) {
      if (param.role === role) {
        keys.add(param.key);
      }
    }
  }
  const valueOf = (run: IRun, key: string): string => {
    const param = run.params.get(paramKey(key, role));
    return param ? formatParam(param.value) : '';
  };
  return differencesFirst(
    Array.from(keys, key =>
      row(
        key,
        runs.map(run => valueOf(run, key))
      )
    )
  );
}

/** Last, smallest and largest value of each metric (per context) per run, as MLflow compares runs. */
export function compareMetrics(runs: readonly IRun[], summaries: MetricSummaries): IComparisonRow[] {
  const groups = new Map<string, { label: string; metric: string }>();
  const byRun = runs.map(run => metricGroups(run));
  for (const runGroups of byRun) {
    for (const [key, group] of runGroups) {
      if (powerDevice(group.metric) === null) {
        groups.set(key, { label: group.context ? `${group.metric} [${group.context}]` : group.metric, metric: group.metric });
      }
    }
  }
  const rows: IComparisonRow[] = [];
  const ordered = Array.from(groups).sort(([, a], [, b]) => a.label.localeCompare(b.label, undefined, { numeric: true }));
  // The rows of one metric stay together in last/min/max order, so they are not sorted by difference.
  for (const [key, { label, metric }] of ordered) {
    const summary = byRun.map(runGroups => {
      const group = runGroups.get(key);
      return group ? summaries.summarize(metric, group.series) : null;
    });
    for (const [statistic, key] of [
      ['last', trans().__('%1 (last)', label)],
      ['min', trans().__('%1 (min)', label)],
      ['max', trans().__('%1 (max)', label)]
    ] as const) {
      const values = summary.map(one => (one && one[statistic] !== null ? formatNumber(one[statistic]!) : ''));
      rows.push(row(key, values));
    }
  }
  return rows;
}

export interface ICodeComparison {
  /** The run compared against the first run. */
  runId: string;
  /** Why there is no diff (no execution recorded for one of the runs), else null. */
  missing: string | null;
  /** Empty when both runs ran the same source. */
  hunks: IDiffHunk[];
}

/** Diff of each run's cell source against the first run's. */
export function compareCode(runs: readonly IRun[], executions: ReadonlyMap<string, IExecution>): ICodeComparison[] {
  const [base, ...others] = runs;
  if (!base) {
    return [];
  }
  const baseSource = base.exec ? executions.get(base.exec)?.source : undefined;
  return others.map(run => {
    const source = run.exec ? executions.get(run.exec)?.source : undefined;
    if (baseSource === undefined || source === undefined) {
      const which = baseSource === undefined ? base : run;
      return {
        runId: run.id,
        missing: trans().__('no cell execution recorded for run %1', which.name),
        hunks: []
      };
    }
    return { runId: run.id, missing: null, hunks: diffHunks(baseSource, source) };
  });
}
