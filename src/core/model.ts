/**
 * The one reducer: `applyRecord(model, located)` folds validated records, one at a time and in any
 * amount, into the model of a notebook's history. The export (`buildSession`: fold every journal,
 * then finalize) and the page's run store (`RunStore`: fold live, with chunked typed arrays and
 * signals) both wrap it, so what the widget shows and what the export writes cannot disagree.
 *
 * Pure. Metric points go to a series sink the caller chooses (parts concatenated at the end for the
 * export, growable chunks for the store). Keys are plain strings built by `seriesKey` / `paramKey`
 * so that a rank can join them later without changing the reducer's shape.
 */

import {
  codeStateSha256,
  type ICodeState,
  type IExecOutput,
  type IExecStart,
  type IMetricBatch,
  type INotebookSnapshot,
  type ISourceRecord,
  type IStructure,
  type JournalRecord,
  journalRankOf,
  kernelSessionOf,
  pageSessionOf
} from './records';
import { joinRank, placeRankRecord, type RankPlaces } from './ranks';
import type { ParamValueType } from './params';
import type { IJournalWarning, ILocatedRecord } from './reader';

export interface IKernelSession {
  id: string;
  /** Time of `kernel_start`, or of the first record of the file when that line was lost. */
  started: string;
  kernelId: string | null;
  hostname: string;
  python: string;
  nbprovVersion: string;
  user: string;
  /** The notebook's file name as the kernel knew it ('' when its `kernel_start` was lost). */
  notebook: string;
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

export interface IArtifactRecord {
  path: string;
  name: string;
  sha256: string;
  size: number;
  role: 'input' | 'output';
  /** Media type of a stored artifact (`log_text`, `log_dict`, `log_figure`), else null. */
  mediaType: string | null;
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
  /** Where a rank process measured it (absent: the kernel, on its host); see `core/ranks.ts`. */
  host?: string;
  rank?: number;
}

export type RunStatus = 'finished' | 'failed' | 'interrupted' | 'crashed' | 'running';

/** What a run holds alike while it is folded (`IRunState`) and once finalized (`session.ts` `IRun`). */
export interface IRunCore {
  /** 32 lowercase hex digits (validated: it names a Zarr group). */
  id: string;
  /** As logged; '' for an unnamed run (see `runDisplayName`). */
  name: string;
  experiment: string;
  exec: string | null;
  kernelSession: string;
  started: string;
  ended: string | null;
  /** `running` until its `run_end`; the export finalizes a run of a dead session to `crashed`. */
  status: RunStatus;
  ename: string | null;
  evalue: string | null;
  energyRequested: boolean;
  /** The run's code state, shared by every run that has the same (`codeStates`); null when none. */
  code: ICodeState | null;
  /** The key of `code` in `IModel.codeStates`, or null. */
  codeSha256: string | null;
  /** Why a code state the run names cannot be shown (its `code_state` record is not in the run's file), else null. */
  codeUnavailable: string | null;
  artifacts: IArtifactRecord[];
  energy: IEnergyReading[];
  /** Metric points the kernel logged but could not keep (its disk refused them beyond its memory bound). */
  lostPoints: number;
  lostReasons: string[];
  parent: string | null;
  /** Later cell executions that logged into the run (it was open across cells). */
  contributingExecs: string[];
}

/** A run while it is folded; `S` is the sink's series type. */
export interface IRunState<S> extends IRunCore {
  /** Keyed by `paramKey(key, role)`: an output `lr` never hides the input `lr`. */
  params: Map<string, IParamValue>;
  contexts: Map<number, IRunContext>;
  /** Keyed by `seriesKey(metric, ctx, rank session)`, in order of first appearance. */
  series: Map<string, S>;
  tags: Map<string, string>;
  /** Metric batch numbers applied: a batch that arrives twice is folded once. */
  batches: Set<number>;
}

export interface IExecutionState {
  /** Kernel exec id (`<session>-<n>`). */
  id: string;
  kernelSession: string;
  start: IExecStart;
  status: string;
  ended: string | null;
  ename: string | null;
  evalue: string | null;
  /** What the kernel captured of the outputs (`kernel_output`), and whether through the end. */
  kernelOutputs: IExecOutput['outputs'] | null;
  kernelOutputsFinal: boolean;
}

/** Where a `metrics` record's points go. */
export interface ISeriesSink<S> {
  /** `batch` is the first of the series (its metric, context, and a rank process's rank). */
  create(batch: IMetricBatch): S;
  append(series: S, batch: IMetricBatch): void;
}

export interface IModel<S> {
  readonly sink: ISeriesSink<S>;
  /** The notebook's identity: a journal that names another is reported and left out (null: not checked). */
  readonly notebookId: string | null;
  users: Set<string>;
  kernelSessions: Map<string, IKernelSession>;
  executions: Map<string, IExecutionState>;
  runs: Map<string, IRunState<S>>;
  /** Page records, joined with the kernel's at finalize (page files sort before kernel files). */
  pageOutputs: { located: ILocatedRecord; record: IExecOutput }[];
  sources: ISourceRecord[];
  notebooks: INotebookSnapshot[];
  structure: IStructure[];
  warnings: IJournalWarning[];
  /** Run records seen before their `run_start` (a crash-recovery `run_end` in a file sorting first). */
  pendingRunRecords: Map<string, ILocatedRecord[]>;
  /** Per file: its kernel session (declared by `kernel_start`, else the file name's). */
  fileSessions: Map<string, string>;
  /** Per kernel session: the file that holds it. A second file declaring it is a copy. */
  sessionFiles: Map<string, string>;
  /** Files left out (a copy of another file, another notebook's journal), with why. */
  skippedFiles: Map<string, string>;
  /** Page sessions whose `page_start` named another notebook: their later segments are left out too. */
  foreignPages: Map<string, string>;
  /** Records folded (left-out files' not counted). */
  folded: number;
  /** Rank processes that joined runs, by their session (`core/ranks.ts`). */
  rankPlaces: RankPlaces;
  /** Distinct code states by content key (`code_state` records, and old inline `run_start.code`). */
  codeStates: Map<string, ICodeState>;
  /** Per file: the keys of the code states it holds (a run finds its code state in its own file only). */
  fileCodeStates: Map<string, Set<string>>;
}

export function newModel<S>(sink: ISeriesSink<S>, notebookId: string | null = null): IModel<S> {
  return {
    sink,
    notebookId,
    users: new Set(),
    kernelSessions: new Map(),
    executions: new Map(),
    runs: new Map(),
    pageOutputs: [],
    sources: [],
    notebooks: [],
    structure: [],
    warnings: [],
    pendingRunRecords: new Map(),
    fileSessions: new Map(),
    sessionFiles: new Map(),
    skippedFiles: new Map(),
    foreignPages: new Map(),
    folded: 0,
    rankPlaces: new Map(),
    codeStates: new Map(),
    fileCodeStates: new Map()
  };
}

/** Key of a series within a run; a rank process's series are its own (`process`: its session). */
export function seriesKey(metric: string, ctx: number | null, process?: string): string {
  const key = ctx === null ? metric : `${metric}\u0000${ctx}`;
  return process === undefined ? key : `${key}\u0000r${process}`;
}

/** Key of a param within a run: the key for an input, the key and its role for an output. */
export function paramKey(key: string, role: 'input' | 'output'): string {
  return role === 'input' ? key : `${key}\u0000output`;
}

/** How a param is labelled: its key, marked when it is an output (it sits beside the input of that key). */
export function paramLabel(param: { key: string; role: 'input' | 'output' }): string {
  return param.role === 'input' ? param.key : `${param.key} (output)`;
}

/** The name a run shows: its own, else its id's first 8 digits (the same live and after a reload). */
export function runDisplayName(run: { id: string; name: string }): string {
  return run.name || run.id.slice(0, 8);
}

function warn(model: IModel<unknown>, located: ILocatedRecord, reason: string): void {
  model.warnings.push({ file: located.file, line: located.line, reason });
}

/** Session of the kernel file a record came from: `kernel_start.session`, else the file stem. */
function sessionOfFile(model: IModel<unknown>, file: string): string {
  return model.fileSessions.get(file) ?? kernelSessionOf(file) ?? file.replace(/^k-/, '').replace(/\.jsonl$/, '');
}

/**
 * Folds one record into the model. Returns false when the record was left out (its file is a copy
 * or another notebook's; the reason is in `warnings` once per file).
 */
export function applyRecord<S>(model: IModel<S>, given: ILocatedRecord): boolean {
  const { file } = given;
  if (model.skippedFiles.has(file)) {
    return false;
  }
  const located = placeRank(model, given);
  if (located === null) {
    return false;
  }
  const r = located.record;
  const page = pageSessionOf(file);
  const skip =
    r.type === 'kernel_start' || r.type === 'page_start'
      ? leaveOut(model, located)
      : page !== null && model.foreignPages.has(page)
        ? model.foreignPages.get(page)!
        : null;
  if (skip !== null) {
    model.skippedFiles.set(file, skip);
    if (r.type === 'page_start' && page !== null) {
      model.foreignPages.set(page, skip);
    }
    warn(model, located, `file left out: ${skip}`);
    return false;
  }
  model.folded++;
  const kernelFile = kernelSessionOf(file) !== null;
  if (kernelFile && !model.fileSessions.has(file)) {
    const session = r.type === 'kernel_start' ? r.session : sessionOfFile(model, file);
    model.fileSessions.set(file, session);
    if (!model.sessionFiles.has(session)) {
      model.sessionFiles.set(session, file);
    }
    if (!model.kernelSessions.has(session)) {
      model.kernelSessions.set(session, {
        id: session,
        started: r.t,
        kernelId: null,
        hostname: '',
        python: '',
        nbprovVersion: '',
        user: '',
        notebook: ''
      });
    }
  }
  switch (r.type) {
    case 'kernel_start':
      if (r.rank !== undefined) {
        joinRank(model.rankPlaces, { ...r, rank: r.rank }, located, model.warnings);
      }
      model.kernelSessions.set(r.session, {
        id: r.session,
        started: r.t,
        kernelId: r.kernel_id,
        hostname: r.hostname,
        python: r.python,
        nbprovVersion: r.nbprov_version,
        user: r.user,
        notebook: r.notebook
      });
      if (r.user) {
        model.users.add(r.user);
      }
      return true;
    case 'page_start':
      if (r.user) {
        model.users.add(r.user);
      }
      return true;
    case 'exec_start':
      if (model.executions.has(r.exec)) {
        warn(model, located, `duplicate exec_start for ${r.exec}`);
        return true;
      }
      model.executions.set(r.exec, {
        id: r.exec,
        kernelSession: sessionOfFile(model, file),
        start: r,
        status: 'incomplete',
        ended: null,
        ename: null,
        evalue: null,
        kernelOutputs: null,
        kernelOutputsFinal: false
      });
      return true;
    case 'exec_end': {
      const execution = model.executions.get(r.exec);
      if (!execution) {
        warn(model, located, `exec_end without exec_start for ${r.exec}`);
        return true;
      }
      execution.status = r.status;
      execution.ended = r.t;
      execution.ename = r.ename ?? null;
      execution.evalue = r.evalue ?? null;
      return true;
    }
    case 'kernel_output': {
      const execution = model.executions.get(r.exec);
      if (!execution || execution.kernelSession !== sessionOfFile(model, file)) {
        warn(model, located, `kernel_output for unknown execution ${r.exec}`);
        return true;
      }
      const items = execution.kernelOutputs ?? [];
      if (r.index > items.length) {
        warn(model, located, `kernel_output for ${r.exec} skips items ${items.length} to ${r.index - 1}`);
      }
      execution.kernelOutputs = items.slice(0, r.index).concat(r.outputs);
      execution.kernelOutputsFinal = r.final;
      return true;
    }
    case 'exec_output':
      model.pageOutputs.push({ located, record: r });
      return true;
    case 'source':
      model.sources.push(r);
      return true;
    case 'notebook':
      model.notebooks.push(r);
      return true;
    case 'structure':
      model.structure.push(r);
      return true;
    case 'code_state':
      holdCodeState(model, file, r.sha256, r.code);
      return true;
    default:
      if ('run' in r && r.run !== null) {
        applyRunRecord(model, located, r);
      }
      return true;
  }
}

/**
 * A rank process's record moved into its run (`core/ranks.ts`), the record itself for any other
 * session's, or null when it stays out (the reason is in `warnings`). A rank journal whose
 * `kernel_start` was lost cannot be placed, and must not pass for a kernel's: it is left out.
 */
function placeRank<S>(model: IModel<S>, located: ILocatedRecord): ILocatedRecord | null {
  const { file, record: r } = located;
  if (r.type === 'kernel_start') {
    return located;
  }
  const session = kernelSessionOf(file) === null ? null : sessionOfFile(model, file);
  const place = session === null ? undefined : model.rankPlaces.get(session);
  if (place === undefined) {
    if (journalRankOf(file) !== null) {
      const reason = 'it is a rank journal without a readable kernel_start';
      model.skippedFiles.set(file, reason);
      warn(model, located, `file left out: ${reason}`);
      return null;
    }
    return located;
  }
  const record = placeRankRecord(place, located, model.warnings);
  return record === null ? null : record === r ? located : { ...located, record };
}

/** Why a file is left out, judged on its `kernel_start` / `page_start`, or null to fold it. */
function leaveOut(model: IModel<unknown>, located: ILocatedRecord): string | null {
  const r = located.record;
  if (r.type !== 'kernel_start' && r.type !== 'page_start') {
    return null;
  }
  if (model.notebookId !== null && r.notebook_id !== null && r.notebook_id !== model.notebookId) {
    return `it is the journal of another notebook (${r.notebook || 'unnamed'}, id ${r.notebook_id})`;
  }
  if (r.type === 'kernel_start') {
    const holder = model.sessionFiles.get(r.session);
    if (holder !== undefined && holder !== located.file) {
      return `it repeats kernel session ${r.session}, already read from ${holder}`;
    }
  }
  return null;
}

type RunRecord = Extract<JournalRecord, { run: string | null }>;

/** Keeps a code state once (a duplicate record, or the same state in another file, is not kept again). */
function holdCodeState(model: IModel<unknown>, file: string, key: string, code: ICodeState): void {
  if (!model.codeStates.has(key)) {
    model.codeStates.set(key, code);
  }
  let held = model.fileCodeStates.get(file);
  if (held === undefined) {
    held = new Set();
    model.fileCodeStates.set(file, held);
  }
  held.add(key);
}

/** A run_start's code state: named by key (in the same file), or inline (journals before `code_state`). */
function codeOfRunStart(
  model: IModel<unknown>,
  located: ILocatedRecord,
  r: Extract<JournalRecord, { type: 'run_start' }>
): Pick<IRunCore, 'code' | 'codeSha256' | 'codeUnavailable'> {
  if (r.code_sha256 === null && r.code !== null) {
    const key = codeStateSha256(r.code);
    holdCodeState(model, located.file, key, r.code);
    return { code: model.codeStates.get(key)!, codeSha256: key, codeUnavailable: null };
  }
  if (r.code_sha256 === null) {
    return { code: null, codeSha256: null, codeUnavailable: null };
  }
  if (model.fileCodeStates.get(located.file)?.has(r.code_sha256)) {
    return { code: model.codeStates.get(r.code_sha256)!, codeSha256: r.code_sha256, codeUnavailable: null };
  }
  const reason = `code state ${r.code_sha256.slice(0, 12)} is not in ${located.file}, the journal file that started the run`;
  warn(model, located, `run ${r.run}: ${reason}`);
  return { code: null, codeSha256: null, codeUnavailable: reason };
}

function applyRunRecord<S>(model: IModel<S>, located: ILocatedRecord, r: RunRecord): void {
  const id = r.run as string;
  if (r.type === 'run_start') {
    if (model.runs.has(id)) {
      warn(model, located, `duplicate run_start for ${id}`);
      return;
    }
    model.runs.set(id, {
      id,
      name: r.name,
      experiment: r.experiment,
      exec: r.exec,
      kernelSession: sessionOfFile(model, located.file),
      started: r.t,
      ended: null,
      status: 'running',
      ename: null,
      evalue: null,
      energyRequested: r.energy,
      ...codeOfRunStart(model, located, r),
      params: new Map(),
      contexts: new Map(),
      series: new Map(),
      artifacts: [],
      energy: [],
      lostPoints: 0,
      lostReasons: [],
      parent: r.parent,
      tags: new Map(),
      contributingExecs: [],
      batches: new Set()
    });
    // Records of this run read before its start (a later kernel's crash recovery in a file sorting first).
    const pending = model.pendingRunRecords.get(id);
    model.pendingRunRecords.delete(id);
    for (const early of pending ?? []) {
      applyRunRecord(model, early, early.record as RunRecord);
    }
    return;
  }
  const run = model.runs.get(id);
  if (!run) {
    const pending = model.pendingRunRecords.get(id) ?? [];
    pending.push(located);
    model.pendingRunRecords.set(id, pending);
    return;
  }
  switch (r.type) {
    case 'tag':
      run.tags.set(r.key, r.value);
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
      // Parameters are logged once: a rank's is kept only where the run has none of that key.
      const key = paramKey(r.key, r.role);
      const known = run.params.get(key);
      if (known !== undefined && model.rankPlaces.has(sessionOfFile(model, located.file))) {
        if (known.value !== r.value) {
          warn(
            model,
            located,
            `a rank logged ${r.role} parameter ${JSON.stringify(r.key)} with another value than the run has: the first is kept`
          );
        }
        break;
      }
      // The last value logged for a key and role wins.
      run.params.set(paramKey(r.key, r.role), {
        key: r.key,
        value: r.value,
        valueType: r.value_type,
        role: r.role,
        t: r.t
      });
      break;
    }
    case 'context_start':
      if (run.contexts.has(r.ctx)) {
        warn(model, located, `duplicate context ${r.ctx} in run ${id}`);
        break;
      }
      run.contexts.set(r.ctx, {
        ctx: r.ctx,
        name: r.name,
        epoch: r.epoch,
        parent: r.parent,
        started: r.t,
        ended: null,
        ...(r.rank === undefined ? {} : { rank: r.rank })
      });
      break;
    case 'context_end': {
      const context = run.contexts.get(r.ctx);
      if (context) {
        context.ended = r.t;
      } else {
        warn(model, located, `context_end for unknown context ${r.ctx}`);
      }
      break;
    }
    case 'metrics':
      if (run.batches.has(r.batch)) {
        break; // a re-sent batch (a reconnect, a copied journal): keep the first copy
      }
      run.batches.add(r.batch);
      for (const batch of r.series) {
        const key = seriesKey(batch.metric, batch.ctx, batch.process);
        let series = run.series.get(key);
        if (series === undefined) {
          series = model.sink.create(batch);
          run.series.set(key, series);
        }
        model.sink.append(series, batch);
      }
      break;
    case 'artifact':
      run.artifacts.push({
        path: r.path,
        name: r.name,
        sha256: r.sha256,
        size: r.size,
        role: r.role,
        mediaType: r.media_type ?? null,
        t: r.t
      });
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
        ...(r.host === undefined ? {} : { host: r.host }),
        ...(r.rank === undefined ? {} : { rank: r.rank })
      });
      break;
    case 'run_end':
      run.status = r.status;
      run.ended = r.t;
      run.ename = r.ename ?? null;
      run.evalue = r.evalue ?? null;
      break;
  }
}

/** Warnings for what the fold could not place once every journal is read (records of runs never started). */
export function unplacedWarnings(model: IModel<unknown>): IJournalWarning[] {
  const warnings: IJournalWarning[] = [];
  const rankSessionOfFile = (file: string): string | null => {
    const session = kernelSessionOf(file) === null ? null : sessionOfFile(model, file);
    return session !== null && model.rankPlaces.has(session) ? session : null;
  };
  const reported = new Set<string>();
  for (const [id, records] of model.pendingRunRecords) {
    for (const { file, line, record } of records) {
      const rankSession = rankSessionOfFile(file);
      if (rankSession === null) {
        warnings.push({ file, line, reason: `${record.type} for unknown run ${id}` });
      } else if (!reported.has(rankSession)) {
        // Another run's rank journal in the folder: said once, not once per record.
        reported.add(rankSession);
        warnings.push({
          file,
          line: 0,
          reason: `rank journal of run ${id}, which no kernel journal here starts (another run's): ignored`
        });
      }
    }
  }
  return warnings;
}
