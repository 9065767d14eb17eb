/**
 * Tracks every open notebook: a recorder for what the frontend sees, a kernel channel for what the
 * kernel streams, and a run store filled from the journal on disk and then kept live.
 */
import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import {
  conflictFolder,
  IDENTITY_FILE,
  idOfMetadata,
  idOfNotebookText,
  newId,
  NotebookNameError,
  parseIdentity,
  primaryFolder
} from './core/identity';
import { IJournalStream, IJournalWarning, JournalLineReader, sortJournalNames } from './core/reader';
import { IJournalStatus, JournalRecord, kernelSessionOf } from './core/records';
import { findProvFolders } from './core/project';
import {
  choiceOfMetadata,
  decideRecording,
  IRecordingDecision,
  IRecordingSettings,
  optsIn,
  RecordingChoice
} from './core/recording';
import { trans } from './i18n';
import { NotebookRecorder } from './recorder';
import { privacy } from './privacy';
import { ContentsService, ILiveRecords, KernelChannel, kernelPath } from './service';
import { RunStore } from './store';
import { CellReveal, INbprovTracker, IProjectRuns, IRunStore } from './tokens';

/** How long to wait before re-reading a kernel journal to fill a gap in the live stream. */
const CATCH_UP_MS = 300;
/**
 * Points of a journal file read before they are applied to the store: about 56 MB of decoded
 * arrays held at most, and few store changes, since each one makes the charts reduce their lines
 * again (profiled in a 10 M-point re-read: 1.8 s with a change per 64 KiB piece, 0.9 s with these).
 */
const APPLY_POINTS = 1 << 21;

export { kernelSessionOf } from './core/records';

/**
 * Applies a journal folder's kernel files to a store, one file (one kernel session) at a time and
 * each as its pieces arrive, APPLY_POINTS at a time; `notebook` labels their runs (the runs
 * panel's folder modes).
 */
export async function applyJournal(
  store: RunStore,
  files: readonly IJournalStream[],
  notebook: string | null = null
): Promise<{ gaps: string[]; warnings: IJournalWarning[]; sessions: number }> {
  const gaps: string[] = [];
  const warnings: IJournalWarning[] = [];
  let sessions = 0;
  const kernelFiles = sortJournalNames(files.filter(f => kernelSessionOf(f.name) !== null));
  for (const file of kernelFiles) {
    const session = kernelSessionOf(file.name)!;
    if (notebook !== null) {
      store.setNotebook(session, notebook);
    }
    let records: JournalRecord[] = [];
    let points = 0;
    let highestSeq = 0;
    const reader = new JournalLineReader(
      file.name,
      ({ record }) => {
        records.push(record);
        points += record.type === 'metrics' ? record.series.reduce((sum, batch) => sum + batch.n, 0) : 0;
        highestSeq = Math.max(highestSeq, record.seq ?? 0);
      },
      warning => warnings.push(warning)
    );
    let read = 0;
    for await (const piece of file.read()) {
      reader.push(piece);
      if (points >= APPLY_POINTS) {
        read += records.length;
        store.apply(session, records);
        records = [];
        points = 0;
      }
    }
    reader.end();
    read += records.length;
    sessions += read > 0 ? 1 : 0;
    if (store.apply(session, records, highestSeq)) {
      gaps.push(session);
    }
  }
  return { gaps, warnings, sessions };
}

/** The settings a notebook session reads, current whenever read (they apply live). */
export interface ISessionSettings {
  recording(): IRecordingSettings;
  autoload(): boolean;
  energy(): boolean;
}

export interface INotebookSessionOptions {
  panel: NotebookPanel;
  service: ContentsService;
  store: RunStore;
  user: string;
  settings: ISessionSettings;
}

/**
 * Where the provenance folder of a notebook renamed or moved to `notebookPath` goes: `<stem>.prov`,
 * unless that holds another notebook's history (never merged): then `<stem>-<id[:8]>.prov`.
 */
export async function moveTarget(
  service: ContentsService,
  notebookPath: string,
  id: string
): Promise<{ folder: string; note: string | null }> {
  const primary = primaryFolder(notebookPath);
  if (!(await service.exists(primary)) || parseIdentity(await service.read(PathExt.join(primary, IDENTITY_FILE)))?.id === id) {
    return { folder: primary, note: null };
  }
  return {
    folder: conflictFolder(notebookPath, id),
    note: trans().__(
      "%1 already holds another notebook's history, so this notebook's history is kept apart",
      PathExt.basename(primary)
    )
  };
}

/**
 * Moves a notebook's provenance folder next to its new path (`rename` does the move) and writes the
 * new name into its identity; returns the folder the history is in now.
 */
async function moveProvenance(
  service: ContentsService,
  from: string,
  notebookPath: string,
  id: string,
  rename: (target: string, move: () => Promise<void>) => Promise<void>
): Promise<string> {
  const name = PathExt.basename(notebookPath);
  const target = await moveTarget(service, notebookPath, id);
  if (target.folder === from) {
    return from;
  }
  try {
    if (await service.exists(from)) {
      await rename(target.folder, () => service.rename(from, target.folder));
    } else {
      await rename(target.folder, async () => undefined);
    }
    await service.writeIdentity(target.folder, id, name);
  } catch (error) {
    Notification.error(
      trans().__(
        'nbprov: could not move the provenance of %1 from %2 to %3 (%4); it stays in %2.',
        name,
        from,
        target.folder,
        (error as Error).message
      ),
      { autoClose: false }
    );
    return from;
  }
  if (target.note) {
    Notification.warning(trans().__('nbprov: the provenance of %1 moved with it to %2: %3.', name, target.folder, target.note), {
      autoClose: 15000
    });
  } else {
    Notification.info(trans().__('nbprov: the provenance of %1 moved with it to %2.', name, target.folder), { autoClose: 5000 });
  }
  return target.folder;
}

/** Tells the user, as it happens, that the kernel's journal stopped or started again being written. */
function notifyJournalStatus(notebook: string, record: IJournalStatus): void {
  const reason = record.reason;
  if (record.state === 'failing') {
    Notification.warning(
      trans().__(
        'nbprov: the journal of %1 cannot be written (%2). Records are kept in memory and written when the disk accepts them again.',
        PathExt.basename(notebook),
        reason
      ),
      { autoClose: false }
    );
  } else if (record.state === 'ok') {
    Notification.success(trans().__('nbprov: the journal of %1 is written again.', PathExt.basename(notebook)), {
      autoClose: 10000
    });
  }
}

/** Provenance tracking of one open notebook panel. */
export class NotebookSession {
  constructor(options: INotebookSessionOptions) {
    const { panel, service, store } = options;
    this.panel = panel;
    this.store = store;
    this._service = service;
    this._settings = options.settings;
    this._user = options.user;
    this.channel = new KernelChannel(panel.sessionContext);
    this.located = this._locate();
    this.channel.received.connect((_, live) => this._onLive(live));
    this.channel.hello.connect((_, hello) => {
      this.store.markCrashed(new Set([hello.session]));
      if (this._decision.state === 'recorded') {
        void this.located.then(() => this._checkKernelFolder(hello.journal));
      } else {
        // A kernel that records by itself: the notebook loaded nbprov.
        this._optIn('the kernel records (the notebook loaded nbprov)');
      }
    });
    this.channel.kernelLost.connect(() => this.store.markCrashed(new Set()));
    NotebookActions.executionScheduled.connect(this._onScheduled, this);
    void this.reload();
    this._decision = this._decide();
    if (this._decision.state === 'recorded') {
      this._startRecording(null);
    }
    const load = () => void this._autoload();
    panel.sessionContext.ready.then(load);
    panel.sessionContext.kernelChanged.connect(() => void panel.sessionContext.ready.then(load));
    this.channel.kernelRestarted.connect(load);
  }

  /** Whether the notebook is recorded, paused or off, and why. */
  get recording(): IRecordingDecision {
    return this._decision;
  }

  /** Emitted when `recording` changes. */
  get recordingChanged(): ISignal<this, IRecordingDecision> {
    return this._recordingChanged;
  }

  /**
   * The toggle: pauses a recorded notebook, records a paused one or one that has not opted in; a
   * notebook that the settings keep off stays off (the returned decision says why).
   */
  toggle(): IRecordingDecision {
    if (this._decision.state === 'recorded') {
      this._choose('paused', 'paused with the toggle');
    } else if (this._wouldRecordIfChosen()) {
      this._choose('on', 'switched on with the toggle');
    }
    return this._decision;
  }

  /** The `redact` setting changed: the notebook's kernel, if it records, redacts with it now. */
  redactionChanged(): void {
    void this.channel
      .tellRedaction(privacy.patterns)
      .catch(reason => console.warn('nbprov: could not update the kernel', reason));
  }

  /** The settings changed: the new `record`, `exclude` and `autoload` apply now. */
  settingsChanged(): void {
    this._update('the settings changed');
    void this._autoload();
  }

  /** Writes what the page has queued for the journal (nothing when not recorded). */
  async flush(): Promise<void> {
    await this.recorder?.journal.flush();
  }

  /** The recorder while the notebook is recorded, else null. */
  get recorder(): NotebookRecorder | null {
    return this._recorder;
  }

  /** Resolves once the notebook's id and provenance folder are known. */
  readonly located: Promise<void>;

  readonly panel: NotebookPanel;
  readonly store: RunStore;
  readonly channel: KernelChannel;

  get path(): string {
    return this.panel.context.path;
  }

  /** The provenance folder (`core/identity.ts`), once located. */
  get folder(): string {
    return this._folder;
  }

  /** The notebook's id (`metadata.nbprov.id`), once located. */
  get id(): string {
    return this._id;
  }

  /** The notebook was renamed or moved to `newPath`: its provenance follows, and its kernel is told. */
  async followRename(newPath: string): Promise<void> {
    await this.located;
    if (this._recorder === null && !(await this._service.exists(this._folder))) {
      // Nothing recorded: nothing to move, and no folder is created for it.
      this._folder = (await this._service.locate(newPath, this._id)).folder;
      this._update('the notebook was renamed');
      return;
    }
    const recorder = this._recorder;
    this._folder = await moveProvenance(this._service, this._folder, newPath, this._id, (target, move) =>
      recorder ? recorder.journal.moveTo(target, move) : move()
    );
    this._update('the notebook was renamed');
    await this.channel
      .tellNotebookMoved({ notebook: kernelPath(newPath), notebookId: this._id })
      .catch(reason => console.warn('nbprov: could not tell the kernel where its notebook went', reason));
  }

  /** Reads the whole journal from disk into the store (records already held are skipped). */
  async reload(): Promise<IJournalWarning[]> {
    await this.located;
    // No folder: the notebook's name has none (unusableNotebookName), so it has no journal either.
    const files = this._folder === '' ? [] : await this._service.journalStreams(this._folder);
    const { gaps, warnings } = await applyJournal(this.store, files);
    const fresh = warnings.filter(w => !this._warned.has(`${w.file}:${w.line}`));
    for (const warning of fresh) {
      this._warned.add(`${warning.file}:${warning.line}`);
      console.warn(`nbprov: journal ${warning.file} line ${warning.line}: ${warning.reason}`);
    }
    if (fresh.length) {
      Notification.warning(
        trans()._n(
          'nbprov: %1 damaged journal line(s) skipped in %2 (line %3: %4); every other record was recovered.',
          'nbprov: %1 damaged journal line(s) skipped in %2 (line %3: %4); every other record was recovered.',
          fresh.length,
          fresh[0].file,
          fresh[0].line,
          fresh[0].reason
        ),
        { autoClose: 10000 }
      );
    }
    if (gaps.length) {
      this._scheduleCatchUp();
    }
    return warnings;
  }

  /** Every journal file as a stream, for the export. */
  async readJournal(): Promise<IJournalStream[]> {
    await this.located;
    return this._folder === '' ? [] : this._service.journalStreams(this._folder);
  }

  dispose(): void {
    NotebookActions.executionScheduled.disconnect(this._onScheduled, this);
    this._recorder?.dispose();
    this.channel.dispose();
    if (this._catchUp !== null) {
      clearTimeout(this._catchUp);
    }
  }

  /** Finds the notebook's id and provenance folder, reading only: nothing is written before recording starts. */
  private async _locate(): Promise<void> {
    const known = idOfMetadata(this.panel.content.model!.getMetadata('nbprov') as unknown);
    try {
      const location = await this._service.locate(this.path, known);
      this._folder = location.folder;
      this._id = location.id;
      this._locationNote = location.note;
    } catch (error) {
      // A name with no usable stem is never recorded (decideRecording says why): it has no folder.
      if (!(error instanceof NotebookNameError)) {
        console.error('nbprov: could not locate the provenance folder', error);
        this._folder = primaryFolder(this.path);
      }
      this._id = known ?? newId();
    }
  }

  /** Recording starts: the folder's identity is written and a notebook without an id gets one in its metadata. */
  private async _claim(): Promise<void> {
    await this.located;
    const model = this.panel.content.model!;
    const metadata = model.getMetadata('nbprov') as unknown;
    const name = PathExt.basename(this.path);
    if (this._locationNote) {
      Notification.info(trans().__('nbprov: the provenance of %1 is in %2 (%3).', name, this._folder, this._locationNote), {
        autoClose: 10000
      });
      this._locationNote = null;
    }
    try {
      await this._service.writeIdentity(this._folder, this._id, name, privacy.gitignore);
    } catch (error) {
      console.error('nbprov: could not write the provenance identity', error);
    }
    if (idOfMetadata(metadata) !== this._id) {
      model.setMetadata('nbprov', { ...(isObject(metadata) ? metadata : {}), id: this._id });
      // Saved now, as autosave would soon: a rename outside JupyterLab is found by the id on disk.
      if (this.panel.context.contentsModel?.writable !== false) {
        await this.panel.context.save().catch(error => console.warn('nbprov: could not save the notebook id', error));
      }
    }
  }

  private _decide(): IRecordingDecision {
    return decideRecording(this._settings.recording(), this.path, this._choice());
  }

  private _choice(): RecordingChoice {
    return choiceOfMetadata(this.panel.content.model?.getMetadata('nbprov'));
  }

  /** True when choosing `on` would record: neither the settings nor an exclude pattern keep it off. */
  private _wouldRecordIfChosen(): boolean {
    return decideRecording(this._settings.recording(), this.path, 'on').state === 'recorded';
  }

  /** Stores the choice in `metadata.nbprov.record` (saved with the notebook) and applies it. */
  private _choose(choice: 'on' | 'paused', why: string): void {
    const model = this.panel.content.model!;
    const metadata = model.getMetadata('nbprov') as unknown;
    model.setMetadata('nbprov', { ...(isObject(metadata) ? metadata : {}), record: choice });
    this._update(why);
  }

  /** A notebook without a choice that uses nbprov opts in (`record: tracked`). */
  private _optIn(why: string): void {
    if (this._decision.state === 'off' && this._choice() === null && this._wouldRecordIfChosen()) {
      this._choose('on', why);
    }
  }

  private _onScheduled(
    _sender: unknown,
    args: { notebook: unknown; cell: { model: { sharedModel: { getSource(): string } } } }
  ): void {
    if (
      args.notebook === this.panel.content &&
      this._decision.state === 'off' &&
      optsIn(args.cell.model.sharedModel.getSource())
    ) {
      this._optIn('the notebook loads nbprov');
    }
  }

  /** Applies the current decision: starts or stops the page's recorder, journaling the switch. */
  private _update(why: string): void {
    const decision = this._decide();
    const previous = this._decision;
    this._decision = decision;
    if (decision.state === 'recorded' && this._recorder === null) {
      this._startRecording(why);
      void this._autoload();
    } else if (decision.state !== 'recorded' && this._recorder !== null) {
      this._recorder.journal.append({ type: 'recording', state: decision.state, reason: `${why}: ${decision.reason}` });
      this._recorder.dispose();
      this._recorder = null;
      // The kernel stops too; a notebook that calls nbprov again starts it again (its explicit choice).
      void this.channel
        .unloadKernelExtension()
        .catch(reason => console.warn('nbprov: could not stop the kernel extension', reason));
    }
    if (decision.state !== previous.state || decision.reason !== previous.reason) {
      this._recordingChanged.emit(decision);
    }
  }

  /** A recorder for this page; `why` (a switch, not the notebook's opening) is journaled. */
  private _startRecording(why: string | null): void {
    const recorder = new NotebookRecorder(this.panel, this._service, this.channel, this._user, this._id || null);
    this._recorder = recorder;
    if (why !== null) {
      recorder.journal.append({ type: 'recording', state: 'recorded', reason: `${why}: ${this._decision.reason}` });
    }
    void this._claim().then(() => recorder.journal.setFolder(this._folder));
  }

  /** Loads the kernel extension into the kernel of a recorded notebook (setting `autoload`). */
  private async _autoload(): Promise<void> {
    if (this._decision.state !== 'recorded' || !this._settings.autoload()) {
      return;
    }
    try {
      await this.located;
      await this.channel.loadKernelExtension({
        notebook: kernelPath(this.path),
        notebookId: this._id,
        energy: this._settings.energy(),
        redact: privacy.patterns
      });
    } catch (reason) {
      console.warn('nbprov: could not load the kernel extension', reason);
    }
  }

  /** Says so when the kernel records into another folder than this page reads (`journal` is `<folder name>/journal/<file>`). */
  private _checkKernelFolder(journal: string): void {
    const folder = PathExt.basename(this._folder);
    if (!journal.startsWith(`${folder}/`) && this._warnedFolder !== journal) {
      this._warnedFolder = journal;
      Notification.warning(
        trans().__(
          'nbprov: the kernel of %1 records into %2, not %3: restart the kernel to record both in one place.',
          PathExt.basename(this.path),
          journal.split('/')[0],
          folder
        ),
        { autoClose: false }
      );
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
  private readonly _settings: ISessionSettings;
  private readonly _user: string;
  private _recorder: NotebookRecorder | null = null;
  private _decision: IRecordingDecision;
  private _recordingChanged = new Signal<this, IRecordingDecision>(this);
  private _locationNote: string | null = null;
  private _folder = '';
  private _id = '';
  private _warnedFolder: string | null = null;
  /** Damaged lines already reported, so each is reported once. */
  private readonly _warned = new Set<string>();
  private _catchUp: ReturnType<typeof setTimeout> | null = null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `INbprovTracker` service: one store per notebook path. */
export class NbprovTracker implements INbprovTracker {
  constructor(private readonly _service: ContentsService) {}

  /**
   * A notebook was renamed or moved through this page's Contents API (file browser, tab menu):
   * its provenance folder follows, open or not, and its store is found under the new path.
   */
  async notebookRenamed(oldPath: string, newPath: string): Promise<void> {
    const store = this._stores.get(oldPath);
    if (store && !this._stores.has(newPath)) {
      this._stores.delete(oldPath);
      this._stores.set(newPath, store);
    }
    if (this._current === oldPath) {
      this.currentNotebook = newPath;
    }
    const open = Array.from(this.sessions.values()).filter(session => session.path === newPath || session.path === oldPath);
    if (open.length) {
      await Promise.all(open.map(session => session.followRename(newPath)));
      return;
    }
    const id = idOfNotebookText(await this._service.read(newPath));
    const location = await this._service.locate(oldPath, id);
    if (!(await this._service.exists(location.folder))) {
      return; // nothing recorded yet
    }
    await moveProvenance(this._service, location.folder, newPath, location.id, (_target, move) => move());
  }

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
    session.recordingChanged.connect(() => this._recordingChanged.emit(panelId), this);
    this._recordingChanged.emit(panelId);
  }

  /** Emitted with a panel id when its notebook's recording state may have changed. */
  get recordingChanged(): ISignal<this, string> {
    return this._recordingChanged;
  }

  /** Every tracked notebook session. */
  all(): NotebookSession[] {
    return Array.from(this.sessions.values());
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
      this._recordingChanged.emit(panelId);
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

  async scanRuns(folder: string, recursive: boolean): Promise<IProjectRuns> {
    const scan = await findProvFolders(this._service, folder, recursive);
    const store = new RunStore();
    const notebooks: string[] = [];
    const skipped: { folder: string; reason: string }[] = [];
    for (const found of scan.folders) {
      try {
        const files = await this._service.journalStreams(found.folder);
        const { warnings, sessions } = await applyJournal(store, files, found.notebook);
        if (sessions > 0) {
          notebooks.push(found.notebook);
        }
        if (warnings.length) {
          const reason = trans()._n(
            '%1 damaged journal line(s), first in %2: %3',
            '%1 damaged journal line(s), first in %2: %3',
            warnings.length,
            warnings[0].file,
            warnings[0].reason
          );
          console.warn(`nbprov: folder scan: ${found.folder}: ${reason}`);
          skipped.push({ folder: found.folder, reason });
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        console.warn(`nbprov: folder scan skipped ${found.folder}: ${reason}`);
        skipped.push({ folder: found.folder, reason });
      }
    }
    // A snapshot does not follow kernels: a run without an end is running only if its kernel is open here.
    const live = Array.from(this.sessions.values(), session => session.channel.session).filter(
      (session): session is string => session !== null
    );
    store.markCrashed(new Set(live));
    return { store, notebooks, skipped, truncated: scan.truncated };
  }

  notebookOf(store: IRunStore): string | null {
    for (const [path, candidate] of this._stores) {
      if (candidate === store) {
        return path;
      }
    }
    return null;
  }

  revealCell(notebookPath: string, cellId: string): Promise<CellReveal> {
    return this.cellRevealer
      ? this.cellRevealer(notebookPath, cellId)
      : Promise.resolve({ status: 'unavailable', reason: trans().__('the lab cannot show notebooks here') });
  }

  /** Shows a notebook's cell in the lab (set by the plugin, which holds the shell; src/cellreveal.ts). */
  cellRevealer: ((notebookPath: string, cellId: string) => Promise<CellReveal>) | null = null;

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
  private _recordingChanged = new Signal<this, string>(this);
}
