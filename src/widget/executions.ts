/**
 * Cell executions as the widget needs them (comparison code diffs and the development graph).
 *
 * The run store does not hold executions yet: `IRunStore.executions` is a requested addition to
 * `tokens.ts` (fed by `exec_start` / `exec_end`). Until it lands, a store without it shows no code.
 */
import { IRunStore } from '../tokens';

export type ExecutionStatus = 'running' | 'ok' | 'error' | 'interrupted';

export interface IExecution {
  /** `<session>-<n>`. */
  readonly id: string;
  readonly cell: string | null;
  readonly count: number | null;
  readonly source: string;
  readonly status: ExecutionStatus;
  /** ms since the epoch; end is null while running. */
  readonly start: number;
  readonly end: number | null;
}

interface IStoreWithExecutions extends IRunStore {
  readonly executions: ReadonlyMap<string, IExecution>;
}

const noExecutions: ReadonlyMap<string, IExecution> = new Map();

export function executionsOf(store: IRunStore): ReadonlyMap<string, IExecution> {
  return (store as Partial<IStoreWithExecutions>).executions ?? noExecutions;
}
