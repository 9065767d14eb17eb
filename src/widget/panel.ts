/**
 * Side panel with the runs view of the notebook focused in the lab. It reads the frontend run
 * store only, so it works while the kernel is busy or gone. It can also show every run of the
 * focused notebook's folder or of everything under the server root (read from their journals), with
 * the same table, filter, charts and comparison: a run of train_v2.ipynb beside one of train.ipynb.
 */
import { PathExt } from '@jupyterlab/coreutils';

import { RunStore } from '../store';
import { INbprovTracker } from '../tokens';
import { applyJournal } from '../tracker';
import { element } from './dom';
import { findProvFolders, IJournalSource, RunsScope } from './scope';
import { RunsView } from './view';

const SCOPES: [RunsScope, string][] = [
  ['notebook', 'This notebook'],
  ['folder', 'This folder'],
  ['root', 'Everything under the server root']
];

export interface IScopeRuns {
  store: RunStore;
  /** `.prov` folders read. */
  folders: string[];
  /** `.prov` folders skipped, with the reason. */
  skipped: string[];
}

/**
 * One store holding the runs of every `.prov` folder of `dir` (below it too when `recursive`). Runs
 * without an end are running only while `isLive(session)`; a folder that cannot be read is skipped.
 */
export async function loadScopeRuns(
  source: IJournalSource,
  dir: string,
  recursive: boolean,
  isLive: (session: string) => boolean
): Promise<IScopeRuns> {
  const store = new RunStore();
  const folders: string[] = [];
  const skipped: string[] = [];
  for (const folder of await findProvFolders(source, dir, recursive)) {
    try {
      const files = await source.readJournal(folder);
      if (files.length === 0) {
        skipped.push(`${folder}: no journal`);
        continue;
      }
      applyJournal(store, files);
      folders.push(folder);
    } catch (error) {
      skipped.push(`${folder}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const live = new Set([...store.runs.values()].map(run => run.session).filter(isLive));
  store.markCrashed(live);
  return { store, folders, skipped };
}

export class RunsPanel extends RunsView {
  constructor(
    private readonly _tracker: INbprovTracker,
    private readonly _source: IJournalSource
  ) {
    super();
    this.id = 'nbprov-runs-panel';
    this.title.caption = 'Runs (nbprov)';
    this.title.label = 'Runs';
    this.node.setAttribute('aria-label', 'Runs of the current notebook');
    for (const [scope, label] of SCOPES) {
      const option = element('option', '', label);
      option.value = scope;
      this._scopeSelect.append(option);
    }
    this._scopeSelect.setAttribute('aria-label', 'Show the runs of');
    this._scopeSelect.addEventListener('change', () => this._show());
    this._reload.textContent = 'Reload';
    this._reload.title = 'Read the journals again';
    this._reload.addEventListener('click', () => this._show());
    this._scopeBar.className = 'nbprov-toolbar nbprov-scope';
    this._scopeBar.append(this._scopeSelect, this._reload, this._scopeNote);
    this.node.prepend(this._scopeBar);
    _tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._show();
  }

  get scope(): RunsScope {
    return this._scopeSelect.value as RunsScope;
  }

  dispose(): void {
    this._tracker.currentChanged.disconnect(this._onCurrentChanged, this);
    super.dispose();
  }

  private _onCurrentChanged(): void {
    if (this.scope !== 'root') {
      this._show();
    }
  }

  private _show(): void {
    const scope = this.scope;
    const path = this._tracker.currentNotebook;
    const request = ++this._request; // a load still under way for an earlier choice is dropped
    this._reload.hidden = scope === 'notebook';
    this._scopeNote.textContent = '';
    if (scope === 'notebook') {
      this.node.setAttribute('aria-label', 'Runs of the current notebook');
      this.setStore(
        path === null ? null : this._tracker.storeFor(path),
        path === null ? 'Open a notebook to see its runs.' : undefined
      );
      return;
    }
    if (scope === 'folder' && path === null) {
      this.setStore(null, 'Open a notebook to see the runs of its folder.');
      return;
    }
    const dir = scope === 'folder' ? PathExt.dirname(path!) : '';
    this.node.setAttribute(
      'aria-label',
      scope === 'folder' ? `Runs of the notebooks in ${dir || 'the server root'}` : 'Runs of every notebook'
    );
    this._scopeNote.textContent = 'Reading journals…';
    this.setStore(null, 'Reading journals…'); // never the previous scope's runs under this one's name
    const isLive = (session: string): boolean => this._tracker.storeForSession(session) !== undefined;
    loadScopeRuns(this._source, dir, scope === 'root', isLive).then(
      ({ store, folders, skipped }) => {
        if (request !== this._request) {
          return; // the user chose another scope meanwhile
        }
        this._scopeNote.textContent =
          `${folders.length} notebook(s)` + (skipped.length ? `; skipped: ${skipped.join('; ')}` : '');
        this.setStore(store, 'No runs recorded in these notebooks yet.');
      },
      (error: unknown) => {
        if (request === this._request) {
          this._scopeNote.textContent = `Could not read the journals: ${String(error)}`;
          this.setStore(null, 'No runs to show.');
        }
      }
    );
  }

  private readonly _scopeBar = element('div');
  private readonly _scopeSelect = element('select');
  private readonly _reload = element('button');
  private readonly _scopeNote = element('span', 'nbprov-scope-note');
  /** Counts scope loads: only the latest one's result is shown. */
  private _request = 0;
}
