/**
 * The session model: everything the journal says about one notebook, joined and ordered.
 * Pure function of the parsed records (plus which kernel sessions are still live).
 */

import type {
  ICodeState,
  IExecOutput,
  IExecStart,
  IJournalWarning,
  IKernelOutput,
  ILocatedRecord,
  IOutputItem,
  IStructure
} from './journal';
import { type IRankPart, type IRunEnergyTotals, foldRankJournals, mergeRankParts } from './ranks';
import { sha256Hex } from './sha256';
import type { ParamValueType } from './params';

export interface IKernelSession {
  id: string;
  /** Time of `kernel_start`, or of the first record of the file when that line was lost. */
  started: string;
  kernelId: string | null;
  hostname: string;
  python: string;
  nbprovVersion: string;
  user: string;
}

export interface ISourceVersion {
  /** Cell id; null for the source of an execution whose cell is unknown (see `IExecution.ownSource`). */
  cell: string | null;
  /** 1-based, per cell. */
  version: number;
  cellType: string;
  source: string;
  sha256: string;
  t: string;
}

export interface IExecution {
  /** Kernel exec id (`<session>-<n>`) or, for a frontend-only execution, `f-<msg_id or index>`. */
  id: string;
  kernelSession: string | null;
  /** `n` of the kernel exec id; null for frontend-only executions. */
  index: number | null;
  msgId: string | null;
  /** Null when the cell could not be identified (a cell edited in memory and run headless…). */
  cell: string | null;
  /** How the cell was identified (see `IExecStart.cell_match`); null when unknown. */
  cellMatch: 'request' | 'source' | 'ambiguous' | null;
  /** Every cell with the same source, when the match is ambiguous. */
  cellCandidates: string[];
  /** Papermill's tag of the cell: `parameters` or `injected-parameters`. */
  cellRole: string | null;
  count: number | null;
  status: string;
  started: string;
  ended: string | null;
  ename: string | null;
  evalue: string | null;
  outputs: IOutputItem[];
  /** Who recorded `outputs`: the page (preferred: what the notebook showed) or the kernel. */
  outputsFrom: 'page' | 'kernel' | null;
  /** False when the kernel's record of the outputs stops before the execution's end (a kill). */
  outputsComplete: boolean;
  /** Version number of the cell source that ran (see `ISession.cells`), null if unknown. */
  sourceVersion: number | null;
  /** Source of an execution without a cell: its own entity, never a version of another cell. */
  ownSource: ISourceVersion | null;
}

export interface INotebookVersion {
  /** 1-based. */
  version: number;
  t: string;
  cells: { cell: string; sha256: string }[];
  /** True when derived from kernel records (headless session), false for a frontend snapshot. */
  derived: boolean;
}

export interface IParamValue {
  key: string;
  value: string | number | boolean | null;
  valueType: ParamValueType | null;
  role: 'input' | 'output';
  t: string;
}

export interface IRunContext {
  ctx: number;
  name: string;
  epoch: number | null;
  parent: number | null;
  started: string;
  ended: string | null;
  /** The rank process that opened it (absent: the kernel's). */
  rank?: number;
}

export interface IMetricSeries {
  metric: string;
  ctx: number | null;
  steps: BigInt64Array;
  values: Float64Array;
  timestamps: BigInt64Array;
  epochs: Int32Array;
  /** The rank process that logged it, and its session (absent: the kernel's); see `src/core/ranks.ts`. */
  rank?: number;
  process?: string;
}

export interface IArtifactRecord {
  path: string;
  name: string;
  sha256: string;
  size: number;
  role: 'input' | 'output';
  t: string;
}

export interface IEnergyReading {
  scope: 'run' | 'context' | 'epoch' | 'cell';
  ref: string | number | null;
  ctx: number | null;
  device: string;
  joules: number | null;
  method: string;
  reason: string | null;
  resolutionLimited: boolean;
  t: string;
  /** Where it was measured, for a rank process's reading or a merged run's (see `src/core/ranks.ts`). */
  host?: string;
  rank?: number;
}

export type RunStatus = 'finished' | 'failed' | 'interrupted' | 'crashed' | 'running';

export interface IRun {
  /** 32 lowercase hex digits (validated: it names a Zarr group). */
  id: string;
  name: string;
  experiment: string;
  exec: string | null;
  kernelSession: string;
  started: string;
  ended: string | null;
  status: RunStatus;
  ename: string | null;
  evalue: string | null;
  energyRequested: boolean;
  code: ICodeState | null;
  params: IParamValue[];
  contexts: IRunContext[];
  metrics: IMetricSeries[];
  artifacts: IArtifactRecord[];
  energy: IEnergyReading[];
  /** Metric points the kernel logged but could not keep (its disk refused them beyond its memory bound). */
  lostPoints: number;
  lostReasons: string[];
  parent: string | null;
  tags: Record<string, string>;
  /** Later cell executions that logged into the run (it was open across cells). */
  contributingExecs: string[];
  /** Processes that joined the run (`nbprov.ranks`), by rank; absent when none did. */
  ranks?: IRankPart[];
  /** The rank whose status is the run's (worse than the kernel's own), when one is. */
  statusRank?: number;
  /** Run energy once per physical device, node and in total, when ranks joined. */
  energyTotals?: IRunEnergyTotals;
}

export interface ISession {
  /** Users seen in kernel and page records, sorted. */
  users: string[];
  kernelSessions: IKernelSession[];
  executions: IExecution[];
  /** Per cell id, its chain of source versions, cells sorted by first appearance. */
  cells: Map<string, ISourceVersion[]>;
  notebookVersions: INotebookVersion[];
  structure: IStructure[];
  runs: IRun[];
  warnings: IJournalWarning[];
}

const RUN_ID = /^[0-9a-f]{32}$/;

const byTime = (a: { t: string }, b: { t: string }): number => compareTimes(a.t, b.t);

/** Compares ISO date-times by instant (strings with different offsets do not sort lexically). */
export function compareTimes(a: string, b: string): number {
  const difference = Date.parse(a) - Date.parse(b);
  return Number.isNaN(difference) ? (a < b ? -1 : a > b ? 1 : 0) : difference;
}

/** `<session>-<n>` → n, or null when the id does not end in a number. */
function execIndex(exec: string): number | null {
  const match = /-(\d+)$/.exec(exec);
  return match ? Number(match[1]) : null;
}

/** `{rank}` of a record or series a rank process wrote (`foldRankJournals` set it), else `{}`. */
function rankOf(o: object): { rank?: number } {
  return 'rank' in o && typeof o.rank === 'number' ? { rank: o.rank } : {};
}

function concatSeries(parts: IMetricSeries[]): IMetricSeries {
  const total = parts.reduce((sum, part) => sum + part.values.length, 0);
  const out: IMetricSeries = {
    metric: parts[0].metric,
    ctx: parts[0].ctx,
    ...rankOf(parts[0]),
    ...(parts[0].process === undefined ? {} : { process: parts[0].process }),
    steps: new BigInt64Array(total),
    values: new Float64Array(total),
    timestamps: new BigInt64Array(total),
    epochs: new Int32Array(total)
  };
  let at = 0;
  for (const part of parts) {
    out.steps.set(part.steps, at);
    out.values.set(part.values, at);
    out.timestamps.set(part.timestamps, at);
    out.epochs.set(part.epochs, at);
    at += part.values.length;
  }
  return out;
}

interface IRunBuilder {
  run: IRun;
  batches: Map<number, { t: string; series: IMetricSeries[] }>;
  ended: boolean;
}

/** Session of the kernel file a record came from: `kernel_start.session`, else the file stem. */
function sessionOfFile(file: string, declared: Map<string, string>): string {
  return declared.get(file) ?? file.replace(/^k-/, '').replace(/\.jsonl$/, '');
}

export function buildSession(records: ILocatedRecord[], warnings: IJournalWarning[], liveSessions: string[] = []): ISession {
  const sessionWarnings = [...warnings];
  // ranks: rank journals folded into their kernel's runs (src/core/ranks.ts).
  const rankFold = foldRankJournals(records, sessionWarnings);
  records = rankFold.records;
  const warn = (located: ILocatedRecord, reason: string): void => {
    sessionWarnings.push({ file: located.file, line: located.line, reason });
  };

  // Kernel sessions.
  const declaredSession = new Map<string, string>();
  const kernelSessions = new Map<string, IKernelSession>();
  const users = new Set<string>();
  for (const located of records) {
    const r = located.record;
    if (r.type === 'kernel_start') {
      declaredSession.set(located.file, r.session);
      kernelSessions.set(r.session, {
        id: r.session,
        started: r.t,
        kernelId: r.kernel_id,
        hostname: r.hostname,
        python: r.python,
        nbprovVersion: r.nbprov_version,
        user: r.user
      });
      if (r.user) {
        users.add(r.user);
      }
    } else if (r.type === 'page_start' && r.user) {
      users.add(r.user);
    }
  }
  for (const located of records) {
    if (located.file.startsWith('k-')) {
      const id = sessionOfFile(located.file, declaredSession);
      if (!kernelSessions.has(id)) {
        kernelSessions.set(id, {
          id,
          started: located.record.t,
          kernelId: null,
          hostname: '',
          python: '',
          nbprovVersion: '',
          user: ''
        });
      }
    }
  }
  const sessionStart = (id: string | null): string => (id !== null && kernelSessions.get(id)?.started) || '';

  // Executions: kernel first, then join frontend outputs.
  const executions = new Map<string, IExecution>();
  const byMsgId = new Map<string, IExecution>();
  const byCellCount = new Map<string, IExecution>();
  const kernelStarts: { start: IExecStart; execution: IExecution }[] = [];
  const outputsRecords: ILocatedRecord[] = [];
  const kernelOutputRecords: ILocatedRecord[] = [];
  for (const located of records) {
    const r = located.record;
    if (r.type === 'exec_start') {
      if (executions.has(r.exec)) {
        warn(located, `duplicate exec_start for ${r.exec}`);
        continue;
      }
      const execution: IExecution = {
        id: r.exec,
        kernelSession: sessionOfFile(located.file, declaredSession),
        index: execIndex(r.exec),
        msgId: r.msg_id,
        cell: r.cell,
        cellMatch: r.cell === null ? null : (r.cell_match ?? null),
        cellCandidates: r.cell_match === 'ambiguous' ? (r.cell_candidates ?? []) : [],
        cellRole: r.cell_role ?? null,
        count: r.count,
        status: 'incomplete',
        started: r.t,
        ended: null,
        ename: null,
        evalue: null,
        outputs: [],
        outputsFrom: null,
        outputsComplete: true,
        sourceVersion: null,
        ownSource: null
      };
      executions.set(r.exec, execution);
      kernelStarts.push({ start: r, execution });
      if (r.msg_id) {
        byMsgId.set(r.msg_id, execution);
      }
      if (r.cell !== null && r.count !== null) {
        byCellCount.set(`${r.cell}\u0000${r.count}`, execution);
      }
    } else if (r.type === 'exec_output') {
      outputsRecords.push(located);
    } else if (r.type === 'kernel_output') {
      kernelOutputRecords.push(located);
    }
  }
  for (const located of records) {
    const r = located.record;
    if (r.type === 'exec_end') {
      const execution = executions.get(r.exec);
      if (!execution) {
        warn(located, `exec_end without exec_start for ${r.exec}`);
        continue;
      }
      execution.status = r.status;
      execution.ended = r.t;
      execution.ename = r.ename ?? null;
      execution.evalue = r.evalue ?? null;
    }
  }
  let frontendOnly = 0;
  for (const located of outputsRecords) {
    const r = located.record as IExecOutput;
    const joined =
      (r.msg_id !== null ? byMsgId.get(r.msg_id) : undefined) ??
      (r.cell !== null && r.count !== null ? byCellCount.get(`${r.cell}\u0000${r.count}`) : undefined);
    if (joined) {
      joined.outputs = r.outputs;
      joined.outputsFrom = 'page';
      if (joined.status === 'incomplete') {
        joined.status = r.status;
      }
      joined.ended = joined.ended ?? r.ended;
      continue;
    }
    frontendOnly++;
    const id = `f-${r.msg_id ?? frontendOnly}`;
    if (executions.has(id)) {
      warn(located, `duplicate exec_output for ${id}`);
      continue;
    }
    const execution: IExecution = {
      id,
      kernelSession: null,
      index: null,
      msgId: r.msg_id,
      cell: r.cell,
      cellMatch: r.cell === null ? null : 'request',
      cellCandidates: [],
      cellRole: null,
      count: r.count,
      status: r.status,
      started: r.started,
      ended: r.ended,
      ename: null,
      evalue: null,
      outputs: r.outputs,
      outputsFrom: 'page',
      outputsComplete: true,
      sourceVersion: null,
      ownSource: null
    };
    executions.set(id, execution);
    if (r.msg_id) {
      byMsgId.set(r.msg_id, execution);
    }
  }
  // Kernel-captured outputs fill in executions the page did not record to their end (headless runs,
  // a page reload or a server kill while the cell ran); the page's record wins when both exist.
  const kernelOutputs = new Map<string, { items: IOutputItem[]; final: boolean }>();
  for (const located of kernelOutputRecords) {
    const r = located.record as IKernelOutput;
    const execution = executions.get(r.exec);
    if (!execution || execution.kernelSession !== sessionOfFile(located.file, declaredSession)) {
      warn(located, `kernel_output for unknown execution ${r.exec}`);
      continue;
    }
    const state = kernelOutputs.get(r.exec) ?? { items: [], final: false };
    if (r.index > state.items.length) {
      warn(located, `kernel_output for ${r.exec} skips items ${state.items.length} to ${r.index - 1}`);
    }
    state.items = state.items.slice(0, r.index).concat(r.outputs);
    state.final = r.final;
    kernelOutputs.set(r.exec, state);
  }
  for (const [exec, state] of kernelOutputs) {
    const execution = executions.get(exec)!;
    if (execution.outputsFrom === null) {
      execution.outputs = state.items;
      execution.outputsFrom = 'kernel';
      execution.outputsComplete = state.final;
    }
  }
  const orderedExecutions = [...executions.values()].sort((a, b) => {
    const sessionOrder = compareTimes(sessionStart(a.kernelSession) || a.started, sessionStart(b.kernelSession) || b.started);
    if (sessionOrder !== 0) {
      return sessionOrder;
    }
    if (a.kernelSession !== b.kernelSession) {
      return (a.kernelSession ?? '') < (b.kernelSession ?? '') ? -1 : 1;
    }
    return (a.index ?? 0) - (b.index ?? 0) || compareTimes(a.started, b.started);
  });

  // Source versions per cell: kernel exec sources and frontend source records, by time.
  interface ISourceEvent {
    t: string;
    cell: string;
    cellType: string;
    source: string;
    sha256: string;
    execution: IExecution | null;
  }
  const sourceEvents: ISourceEvent[] = [];
  for (const { start, execution } of kernelStarts) {
    if (execution.cell === null) {
      // No cell to version: the exact source stands alone, derived from nothing.
      execution.ownSource = {
        cell: null,
        version: 1,
        cellType: 'code',
        source: start.source,
        sha256: sha256Hex(start.source),
        t: start.t
      };
      continue;
    }
    sourceEvents.push({
      t: start.t,
      cell: execution.cell,
      cellType: 'code',
      source: start.source,
      sha256: sha256Hex(start.source),
      execution
    });
  }
  for (const located of records) {
    const r = located.record;
    if (r.type === 'source') {
      sourceEvents.push({ t: r.t, cell: r.cell, cellType: r.cell_type, source: r.source, sha256: r.sha256, execution: null });
    }
  }
  sourceEvents.sort(byTime); // stable: ties keep file order
  const cells = new Map<string, ISourceVersion[]>();
  for (const event of sourceEvents) {
    let chain = cells.get(event.cell);
    if (!chain) {
      chain = [];
      cells.set(event.cell, chain);
    }
    const last = chain[chain.length - 1];
    if (!last || last.source !== event.source) {
      chain.push({
        cell: event.cell,
        version: chain.length + 1,
        cellType: event.cellType,
        source: event.source,
        sha256: event.sha256,
        t: event.t
      });
    }
    if (event.execution) {
      event.execution.sourceVersion = chain.length;
    }
  }
  // Frontend-only executions ran the cell's latest version at their start.
  for (const execution of orderedExecutions) {
    if (execution.sourceVersion === null && execution.cell !== null && execution.ownSource === null) {
      const chain = cells.get(execution.cell) ?? [];
      const current = chain.filter(v => compareTimes(v.t, execution.started) <= 0).pop();
      execution.sourceVersion = current?.version ?? null;
    }
  }

  // Notebook versions: frontend snapshots, else one per kernel execution (headless).
  const notebookVersions: INotebookVersion[] = [];
  for (const located of records) {
    const r = located.record;
    if (r.type === 'notebook') {
      const previous = notebookVersions[notebookVersions.length - 1];
      if (previous && JSON.stringify(previous.cells.map(c => [c.cell, c.sha256])) === JSON.stringify(r.cells)) {
        continue; // an identical snapshot (re-run without edits) is not a new version
      }
      notebookVersions.push({
        version: 0,
        t: r.t,
        cells: r.cells.map(([cell, sha256]) => ({ cell, sha256 })),
        derived: false
      });
    }
  }
  if (notebookVersions.length === 0) {
    const current = new Map<string, string>();
    for (const execution of orderedExecutions) {
      const version =
        execution.sourceVersion === null || execution.cell === null
          ? undefined
          : cells.get(execution.cell)?.[execution.sourceVersion - 1];
      if (!version || execution.cell === null) {
        continue;
      }
      if (current.get(execution.cell) === version.sha256) {
        continue; // re-running unchanged code does not make a new notebook version
      }
      current.set(execution.cell, version.sha256);
      notebookVersions.push({
        version: 0,
        t: execution.started,
        cells: [...current].map(([cell, sha256]) => ({ cell, sha256 })),
        derived: true
      });
    }
  }
  notebookVersions.sort(byTime);
  notebookVersions.forEach((v, i) => (v.version = i + 1));

  const structure = records
    .map(located => located.record)
    .filter((r): r is IStructure => r.type === 'structure')
    .sort(byTime);

  // Runs.
  const live = new Set(liveSessions);
  const runs = new Map<string, IRunBuilder>();
  for (const located of records) {
    const r = located.record;
    if (!('run' in r) || r.run === null) {
      continue;
    }
    if (!RUN_ID.test(r.run)) {
      warn(located, `${r.type}: run id must be 32 lowercase hex digits`);
      continue;
    }
    if (r.type === 'run_start') {
      if (runs.has(r.run)) {
        warn(located, `duplicate run_start for ${r.run}`);
        continue;
      }
      runs.set(r.run, {
        run: {
          id: r.run,
          name: r.name,
          experiment: r.experiment,
          exec: r.exec,
          kernelSession: sessionOfFile(located.file, declaredSession),
          started: r.t,
          ended: null,
          status: 'crashed',
          ename: null,
          evalue: null,
          energyRequested: r.energy,
          code: r.code,
          params: [],
          contexts: [],
          metrics: [],
          artifacts: [],
          energy: [],
          lostPoints: 0,
          lostReasons: [],
          parent: r.parent,
          tags: {},
          contributingExecs: []
        },
        batches: new Map(),
        ended: false
      });
      continue;
    }
    const builder = runs.get(r.run);
    if (!builder) {
      warn(located, `${r.type} for unknown run ${r.run}`);
      continue;
    }
    const run = builder.run;
    switch (r.type) {
      case 'tag':
        run.tags[r.key] = r.value;
        break;
      case 'run_exec':
        if (!run.contributingExecs.includes(r.exec)) {
          run.contributingExecs.push(r.exec);
        }
        break;
      case 'gap':
        run.lostPoints += r.points;
        if (!run.lostReasons.includes(r.reason)) {
          run.lostReasons.push(r.reason);
        }
        break;
      case 'param': {
        // The last value logged for a key and role wins.
        const index = run.params.findIndex(p => p.key === r.key && p.role === r.role);
        const param = { key: r.key, value: r.value, valueType: r.value_type, role: r.role, t: r.t };
        if (index >= 0) {
          run.params[index] = param;
        } else {
          run.params.push(param);
        }
        break;
      }
      case 'context_start':
        if (run.contexts.some(c => c.ctx === r.ctx)) {
          warn(located, `duplicate context ${r.ctx} in run ${r.run}`);
          break;
        }
        run.contexts.push({
          ctx: r.ctx,
          name: r.name,
          epoch: r.epoch,
          parent: r.parent,
          started: r.t,
          ended: null,
          ...rankOf(r) // ranks
        });
        break;
      case 'context_end': {
        const context = run.contexts.find(c => c.ctx === r.ctx);
        if (context) {
          context.ended = r.t;
        } else {
          warn(located, `context_end for unknown context ${r.ctx}`);
        }
        break;
      }
      case 'metrics':
        if (builder.batches.has(r.batch)) {
          break; // a re-sent batch (e.g. after a reconnect): keep the first copy
        }
        builder.batches.set(r.batch, {
          t: r.t,
          series: r.series.map(s => ({
            metric: s.metric,
            ctx: s.ctx,
            steps: s.steps,
            values: s.values,
            timestamps: s.timestamps,
            epochs: s.epochs,
            ...rankOf(s), // ranks
            ...(s.process === undefined ? {} : { process: s.process })
          }))
        });
        break;
      case 'artifact':
        run.artifacts.push({ path: r.path, name: r.name, sha256: r.sha256, size: r.size, role: r.role, t: r.t });
        break;
      case 'energy':
        run.energy.push({
          scope: r.scope,
          ref: r.ref,
          ctx: r.ctx,
          device: r.device,
          joules: r.joules,
          method: r.method,
          reason: r.reason ?? null,
          resolutionLimited: r.resolution_limited === true,
          t: r.t,
          ...rankOf(r), // ranks
          ...('host' in r && typeof r.host === 'string' ? { host: r.host } : {})
        });
        break;
      case 'run_end':
        builder.ended = true;
        run.status = r.status;
        run.ended = r.t;
        run.ename = r.ename ?? null;
        run.evalue = r.evalue ?? null;
        break;
    }
  }
  const orderedRuns: IRun[] = [];
  for (const builder of [...runs.values()].sort((a, b) => byTime({ t: a.run.started }, { t: b.run.started }))) {
    const run = builder.run;
    if (!builder.ended) {
      run.status = live.has(run.kernelSession) ? 'running' : 'crashed';
    }
    // Series keyed by metric and context, in order of first appearance, batches by number.
    const parts = new Map<string, IMetricSeries[]>();
    for (const batch of [...builder.batches.keys()].sort((a, b) => a - b)) {
      for (const series of builder.batches.get(batch)!.series) {
        const key = `${series.metric}\u0000${series.ctx ?? ''}\u0000${series.process ?? ''}`; // ranks: one series per process
        const list = parts.get(key) ?? [];
        list.push(series);
        parts.set(key, list);
      }
    }
    run.metrics = [...parts.values()].map(concatSeries);
    orderedRuns.push(run);
  }
  mergeRankParts(orderedRuns, rankFold); // ranks

  return {
    users: [...users].sort(),
    kernelSessions: [...kernelSessions.values()].sort((a, b) => compareTimes(a.started, b.started)),
    executions: orderedExecutions,
    cells,
    notebookVersions,
    structure,
    runs: orderedRuns,
    warnings: sessionWarnings
  };
}
