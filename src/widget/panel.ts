/**
 * Side panel with the runs view of the notebook focused in the lab. It reads the frontend run
 * store only, so it works while the kernel is busy or gone.
 */
import { INbprovTracker } from '../tokens';
import { RunsView } from './view';

export class RunsPanel extends RunsView {
  constructor(private readonly _tracker: INbprovTracker) {
    super();
    this.id = 'nbprov-runs-panel';
    this.title.caption = 'Runs (nbprov)';
    this.title.label = 'Runs';
    this.node.setAttribute('aria-label', 'Runs of the current notebook');
    _tracker.currentChanged.connect(this._follow, this);
    this._follow(_tracker, _tracker.currentNotebook);
  }

  dispose(): void {
    this._tracker.currentChanged.disconnect(this._follow, this);
    super.dispose();
  }

  private _follow(_: INbprovTracker, path: string | null): void {
    if (path === null) {
      this.setStore(null, 'Open a notebook to see its runs.');
    } else {
      this.setStore(this._tracker.storeFor(path));
    }
  }
}
