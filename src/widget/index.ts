/**
 * The `nbprov` ipywidgets module (loaded lazily by the widget registry): RunsModel and RunsView.
 * The view finds its run store through the tracker that `registerWidgets` hands over.
 */
import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';
import type { Widget } from '@lumino/widgets';
import { trans } from '../i18n';
import { INbprovTracker, IRunStore } from '../tokens';
import { XAxis } from './chartdata';
import { MODULE_NAME, MODULE_VERSION } from './version';
import { RunsTab, RunsView as RunsContent } from './view';

let tracker: INbprovTracker | null = null;

type LuminoMessage = Parameters<Widget['processMessage']>[0];

/** Lifecycle messages of the ipywidgets view that the runs content must see too. */
const FORWARDED_MESSAGES = new Set(['before-attach', 'after-attach', 'before-detach', 'after-detach', 'resize', 'after-show']);

/** Set by the plugin before the registry hands this module out. */
export function setTracker(value: INbprovTracker): void {
  tracker = value;
}

export class RunsModel extends DOMWidgetModel {
  defaults(): Backbone.ObjectHash {
    return {
      ...super.defaults(),
      _model_name: 'RunsModel',
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: 'RunsView',
      _view_module: MODULE_NAME,
      _view_module_version: MODULE_VERSION,
      session: '',
      run_ids: [],
      metrics: [],
      x_axis: 'step',
      tab: 'runs'
    };
  }
}

export class RunsView extends DOMWidgetView {
  render(): void {
    this.el.classList.add('nbprov-widget');
    this._content.onUserChange = change => {
      if (change.xAxis) {
        this.model.set('x_axis', change.xAxis);
      }
      if (change.tab) {
        this.model.set('tab', change.tab);
      }
      this.model.save_changes();
    };
    this._content.setCellLocator(tracker);
    this._syncFromModel();
    this.listenTo(this.model, 'change:run_ids change:metrics change:x_axis change:tab', this._syncFromModel);
    this.listenTo(this.model, 'change:session', this._resolveStore);
    tracker?.sessionsChanged.connect(this._resolveStore, this);
    this._resolveStore();
    // The view's element is not in the page yet (Widget.attach would throw): the content's node
    // goes in now and the content follows the view's lifecycle through processLuminoMessage.
    this.el.append(this._content.node);
  }

  processLuminoMessage(msg: LuminoMessage): void {
    super.processLuminoMessage(msg);
    if (FORWARDED_MESSAGES.has(msg.type)) {
      this._content.processMessage(msg);
    }
  }

  remove(): void {
    tracker?.sessionsChanged.disconnect(this._resolveStore, this);
    this._content.dispose();
    super.remove();
  }

  private _syncFromModel(): void {
    this._content.setRunIds(this.model.get('run_ids') as string[]);
    this._content.setMetrics(this.model.get('metrics') as string[]);
    this._content.setXAxis(this.model.get('x_axis') as XAxis);
    this._content.setTab(this.model.get('tab') as RunsTab);
  }

  /** Looks the store up again (the kernel's hello may arrive after the widget is shown). */
  private _resolveStore(): void {
    const session = String(this.model.get('session'));
    const store: IRunStore | undefined = tracker?.storeForSession(session);
    if (!tracker) {
      this._content.setStore(null, trans().__('nbprov: the JupyterLab extension is not active.'));
    } else {
      // A model restored from saved widget state names a session that may never connect again.
      this._content.setStore(
        store ?? null,
        trans().__("Waiting for this kernel session to connect… If it has ended, open the notebook's runs panel.")
      );
    }
  }

  private _content = new RunsContent();
}
