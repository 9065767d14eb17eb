import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import type { IArtifactRecord, IEnergyReading, IParamValue, IRunContext as IContextState, RunStatus } from './core/model';
import type { ICodeState } from './core/records';

/** Status of a training run, as the kernel journal records it (or `crashed` when its kernel died). */
export type { RunStatus };

/** A parameter logged on a run (the reducer's, core/model.ts: one declaration for the UI and the export). */
export type IRunParam = IParamValue;

/** A file a run logged (`log_artifact`) or saved (`log_text`, `log_dict`, `log_figure`). */
export type IRunArtifact = IArtifactRecord;

/** A context (training / validation / testing / any user name) opened inside a run. */
export type IRunContext = IContextState;

/** One energy figure of a run, context, epoch or cell; `joules` is null when unavailable. */
export type IEnergyFigure = IEnergyReading;

/** A read-only view of one metric series held by the run store. */
export interface IMetricSeries {
  /** Metric name as logged (any string; render as text only). */
  readonly metric: string;
  /** Context id within the run, or null. */
  readonly ctx: number | null;
  /** The rank process that logged it (`nbprov.ranks`); undefined for the kernel's own. */
  readonly rank?: number;
  /** Number of points. */
  readonly length: number;
  step(i: number): number;
  value(i: number): number;
  timestamp(i: number): number;
  epoch(i: number): number;
  /**
   * Points [start, end) as typed arrays (for export and reduction): views of the store's own
   * where they lie in one of its chunks, else copies. Read only: a view is the stored series.
   */
  slice(start: number, end: number): { steps: Float64Array | Int32Array; values: Float64Array; timestamps: Float64Array };
}

/** A run as the store holds it. */
export interface IRun {
  readonly id: string;
  readonly name: string;
  readonly experiment: string;
  readonly status: RunStatus;
  /** Start and end, ms since the epoch; end is null while running. */
  readonly start: number;
  readonly end: number | null;
  /** Kernel session and execution id that ran it. */
  readonly session: string;
  readonly exec: string | null;
  /** Keyed by `paramKey(key, role)`: an input and an output of the same key are two params. */
  readonly params: ReadonlyMap<string, IRunParam>;
  readonly contexts: ReadonlyMap<number, IRunContext>;
  /** Series keyed by `seriesKey(metric, ctx)`. */
  readonly series: ReadonlyMap<string, IMetricSeries>;
  readonly energy: readonly IEnergyFigure[];
  /** Code state at run start (one object for every run that had the same), or null when not recorded. */
  readonly code: ICodeState | null;
  /** Why the code state the run names cannot be shown, when it cannot (see `IRunCore.codeUnavailable`). */
  readonly codeUnavailable?: string | null;
  readonly error: { ename: string; evalue: string } | null;
  /** Points logged but not kept: the kernel's disk refused them beyond its memory buffer (`gap` records). */
  readonly lost: { readonly points: number; readonly reason: string } | null;
  /** The run this one is nested in (a sweep's parent), or null. */
  readonly parent: string | null;
  /** Tags set at the start or later (`run.set_tag`); the last value of a key wins. */
  readonly tags: ReadonlyMap<string, string>;
  readonly artifacts: readonly IRunArtifact[];
  /** The notebook it ran in, when the store holds several notebooks' runs (the runs panel's folder modes). */
  readonly notebook: string | null;
}

/** Status of a cell execution as the kernel journal records it. */
export type ExecutionStatus = 'running' | 'ok' | 'error' | 'interrupted';

/** A cell execution recorded by the kernel. */
export interface IExecution {
  /** `<kernel session>-<n>`. */
  readonly id: string;
  readonly cell: string | null;
  readonly count: number | null;
  readonly source: string;
  readonly status: ExecutionStatus;
  /** ms since the epoch; end is null while running. */
  readonly start: number;
  readonly end: number | null;
}

/** What changed in the store. */
export type RunStoreChange =
  | { kind: 'run'; runId: string }
  | { kind: 'exec'; exec: string }
  | { kind: 'points'; runId: string; seriesKey: string; from: number };

/**
 * The frontend run store: experiments -> runs -> contexts -> metric series, fed by the
 * journal and the live comm, read by the widget, the side panel and the export.
 */
export interface IRunStore {
  readonly runs: ReadonlyMap<string, IRun>;
  /** Cell executions by id, in the order they started. */
  readonly executions: ReadonlyMap<string, IExecution>;
  /** Emitted after each applied batch of records. */
  readonly changed: ISignal<IRunStore, readonly RunStoreChange[]>;
  /** Number of metric points held, over all runs. */
  readonly pointCount: number;
}

/** What `INbprovTracker.revealCell` found. */
export type CellReveal =
  /** The cell was scrolled into view and highlighted; `source` is its source now. */
  | { readonly status: 'shown'; readonly source: string }
  /** The notebook is open and has no cell with that id any more. */
  | { readonly status: 'deleted' }
  /** The notebook could not be opened or shown (`reason` says why, for people). */
  | { readonly status: 'unavailable'; readonly reason: string };

/** Provides the run store of each notebook, by notebook path. */
export interface INbprovTracker {
  /** The store of a notebook (created empty on first request). */
  storeFor(notebookPath: string): IRunStore;
  /** The store fed by a kernel session (from the kernel's `hello`), if that session was seen. */
  storeForSession(session: string): IRunStore | undefined;
  /** Path of the notebook currently focused in the lab, or null. */
  readonly currentNotebook: string | null;
  /** Emitted when the focused notebook changes. */
  readonly currentChanged: ISignal<INbprovTracker, string | null>;
  /** Emitted when a notebook's kernel session becomes known or is lost (see `storeForSession`). */
  readonly sessionsChanged: ISignal<INbprovTracker, void>;
  /**
   * The runs of every notebook with a `.prov` folder in `folder` ('' is the server root), and below
   * it when `recursive`, read from their journals into a new store (a snapshot: scan again to refresh).
   */
  scanRuns(folder: string, recursive: boolean): Promise<IProjectRuns>;
  /** The notebook whose store this is (`storeFor`'s), or null for a store of several (`scanRuns`). */
  notebookOf(store: IRunStore): string | null;
  /**
   * Opens the notebook if needed, activates it, scrolls to the cell with this id and highlights it.
   * The view reaches the lab's notebooks only through this.
   */
  revealCell(notebookPath: string, cellId: string): Promise<CellReveal>;
}

/** The result of `INbprovTracker.scanRuns`. */
export interface IProjectRuns {
  readonly store: IRunStore;
  /** Notebooks whose history was read. */
  readonly notebooks: readonly string[];
  /** `.prov` folders that could not be read, or only in part (damaged lines), with why. */
  readonly skipped: readonly { folder: string; reason: string }[];
  /** True when the scan stopped early (too many folders below `folder`). */
  readonly truncated: boolean;
}

export const INbprovTracker = new Token<INbprovTracker>(
  'nbprov:INbprovTracker',
  'Provenance tracking of notebooks: run stores and journals.'
);

export { paramKey, paramLabel, seriesKey } from './core/model';

/** Command ids users see. */
export const CommandIDs = {
  export: 'nbprov:export',
  openRuns: 'nbprov:open-runs',
  /** Records or pauses the current notebook; returns its new state. */
  toggleRecording: 'nbprov:toggle-recording',
  /** Deletes the current notebook's recorded history after a confirmation dialog; returns what it removed. */
  forgetHistory: 'nbprov:forget-history',
  /** Returns the current notebook's runs with their series as plain data (for tests and scripts). */
  runs: 'nbprov:runs'
} as const;
