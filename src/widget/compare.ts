/**
 * Comparison of two or more runs: parameter differences and the code differences between the cell
 * versions that ran them. Pure.
 */
import { diffHunks, IDiffHunk } from '../core/diff';
import { IRun, paramLabel } from '../tokens';
import { IExecution } from '../tokens';
import { formatParam } from './tablemodel';

export interface IParamComparison {
  /** The param's label (`paramLabel`): its key, marked when it is an output. */
  key: string;
  /** Text of the value per run, in the order of the runs given ('' when the run lacks it). */
  values: string[];
  differs: boolean;
}

/** One row per parameter key of any run, differing rows first, then by key. */
export function compareParams(runs: readonly IRun[]): IParamComparison[] {
  const labels = new Map<string, string>();
  for (const run of runs) {
    for (const [key, param] of run.params) {
      labels.set(key, paramLabel(param));
    }
  }
  const rows = Array.from(labels, ([key, label]) => {
    const values = runs.map(run => {
      const param = run.params.get(key);
      return param ? formatParam(param.value) : '';
    });
    return { key: label, values, differs: values.some(value => value !== values[0]) };
  });
  return rows.sort((a, b) => Number(b.differs) - Number(a.differs) || a.key.localeCompare(b.key));
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
        missing: `no cell execution recorded for run ${which.name}`,
        hunks: []
      };
    }
    return { runId: run.id, missing: null, hunks: diffHunks(baseSource, source) };
  });
}
