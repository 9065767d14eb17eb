/**
 * The session model the export reads: everything the journal says about one notebook, joined and
 * ordered. `buildSession` is "fold every journal record with the one reducer (core/model.ts), then
 * finalize": joins of page and kernel records, source and notebook versions, runs' series.
 */

import type { IJournalWarning, ILocatedRecord } from './reader';
import {
  applyRecord,
  type IKernelSession,
  type IModel,
  type IParamValue,
  type IRunContext,
  type IRunCore,
  newModel,
  unplacedWarnings
} from './model';
import {
  distinctDeviceEnergy,
  energyTotals,
  type IRankPart,
  type IRunEnergyTotals,
  rankedStatus,
  rankParts,
  settledParts
} from './ranks';
import type { IMetricBatch, IOutputItem, IStructure } from './records';
import { sha256Hex } from './sha256';

export type { IArtifactRecord, IEnergyReading, IKernelSession, IParamValue, IRunContext, RunStatus } from './model';

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
  /** The cell's 0-based position in the notebook file as the kernel read it at the start; null when unknown. */
  kernelCellIndex: number | null;
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

/** What is known of a series without its points: its metric, context, rank process and length. */
export interface ISeriesHead {
  metric: string;
  ctx: number | null;
  rank?: number;
  process?: string;
  points: number;
}

/** A run's whole series of one metric in one context (and rank), its batches joined. */
export type IMetricSeries = Omit<IMetricBatch, 'n'> & ISeriesHead;

/** A finalized run; `M` is its series' form (joined arrays, or the export's spilled series). */
export interface IRun<M extends ISeriesHead = IMetricSeries> extends IRunCore {
  params: IParamValue[];
  contexts: IRunContext[];
  metrics: M[];
  tags: Record<string, string>;
  /** Processes that joined the run (`nbprov.ranks`), by rank; absent when none did. */
  ranks?: IRankPart[];
  /** The rank whose status is the run's (worse than the kernel's own), when one is. */
  statusRank?: number;
  /** Run energy once per physical device, node and in total, when ranks joined. */
  energyTotals?: IRunEnergyTotals;
}

export interface ISession<M extends ISeriesHead = IMetricSeries> {
  /** Users seen in kernel and page records, sorted. */
  users: string[];
  kernelSessions: IKernelSession[];
  executions: IExecution[];
  /** Per cell id, its chain of source versions, cells sorted by first appearance. */
  cells: Map<string, ISourceVersion[]>;
  notebookVersions: INotebookVersion[];
  structure: IStructure[];
  runs: IRun<M>[];
  warnings: IJournalWarning[];
}

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

/** The export's series: the batches as decoded, concatenated once at finalize. */
export type SeriesParts = IMetricBatch[];

const partsSink = {
  create: (): SeriesParts => [],
  append: (parts: SeriesParts, batch: IMetricBatch): void => {
    parts.push(batch);
  }
};

/** A model for the export; fold records into it with `applyRecord`, then `finalizeSession`. */
export function newSessionModel(notebookId: string | null = null): IModel<SeriesParts> {
  return newModel(partsSink, notebookId);
}

/**
 * A series' batches joined into one. The parts are then replaced by the joined series, so the
 * batches can be freed as the next series is joined (peak memory: the points once, plus one
 * series), and finalizing the model again joins nothing twice.
 */
function concatSeries(parts: SeriesParts): IMetricSeries {
  const total = parts.reduce((sum, part) => sum + part.values.length, 0);
  const { metric, ctx, rank, process } = parts[0];
  const head = { metric, ctx, ...(rank === undefined ? {} : { rank, process }), points: total };
  if (parts.length === 1) {
    const [{ steps, values, timestamps, epochs }] = parts;
    return { ...head, steps, values, timestamps, epochs };
  }
  const out: IMetricSeries = {
    ...head,
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
  parts.splice(0, parts.length, { ...out, n: total });
  return out;
}

/** The kernel's series first (in order of appearance), then each rank's, by rank and session. */
function byRank(a: ISeriesHead, b: ISeriesHead): number {
  const rank = (a.rank ?? -1) - (b.rank ?? -1);
  return rank !== 0 ? rank : (a.process ?? '') < (b.process ?? '') ? -1 : (a.process ?? '') > (b.process ?? '') ? 1 : 0;
}

/** A run with the processes that joined it: their parts, the worst status, energy once per device. */
function withRanks<M extends ISeriesHead>(run: IRun<M>, parts: IRankPart[], kernelHost: string): IRun<M> {
  if (parts.length === 0) {
    return run;
  }
  const { status, culprit } = rankedStatus(run.status, parts);
  const energy = distinctDeviceEnergy(run.energy, kernelHost);
  return {
    ...run,
    status,
    ...(culprit === null
      ? {}
      : { statusRank: culprit.rank, ename: culprit.ename ?? run.ename, evalue: culprit.evalue ?? run.evalue }),
    // The kernel's contexts, then each rank's (a rank's are numbered past the kernel's, in file order).
    contexts: [...run.contexts].sort((a, b) => a.ctx - b.ctx),
    ranks: settledParts(parts, run.status),
    energy,
    energyTotals: energyTotals(energy.filter(e => e.scope === 'run'))
  };
}

/** Folds located records (in journal-file order) and finalizes: the export's model of a notebook. */
export function buildSession(
  records: ILocatedRecord[],
  warnings: IJournalWarning[],
  liveSessions: string[] = [],
  notebookId: string | null = null
): ISession {
  const model = newSessionModel(notebookId);
  model.warnings.push(...warnings);
  for (const located of records) {
    applyRecord(model, located);
  }
  return finalizeSession(model, liveSessions);
}

/** The joins and orderings that need every record: run once, after the last journal is folded. */
export function finalizeSession(model: IModel<SeriesParts>, liveSessions: string[] = []): ISession {
  return finalizeSessionWith(model, liveSessions, concatSeries);
}

/** `finalizeSession` for any series sink: `finish` turns a folded series into the session's form. */
export function finalizeSessionWith<S, M extends ISeriesHead>(
  model: IModel<S>,
  liveSessions: string[],
  finish: (series: S) => M
): ISession<M> {
  const sessionWarnings = [...model.warnings, ...unplacedWarnings(model)];
  const warn = (located: ILocatedRecord, reason: string): void => {
    sessionWarnings.push({ file: located.file, line: located.line, reason });
  };
  const sessionStart = (id: string | null): string => (id !== null && model.kernelSessions.get(id)?.started) || '';

  // Executions: kernel first, then join frontend outputs.
  const executions = new Map<string, IExecution>();
  const byMsgId = new Map<string, IExecution>();
  const byCellCount = new Map<string, IExecution>();
  const kernelStarts: { source: string; t: string; execution: IExecution }[] = [];
  for (const state of model.executions.values()) {
    const r = state.start;
    const execution: IExecution = {
      id: r.exec,
      kernelSession: state.kernelSession,
      index: execIndex(r.exec),
      msgId: r.msg_id,
      cell: r.cell,
      cellMatch: r.cell === null ? null : (r.cell_match ?? null),
      cellCandidates: r.cell_match === 'ambiguous' ? (r.cell_candidates ?? []) : [],
      cellRole: r.cell_role ?? null,
      kernelCellIndex: r.cell_index ?? null,
      count: r.count,
      status: state.status,
      started: r.t,
      ended: state.ended,
      ename: state.ename,
      evalue: state.evalue,
      outputs: [],
      outputsFrom: null,
      outputsComplete: true,
      sourceVersion: null,
      ownSource: null
    };
    executions.set(r.exec, execution);
    kernelStarts.push({ source: r.source, t: r.t, execution });
    if (r.msg_id) {
      byMsgId.set(r.msg_id, execution);
    }
    if (r.cell !== null && r.count !== null) {
      byCellCount.set(`${r.cell}\u0000${r.count}`, execution);
    }
  }
  let frontendOnly = 0;
  for (const { located, record: r } of model.pageOutputs) {
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
      kernelCellIndex: null,
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
  for (const state of model.executions.values()) {
    const execution = executions.get(state.id)!;
    if (state.kernelOutputs !== null && execution.outputsFrom === null) {
      execution.outputs = state.kernelOutputs;
      execution.outputsFrom = 'kernel';
      execution.outputsComplete = state.kernelOutputsFinal;
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
  for (const { source, t, execution } of kernelStarts) {
    if (execution.cell === null) {
      // No cell to version: the exact source stands alone, derived from nothing.
      execution.ownSource = { cell: null, version: 1, cellType: 'code', source, sha256: sha256Hex(source), t };
      continue;
    }
    sourceEvents.push({ t, cell: execution.cell, cellType: 'code', source, sha256: sha256Hex(source), execution });
  }
  for (const r of model.sources) {
    sourceEvents.push({ t: r.t, cell: r.cell, cellType: r.cell_type, source: r.source, sha256: r.sha256, execution: null });
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
  for (const r of model.notebooks) {
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

  // Runs: a run without its run_end is running while its kernel session lives, else crashed.
  const live = new Set(liveSessions);
  const runs: IRun<M>[] = [...model.runs.values()]
    .sort((a, b) => compareTimes(a.started, b.started))
    .map(run => ({
      id: run.id,
      name: run.name,
      experiment: run.experiment,
      exec: run.exec,
      kernelSession: run.kernelSession,
      started: run.started,
      ended: run.ended,
      status: run.status === 'running' && !live.has(run.kernelSession) ? 'crashed' : run.status,
      ename: run.ename,
      evalue: run.evalue,
      energyRequested: run.energyRequested,
      code: run.code,
      codeSha256: run.codeSha256,
      codeUnavailable: run.codeUnavailable,
      params: [...run.params.values()],
      contexts: [...run.contexts.values()],
      metrics: [...run.series.values()].map(finish).sort(byRank),
      artifacts: run.artifacts,
      energy: run.energy,
      lostPoints: run.lostPoints,
      lostReasons: run.lostReasons,
      parent: run.parent,
      tags: Object.fromEntries(run.tags),
      contributingExecs: run.contributingExecs
    }))
    .map(run => withRanks(run, rankParts(model.rankPlaces, run.id), model.kernelSessions.get(run.kernelSession)?.hostname ?? ''));

  return {
    users: [...model.users].sort(),
    kernelSessions: [...model.kernelSessions.values()].sort((a, b) => compareTimes(a.started, b.started)),
    executions: orderedExecutions,
    cells,
    notebookVersions,
    structure: [...model.structure].sort(byTime),
    runs,
    warnings: sessionWarnings
  };
}
