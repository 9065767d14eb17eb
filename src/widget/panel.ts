/**
 * Side panel with the runs view of the notebook focused in the lab, or of every notebook in its
 * folder or under the server root. "This notebook" reads the frontend run store, so it works while
 * the kernel is busy or gone; the folder modes read the notebooks' journals into a snapshot.
 */
import { PathExt } from '@jupyterlab/coreutils';
import { trans } from '../i18n';
import { INbprovTracker } from '../tokens';
import { element, option } from './dom';
import { RunsView } from './view';

/** What the panel shows: the focused notebook, its folder, or everything under the server root. */
export type PanelScope = 'notebook' | 'folder' | 'root';

function scopes(): [PanelScope, string][] {
  return [
    ['notebook', trans().__('This notebook')],
    ['folder', trans().__('This folder')],
    ['root', trans().__('Everything under the server root')]
  ];
}

export class RunsPanel extends RunsView {
  constructor(private readonly _tracker: INbprovTracker) {
    super();
    this.id = 'nbprov-runs-panel';
    this.title.caption = trans().__('Runs (nbprov)');
    this.title.label = trans().__('Runs');
    this.node.setAttribute('aria-label', trans().__('Runs'));
    this.node.prepend(this._buildScopeBar());
    this.setCellLocator(_tracker);
    _tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._show();
  }

  /** Switches what the panel shows (the scope menu does this too). */
  setScope(scope: PanelScope): void {
    this._scope = scope;
    this._scopeSelect.value = scope;
    this._show();
  }

  dispose(): void {
    this._tracker.currentChanged.disconnect(this._onCurrentChanged, this);
    super.dispose();
  }

  private _buildScopeBar(): HTMLElement {
    const bar = element('div', 'nbprov-scope');
    const label = element('label', undefined, `${trans().__('Show')} `);
    for (const [value, text] of scopes()) {
      this._scopeSelect.append(option(value, text));
    }
    this._scopeSelect.addEventListener('change', () => this.setScope(this._scopeSelect.value as PanelScope));
    label.append(this._scopeSelect);
    this._refreshButton.type = 'button';
    this._refreshButton.title = trans().__('Read the notebooks’ journals again');
    this._refreshButton.addEventListener('click', () => this._show());
    this._where.className = 'nbprov-scope-where';
    this._where.setAttribute('role', 'status');
    bar.append(label, this._refreshButton, this._where);
    return bar;
  }

  /** Another notebook got the focus: only "this notebook" and "this folder" can change. */
  private _onCurrentChanged(): void {
    if (this._shown !== this._showing()) {
      this._show();
    }
  }

  /** What the panel should show now: the notebook, the folder or the root it reads. */
  private _showing(): string {
    const notebook = this._tracker.currentNotebook;
    if (this._scope === 'root') {
      return 'root';
    }
    return `${this._scope}:${this._scope === 'folder' && notebook !== null ? PathExt.dirname(notebook) : notebook}`;
  }

  private _show(): void {
    this._shown = this._showing();
    this._where.title = '';
    const notebook = this._tracker.currentNotebook;
    this._refreshButton.hidden = this._scope === 'notebook';
    if (this._scope === 'notebook') {
      this._where.textContent = notebook ?? '';
      this.setStore(notebook === null ? null : this._tracker.storeFor(notebook), trans().__('Open a notebook to see its runs.'));
      return;
    }
    const folder = this._scope === 'root' ? '' : notebook === null ? null : PathExt.dirname(notebook);
    if (folder === null) {
      this._where.textContent = '';
      this.setStore(null, trans().__('Open a notebook to see the runs of its folder.'));
      return;
    }
    const scan = ++this._scans;
    const where = folder || trans().__('the server root');
    this._where.textContent = trans().__('Reading %1…', where);
    void this._tracker.scanRuns(folder, this._scope === 'root').then(
      result => {
        if (scan !== this._scans) {
          return; // a newer scan was asked for meanwhile
        }
        const skipped = result.skipped.length
          ? [trans()._n('%1 folder(s) not fully readable', '%1 folder(s) not fully readable', result.skipped.length)]
          : [];
        this._where.title = result.skipped.map(item => `${item.folder}: ${item.reason}`).join('\n');
        const truncated = result.truncated ? [trans().__('stopped early: too many folders')] : [];
        this._where.textContent = [
          trans()._n('%1 notebook(s) in %2', '%1 notebook(s) in %2', result.notebooks.length, where),
          ...skipped,
          ...truncated
        ].join('; ');
        this.setStore(result.store, trans().__('No runs recorded in these notebooks.'));
      },
      error => {
        if (scan === this._scans) {
          this._where.textContent = trans().__('Could not read %1: %2', where, String(error));
          this.setStore(null);
        }
      }
    );
  }

  private _scope: PanelScope = 'notebook';
  private _shown = '';
  private _scans = 0;
  private _scopeSelect = element('select', 'jp-mod-styled');
  private _refreshButton = element('button', 'nbprov-scope-refresh', trans().__('Refresh'));
  private _where = element('span');
}
