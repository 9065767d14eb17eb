/**
 * Tracks every open notebook: a recorder for what the frontend sees, a kernel channel for what the
 * kernel streams, and a run store filled from the journal on disk and then kept live.
 */
import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { IJournalWarning, parseJournal } from './core/journal';
import { NotebookRecorder } from './recorder';
import { ContentsService, IJournalText, ILiveRecords, KernelChannel } from './service';
import { IKernelRecord, RunStore } from './store';
import { INbprovTracker, IRunStore } from './tokens';

/** How long to wait before re-reading a kernel journal to fill a gap in the live stream. */
const CATCH_UP_MS = 300;

/** Kernel journal files are `k-<session>.jsonl`. */
export function kernelSessionOf(fileName: string): string | null {
  const match = /^k-([A-Za-z0-9_-]+)\.jsonl$/.exec(fileName);
  return match ? match[1] : null;
}

/** Applies parsed kernel journal files to a store, session by session. */
export function applyJournal(store: RunStore, files: IJournalText[]): { gaps: string[]; warnings: IJournalWarning[] } {
  const kernelFiles = files.filter(f => kernelSessionOf(f.name) !== null);
  const parsed = parseJournal(kernelFiles);
  const bySession = new Map<string, IKernelRecord[]>();
  for (const located of parsed.records) {
    const session = kernelSessionOf(located.file)!;
    const records = bySession.get(session) ?? [];
    records.push(located.record as unknown as IKernelRecord);
    bySession.set(session, records);
  }
  const gaps: string[] = [];
  for (const [session, records] of bySession) {
    if (store.apply(session, records, true)) {
      gaps.push(session);
    }
  }
  return { gaps, warnings: parsed.warnings };
}

export interface INotebookSessionOptions {
  panel: NotebookPanel;
  service: ContentsService;
  store: RunStore;
  user: string;
  autoload: boolean;
  energy: boolean;
}

/** Tells the user, as it happens, that the kernel's journal stopped or started again being written. */
function notifyJournalStatus(notebook: string, record: IKernelRecord): void {
  const reason = String(record.reason ?? '');
  if (record.state === 'failing') {
    Notification.warning(
      `nbprov: the journal of ${PathExt.basename(notebook)} cannot be written (${reason}). Records are kept in memory and written when the disk accepts them again.`,
      { autoClose: false }
    );
  } else if (record.state === 'ok') {
    Notification.success(`nbprov: the journal of ${PathExt.basename(notebook)} is written again.`, { autoClose: 10000 });
  }
}

/** Provenance tracking of one open notebook panel. */
export class NotebookSession {
  constructor(options: INotebookSessionOptions) {
    const { panel, service, store } = options;
    this.panel = panel;
    this.store = store;
    this._service = service;
    this.channel = new KernelChannel(panel.sessionContext);
    this.recorder = new NotebookRecorder(panel, service, this.channel, options.user);
    this.channel.received.connect((_, live) => this._onLive(live));
    this.channel.hello.connect((_, hello) => this.store.markCrashed(new Set([hello.session])));
    this.channel.kernelLost.connect(() => this.store.markCrashed(new Set()));
    void this.reload();
    if (options.autoload) {
      const load = () => void this.channel.loadKernelExtension({ notebook: PathExt.basename(panel.context.path), energy: options.energy }).catch(reason =>
        console.warn('nbprov: could not load the kernel extension', reason)
      );
      panel.sessionContext.ready.then(load);
      panel.sessionContext.kernelChanged.connect(() => void panel.sessionContext.ready.then(load));
      this.channel.kernelRestarted.connect(load);
    }
  }

  readonly panel: NotebookPanel;
  readonly store: RunStore;
  readonly channel: KernelChannel;
  readonly recorder: NotebookRecorder;

  get path(): string {
    return this.panel.context.path;
  }

  /** Reads the whole journal from disk into the store (records already held are skipped). */
  async reload(): Promise<IJournalWarning[]> {
    const files = await this._service.readJournal(this.path);
    const { gaps, warnings } = applyJournal(this.store, files);
    const fresh = warnings.filter(w => !this._warned.has(`${w.file}:${w.line}`));
    for (const warning of fresh) {
      this._warned.add(`${warning.file}:${warning.line}`);
      console.warn(`nbprov: journal ${warning.file} line ${warning.line}: ${warning.reason}`);
    }
    if (fresh.length) {
      Notification.warning(
        `nbprov: ${fresh.length} damaged journal line(s) skipped in ${fresh[0].file} (line ${fresh[0].line}: ${fresh[0].reason}); every other record was recovered.`,
        { autoClose: 10000 }
      );
    }
    if (gaps.length) {
      this._scheduleCatchUp();
    }
    return warnings;
  }

  /** Every journal file's text, for the export. */
  readJournal(): Promise<IJournalText[]> {
    return this._service.readJournal(this.path);
  }

  dispose(): void {
    this.recorder.dispose();
    this.channel.dispose();
    if (this._catchUp !== null) {
      clearTimeout(this._catchUp);
    }
  }

  private _onLive({ session, records, missing }: ILiveRecords): void {
    for (const record of records) {
      if (record.type === 'journal_status') {
        notifyJournalStatus(this.path, record);
      }
    }
    if (this.store.apply(session, records) || missing > 0) {
      this._scheduleCatchUp();
    }
  }

  /** A gap between what was read and what arrives live: the journal on disk has the missing part. */
  private _scheduleCatchUp(): void {
    if (this._catchUp !== null) {
      return;
    }
    this._catchUp = setTimeout(() => {
      this._catchUp = null;
      void this.reload();
    }, CATCH_UP_MS);
  }

  private readonly _service: ContentsService;
  /** Damaged lines already reported, so each is reported once. */
  private readonly _warned = new Set<string>();
  private _catchUp: ReturnType<typeof setTimeout> | null = null;
}

/** The `INbprovTracker` service: one store per notebook path. */
export class NbprovTracker implements INbprovTracker {
  get currentChanged(): ISignal<this, string | null> {
    return this._currentChanged;
  }

  get sessionsChanged(): ISignal<this, void> {
    return this._sessionsChanged;
  }

  /** Starts tracking a notebook panel's session (until the panel is disposed). */
  add(panelId: string, session: NotebookSession): void {
    this.sessions.set(panelId, session);
    session.channel.sessionChanged.connect(() => this._sessionsChanged.emit(), this);
  }

  /** The session of a notebook panel, if tracked. */
  sessionOf(panelId: string): NotebookSession | undefined {
    return this.sessions.get(panelId);
  }

  /** Stops tracking a panel's session. */
  remove(panelId: string): void {
    const session = this.sessions.get(panelId);
    if (session) {
      this.sessions.delete(panelId);
      session.dispose();
      this._sessionsChanged.emit();
    }
  }

  get currentNotebook(): string | null {
    return this._current;
  }

  set currentNotebook(path: string | null) {
    if (path !== this._current) {
      this._current = path;
      this._currentChanged.emit(path);
    }
  }

  storeFor(notebookPath: string): RunStore {
    let store = this._stores.get(notebookPath);
    if (!store) {
      store = new RunStore();
      this._stores.set(notebookPath, store);
    }
    return store;
  }

  storeForSession(session: string): IRunStore | undefined {
    for (const notebook of this.sessions.values()) {
      if (notebook.channel.session === session) {
        return notebook.store;
      }
    }
    return undefined;
  }

  /** Open notebook sessions by panel id. */
  private readonly sessions = new Map<string, NotebookSession>();

  private _stores = new Map<string, RunStore>();
  private _current: string | null = null;
  private _currentChanged = new Signal<this, string | null>(this);
  private _sessionsChanged = new Signal<this, void>(this);
}
