/**
 * What shows whether a notebook is recorded: a status-bar item for the current notebook and a
 * toggle in each notebook's toolbar. Both read `NotebookSession.recording` and switch it with
 * `toggle()`; text is set with textContent only.
 */
import { Notification } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IRecordingDecision, RecordingState } from './core/recording';
import { trans } from './i18n';
import { NbprovTracker, NotebookSession } from './tracker';

function stateLabel(state: RecordingState): string {
  return { recorded: trans().__('Recorded'), paused: trans().__('Paused'), off: trans().__('Off') }[state];
}

/** The item's tooltip: the state, why, and what a click does. */
function stateTitle(decision: IRecordingDecision): string {
  switch (decision.state) {
    case 'recorded':
      return trans().__('nbprov: recorded: %1. Click to pause.', decision.reason);
    case 'paused':
      return trans().__('nbprov: paused: %1. Click to record.', decision.reason);
    case 'off':
      return trans().__('nbprov: off: %1. Click to record.', decision.reason);
  }
}

/** The toolbar shows a glyph as wide as the other toolbar icons: a wider item pushes JupyterLab's own into the overflow menu. */
const GLYPHS: Record<RecordingState, string> = { recorded: '\u25cf', paused: '\u2016', off: '\u25cb' };

/** Switches a session and tells the user when the settings keep it off. */
export function toggleRecording(session: NotebookSession): IRecordingDecision {
  const before = session.recording.state;
  const decision = session.toggle();
  if (decision.state === before && decision.state === 'off') {
    Notification.info(trans().__('nbprov: this notebook is not recorded: %1.', decision.reason), { autoClose: 8000 });
  }
  return decision;
}

function render(node: HTMLElement, session: NotebookSession | undefined, label: (state: RecordingState) => string): void {
  const decision = session?.recording;
  node.dataset.nbprovRecording = decision?.state ?? 'none';
  node.textContent = decision ? label(decision.state) : '';
  node.setAttribute('aria-label', decision ? trans().__('Provenance: %1', stateLabel(decision.state)) : trans().__('Provenance'));
  node.title = decision ? stateTitle(decision) : '';
}

/** A clickable item: a button element whose text follows one session's state. */
abstract class RecordingItem extends Widget {
  constructor(
    protected readonly tracker: NbprovTracker,
    className: string
  ) {
    super({ node: document.createElement('button') });
    this.addClass(className);
    (this.node as HTMLButtonElement).type = 'button';
    this.node.addEventListener('click', () => {
      const session = this.session();
      if (session) {
        toggleRecording(session);
      }
    });
    tracker.recordingChanged.connect(this.update, this);
  }

  protected abstract session(): NotebookSession | undefined;

  protected onUpdateRequest(): void {
    render(this.node, this.session(), state => this.label(state));
  }

  protected abstract label(state: RecordingState): string;

  dispose(): void {
    this.tracker.recordingChanged.disconnect(this.update, this);
    super.dispose();
  }
}

/** The toggle in one notebook panel's toolbar. */
export class RecordingToggle extends RecordingItem {
  constructor(
    tracker: NbprovTracker,
    private readonly _panelId: string
  ) {
    super(tracker, 'jp-nbprov-RecordingToggle');
    this.addClass('jp-ToolbarButtonComponent');
    this.update();
  }

  protected label(state: RecordingState): string {
    return GLYPHS[state];
  }

  protected session(): NotebookSession | undefined {
    return this.tracker.sessionOf(this._panelId);
  }
}

/** The status-bar item: the state of the current notebook. */
export class RecordingStatus extends RecordingItem {
  constructor(
    tracker: NbprovTracker,
    private readonly _currentPanelId: () => string | null
  ) {
    super(tracker, 'jp-nbprov-RecordingStatus');
    this.addClass('jp-StatusBar-TextItem');
    this.update();
  }

  protected label(state: RecordingState): string {
    return trans().__('nbprov: %1', stateLabel(state));
  }

  protected session(): NotebookSession | undefined {
    const id = this._currentPanelId();
    return id === null ? undefined : this.tracker.sessionOf(id);
  }
}
