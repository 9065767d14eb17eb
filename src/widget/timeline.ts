/**
 * The development graph as a timeline: cell executions in start order, each with the source
 * version it ran and the diff against the previous execution of the same cell. Pure.
 */
import { diffHunks, IDiffHunk } from '../core/diff';
import { IRun } from '../tokens';
import { IExecution } from '../tokens';

export interface ITimelineEntry {
  execution: IExecution;
  /** ms, null while running. */
  duration: number | null;
  /** Version number of this cell's source (1 = first seen), counting only changed sources. */
  version: number;
  /** Diff against the previous execution of the same cell; null for its first execution. */
  changes: IDiffHunk[] | null;
  /** Runs started by this execution. */
  runIds: string[];
}

export function buildTimeline(executions: ReadonlyMap<string, IExecution>, runs: Iterable<IRun>): ITimelineEntry[] {
  const runsByExec = new Map<string, string[]>();
  for (const run of runs) {
    if (run.exec) {
      runsByExec.set(run.exec, [...(runsByExec.get(run.exec) ?? []), run.id]);
    }
  }
  const ordered = Array.from(executions.values()).sort((a, b) => a.start - b.start);
  const previous = new Map<string, { source: string; version: number }>();
  return ordered.map(execution => {
    // Executions without a cell id (e.g. from a console) are their own lineage.
    const lineage = execution.cell ?? `exec:${execution.id}`;
    const before = previous.get(lineage);
    const changed = !before || before.source !== execution.source;
    const version = before ? before.version + (changed ? 1 : 0) : 1;
    previous.set(lineage, { source: execution.source, version });
    return {
      execution,
      duration: execution.end === null ? null : execution.end - execution.start,
      version,
      changes: before ? diffHunks(before.source, execution.source) : null,
      runIds: runsByExec.get(execution.id) ?? []
    };
  });
}
