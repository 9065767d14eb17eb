/**
 * The runs widget's output (`RUNS_MIME`, written by the kernel's `nbprov/widget.py`) in a notebook.
 *
 * The renderer shows the live widget through the notebook's widget manager (the renderer that
 * @jupyter-widgets/jupyterlab-manager puts on the notebook's rendermime for the widget-view type)
 * when its model exists. When it does not (the notebook was reopened, the kernel restarted or shut
 * down), it shows the runs summary from the notebook's run store and a button to the runs panel,
 * never ipywidgets' "Error displaying widget: model not found" or an endless "Loading widget...".
 *
 * `refreshSavedSummaries` rewrites each such output's `text/html` summary from the run store when
 * the notebook is saved, so the file carries the runs as they are then.
 */
import type { ICodeCellModel } from '@jupyterlab/cells';
import type { INotebookModel } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';
import { trans } from '../i18n';
import { INbprovTracker, IRun, IRunStore } from '../tokens';
import { element } from './dom';
import { runIdentities } from './runidentity';
import { RUNS_MIME, runsSummary, summaryHtml } from './summary';

export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';
/** Before text/html (rank 100); the widget view's own renderer has -10 (lower ranks win). */
export const RUNS_RENDERER_RANK = -10;
/** The class of the runs widget's view element (`RunsView` in ./index.ts): the live view is shown. */
const LIVE_VIEW_SELECTOR = '.nbprov-widget';

/** What a runs output holds: the widget view's reference plus what it shows. */
export interface IRunsOutputData {
  readonly model_id: string;
  readonly version_major: number;
  readonly version_minor: number;
  readonly session: string;
  readonly run_ids: readonly string[];
}

/** The output's data when well formed, else null (a damaged or hand-edited notebook). */
export function parseRunsOutput(value: unknown): IRunsOutputData | null {
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const data = value as Record<string, unknown>;
  const ok =
    typeof data.model_id === 'string' &&
    typeof data.version_major === 'number' &&
    typeof data.version_minor === 'number' &&
    typeof data.session === 'string' &&
    Array.isArray(data.run_ids) &&
    data.run_ids.every(id => typeof id === 'string');
  return ok ? (data as unknown as IRunsOutputData) : null;
}

/** What the renderer needs from the lab: the tracker, the notebook's path, the runs panel command. */
export interface IRunsOutputHost {
  readonly tracker: INbprovTracker;
  notebookPath(): string;
  openRunsPanel(): void;
}

/** The store holding an output's runs (its kernel session's, else its notebook's) and those runs. */
function outputRuns(host: IRunsOutputHost, data: IRunsOutputData): { store: IRunStore; runs: IRun[] } {
  const store = host.tracker.storeForSession(data.session) ?? host.tracker.storeFor(host.notebookPath());
  const all = Array.from(store.runs.values());
  const ids = new Set(data.run_ids);
  return { store, runs: ids.size ? all.filter(run => ids.has(run.id)) : all };
}

function labelsOf(store: IRunStore): Map<string, string> {
  return new Map(Array.from(runIdentities(store.runs.values()), ([id, identity]) => [id, identity.label]));
}

export function runsRendererFactory(rendermime: IRenderMimeRegistry, host: IRunsOutputHost): IRenderMime.IRendererFactory {
  return {
    safe: false,
    mimeTypes: [RUNS_MIME],
    defaultRank: RUNS_RENDERER_RANK,
    createRenderer: () => new RunsOutput(rendermime, host)
  };
}

/** Sets the `text/html` summary of every runs output of the notebook from the run store. */
export function refreshSavedSummaries(model: INotebookModel, host: IRunsOutputHost): void {
  for (const cell of model.cells) {
    if (cell.type !== 'code') {
      continue;
    }
    const outputs = (cell as ICodeCellModel).outputs;
    for (let index = 0; index < outputs.length; index++) {
      const output = outputs.get(index);
      const data = parseRunsOutput(output.data[RUNS_MIME]);
      if (!data) {
        continue;
      }
      const { store, runs } = outputRuns(host, data);
      if (!runs.length) {
        continue; // the history is not read (yet): the summary already there stays
      }
      const html = summaryHtml(runsSummary(runs, { now: Date.now(), labels: labelsOf(store) }));
      if (output.data['text/html'] !== html) {
        output.setData({ data: { ...output.data, 'text/html': html } });
      }
    }
  }
}

class RunsOutput extends Panel implements IRenderMime.IRenderer {
  constructor(
    private readonly _rendermime: IRenderMimeRegistry,
    private readonly _host: IRunsOutputHost
  ) {
    super();
    this.addClass('nbprov-runs-output');
    this._fallback.addClass('nbprov-runs-fallback');
    this.addWidget(this._fallback);
    this._host.tracker.sessionsChanged.connect(this._connectLive, this);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = parseRunsOutput(model.data[RUNS_MIME]);
    this._data = data;
    this._trusted = model.trusted;
    if (!data) {
      this._live?.dispose();
      this._live = null;
      this._fallback.node.replaceChildren(
        element('p', 'nbprov-message', trans().__('nbprov: this output does not hold a valid runs view.'))
      );
      this._fallback.show();
      return;
    }
    this._watchStore();
    this._connectLive();
    this._update();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._observer.disconnect();
    this._host.tracker.sessionsChanged.disconnect(this._connectLive, this);
    this._store?.changed.disconnect(this._scheduleFallback, this);
    clearTimeout(this._timer);
    super.dispose();
  }

  /**
   * Renders the widget view with the notebook's current widget-view renderer. The widget manager
   * replaces that renderer once the kernel is there (a renderer made before stays "Loading"
   * forever), so a changed factory is used again when a kernel session connects.
   */
  private _connectLive(): void {
    const data = this._data;
    const factory = this._rendermime.getFactory(WIDGET_VIEW_MIME);
    if (!data || !factory || (factory === this._liveFactory && this._liveModelId === data.model_id)) {
      return;
    }
    this._live?.dispose();
    this._observer.disconnect();
    this._liveFactory = factory;
    this._liveModelId = data.model_id;
    const live = this._rendermime.createRenderer(WIDGET_VIEW_MIME);
    this._live = live;
    live.hide();
    this.insertWidget(0, live);
    // The widget renderer adds the view's element as its child: no need to watch the view's inside.
    this._observer.observe(live.node, { childList: true });
    const view = { model_id: data.model_id, version_major: data.version_major, version_minor: data.version_minor };
    // Not awaited: a renderer waiting for a kernel that never comes never resolves; the fallback
    // shows meanwhile, and the observer switches to the view when it appears.
    live
      .renderModel(this._rendermime.createModel({ data: { [WIDGET_VIEW_MIME]: view }, trusted: this._trusted }))
      .catch(error => console.warn('nbprov: the runs widget view did not render', error))
      .then(() => this._update());
  }

  /** Shows the live view when it is there, else the fallback. */
  private _update(): void {
    if (this._live && this._live.node.querySelector(LIVE_VIEW_SELECTOR)) {
      this._live.show();
      this._fallback.hide();
      return;
    }
    this._live?.hide();
    this._renderFallback();
    this._fallback.show();
  }

  private _watchStore(): void {
    const store = this._data ? outputRuns(this._host, this._data).store : null;
    if (store !== this._store) {
      this._store?.changed.disconnect(this._scheduleFallback, this);
      this._store = store;
      store?.changed.connect(this._scheduleFallback, this);
    }
  }

  /** The store changes with every point of a live run: the fallback is redrawn at most once a second. */
  private _scheduleFallback(): void {
    if (this._timer === undefined) {
      this._timer = setTimeout(() => {
        this._timer = undefined;
        if (!this.isDisposed && !this._fallback.isHidden) {
          this._renderFallback();
        }
      }, 1000);
    }
  }

  private _renderFallback(): void {
    const message = element(
      'p',
      'nbprov-message',
      trans().__(
        "The live runs view is not available: its widget is gone (the notebook was reopened, or its kernel restarted or shut down). Open the notebook's runs panel to see these runs live."
      )
    );
    message.setAttribute('role', 'status');
    const open = element('button', 'jp-mod-styled jp-mod-accept nbprov-open-panel', trans().__("Open the notebook's runs panel"));
    open.type = 'button';
    open.addEventListener('click', () => this._host.openRunsPanel());
    const parts: HTMLElement[] = [message, open];
    if (this._data) {
      const { store, runs } = outputRuns(this._host, this._data);
      parts.push(
        runs.length
          ? summaryTable(runs, store)
          : element('p', 'nbprov-message', trans().__('No runs of this output in the notebook’s history.'))
      );
    }
    this._fallback.node.replaceChildren(...parts);
  }

  private _data: IRunsOutputData | null = null;
  private _trusted = false;
  private _live: IRenderMime.IRenderer | null = null;
  private _liveFactory: IRenderMime.IRendererFactory | null = null;
  private _liveModelId = '';
  private _fallback = new Widget();
  private _store: IRunStore | null = null;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _observer = new MutationObserver(() => this._update());
}

/** The summary as a DOM table (text only). */
function summaryTable(runs: readonly IRun[], store: IRunStore): HTMLTableElement {
  const summary = runsSummary(runs, { now: Date.now(), labels: labelsOf(store) });
  const table = element('table', 'nbprov-table nbprov-summary');
  const head = element('tr');
  head.append(...summary.columns.map(text => element('th', undefined, text)));
  table.append(element('thead'), element('tbody'));
  table.tHead!.append(head);
  for (const row of summary.rows) {
    const tr = element('tr');
    tr.append(...row.map(text => element('td', undefined, text)));
    table.tBodies[0].append(tr);
  }
  return table;
}
