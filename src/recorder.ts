/**
 * Records, for one notebook panel, what only the frontend sees: cell outputs, structure changes
 * (cells added, removed, moved), source versions and notebook snapshots. Records go to a journal
 * segment `f-<page>-<n>.jsonl` written through the Contents API at most `FLUSH_MS` after they happen.
 */
import { PathExt } from '@jupyterlab/coreutils';
import { ICellModel } from '@jupyterlab/cells';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IObservableList } from '@jupyterlab/observables';

import { INbOutput, summarizeOutputs } from './core/outputs';
import { JOURNAL_DIR, pageJournalName } from './core/records';
import { sha256Hex } from './core/sha256';
import { privacy } from './privacy';
import { ContentsService, KernelChannel } from './service';

const FLUSH_MS = 400;
const SEGMENT_LIMIT = 256 * 1024;
const EDIT_DEBOUNCE_MS = 2000;
/** A blob that could not be written is tried again this often, while it is kept. */
const BLOB_RETRY_MS = 5000;
/** Bytes of unwritten blobs kept for retries; beyond, a blob is dropped (the export omits it). */
const PENDING_BLOBS_LIMIT = 64 * 1024 * 1024;

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), b => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Appends records to this page's journal segments through the Contents API, into the provenance
 * folder once it is located (records wait until then) and wherever it moves.
 */
export class FrontendJournal {
  constructor(private readonly _service: ContentsService) {}

  readonly page = randomHex(8);

  /** The provenance folder became known: queued records go there. */
  setFolder(folder: string): void {
    this._folder = folder;
    this._folderKnown();
  }

  /**
   * Moves the provenance folder with `move` between two writes (none is in flight, so none lands
   * in the old place), then writes to `folder`.
   */
  moveTo(folder: string, move: () => Promise<void>): Promise<void> {
    const moved = this._writing
      .catch(() => undefined)
      .then(async () => {
        await move();
        this._folder = folder;
      });
    this._writing = moved.catch(() => undefined);
    return moved;
  }

  /**
   * Queues one record, every string in it redacted first (`privacy.redactor`); `redacted` counts
   * the replacements, adding to a count the record brings (outputs redacted before truncation).
   */
  append(record: Record<string, unknown>): void {
    const [redacted, count] = privacy.redactor.redactValue(record);
    const total = ((record.redacted as number | undefined) ?? 0) + count;
    const line = { t: new Date().toISOString(), ...redacted, ...(total ? { redacted: total } : {}) };
    this._queued.push(JSON.stringify(line) + '\n');
    this._schedule();
  }

  /** Writes what is queued; resolves once it is on the server. */
  async flush(): Promise<void> {
    this._timer = null;
    while (this._queued.length) {
      const lines = this._queued.splice(0);
      // A failed write keeps its lines in the segment text: the next flush writes them again.
      await (this._writing = this._writing.catch(() => undefined).then(() => this._write(lines)));
    }
    await this._writing;
  }

  /**
   * Writes a blob, never throwing: one that fails is kept (up to `PENDING_BLOBS_LIMIT` bytes) and
   * tried again every `BLOB_RETRY_MS`. Records may name a blob before it exists: the export refers
   * only to blobs present in `blobs/`.
   */
  async writeBlob(path: string, bytes: Uint8Array): Promise<void> {
    if (this._blobsWritten.has(path) || this._blobsPending.has(path)) {
      return;
    }
    if (this._pendingBytes + bytes.length > PENDING_BLOBS_LIMIT) {
      console.warn(`nbprov: blob ${path} dropped: unwritten blobs exceed ${PENDING_BLOBS_LIMIT} bytes`);
      return;
    }
    this._blobsPending.set(path, bytes);
    this._pendingBytes += bytes.length;
    await this._writePendingBlobs();
  }

  /** Blobs waiting for a successful write. */
  get pendingBlobs(): number {
    return this._blobsPending.size;
  }

  private _writePendingBlobs(): Promise<void> {
    this._blobWriting = this._blobWriting.then(async () => {
      const folder = await this._folderReady;
      for (const [path, bytes] of [...this._blobsPending]) {
        try {
          await this._service.ensureDirectory(PathExt.join(folder, 'blobs'));
          await this._service.writeBytes(PathExt.join(folder, path), bytes);
        } catch (error) {
          if (!this._blobFailureReported) {
            this._blobFailureReported = true;
            console.warn(`nbprov: cannot write ${path}; will retry every ${BLOB_RETRY_MS / 1000} s`, error);
          }
          this._scheduleBlobRetry();
          return;
        }
        this._blobsPending.delete(path);
        this._pendingBytes -= bytes.length;
        this._blobsWritten.add(path);
      }
      this._blobFailureReported = false;
    });
    return this._blobWriting;
  }

  private _scheduleBlobRetry(): void {
    if (this._blobRetryTimer === null) {
      this._blobRetryTimer = setTimeout(() => {
        this._blobRetryTimer = null;
        void this._writePendingBlobs();
      }, BLOB_RETRY_MS);
    }
  }

  private get _folderReady(): Promise<string> {
    return this._folderSet.then(() => this._folder);
  }

  private _schedule(): void {
    if (this._timer === null) {
      this._timer = setTimeout(() => void this.flush().catch(reportError), FLUSH_MS);
    }
  }

  private async _write(lines: string[]): Promise<void> {
    const journal = PathExt.join(await this._folderReady, JOURNAL_DIR);
    await this._service.ensureDirectory(journal);
    const segmentPath = () => PathExt.join(journal, pageJournalName(this.page, this._segment));
    if (this._segmentText.length && (await this._service.modified(segmentPath())) !== this._segmentModified) {
      // Someone else changed or deleted the segment (`nbprov forget`): never write its old lines back.
      this._startSegment();
    }
    for (const line of lines) {
      if (this._segmentText.length && this._segmentText.length + line.length > SEGMENT_LIMIT) {
        // The full segment is written one last time before the next one starts.
        await this._service.writeText(segmentPath(), this._segmentText);
        this._startSegment();
      }
      this._segmentText += line;
    }
    this._segmentModified = await this._service.writeText(segmentPath(), this._segmentText);
  }

  private _startSegment(): void {
    this._segment++;
    this._segmentText = '';
    this._segmentModified = null;
  }

  private _folder = '';
  private _folderKnown: () => void = () => undefined;
  private readonly _folderSet = new Promise<void>(resolve => (this._folderKnown = resolve));
  private _queued: string[] = [];
  private _segment = 0;
  private _segmentText = '';
  private _segmentModified: string | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _writing: Promise<void> = Promise.resolve();
  private _blobsWritten = new Set<string>();
  private _blobsPending = new Map<string, Uint8Array>();
  private _pendingBytes = 0;
  private _blobWriting: Promise<void> = Promise.resolve();
  private _blobRetryTimer: ReturnType<typeof setTimeout> | null = null;
  private _blobFailureReported = false;
}

function reportError(error: unknown): void {
  console.error('nbprov: could not write the journal', error);
}

/** Observes one notebook panel and records into its frontend journal. */
export class NotebookRecorder {
  constructor(
    private readonly _panel: NotebookPanel,
    service: ContentsService,
    private readonly _channel: KernelChannel,
    user: string,
    notebookId: string | null
  ) {
    this.journal = new FrontendJournal(service);
    this.journal.append({
      type: 'page_start',
      page: this.journal.page,
      notebook: PathExt.basename(_panel.context.path),
      // A journal copied into another notebook's folder is recognised by this id and left out.
      notebook_id: notebookId,
      user
    });
    const model = _panel.content.model!;
    model.cells.changed.connect(this._onCellsChanged, this);
    model.contentChanged.connect(this._onContentChanged, this);
    NotebookActions.executionScheduled.connect(this._onScheduled, this);
    NotebookActions.executed.connect(this._onExecuted, this);
    this._enqueue(() => this._snapshot());
  }

  readonly journal: FrontendJournal;

  dispose(): void {
    NotebookActions.executionScheduled.disconnect(this._onScheduled, this);
    NotebookActions.executed.disconnect(this._onExecuted, this);
    if (this._editTimer !== null) {
      clearTimeout(this._editTimer);
    }
    void this.journal.flush().catch(reportError);
  }

  /** Runs recording steps one after the other, so records keep the order of events. */
  private _enqueue(step: () => Promise<void>): void {
    this._steps = this._steps.then(step).catch(reportError);
  }

  private _cells(): ICellModel[] {
    return Array.from(this._panel.content.model?.cells ?? []);
  }

  /** Records new source versions of cells whose source changed since last recorded. */
  private async _recordSources(cells: ICellModel[]): Promise<void> {
    for (const cell of cells) {
      const source = cell.sharedModel.getSource();
      if (this._recorded.get(cell.id)?.source === source) {
        continue;
      }
      // Hashed as recorded, so that the kernel's (redacted) source of an execution matches it.
      const [recorded, redacted] = privacy.redactor.redact(source);
      const sha256 = sha256Hex(recorded);
      this._recorded.set(cell.id, { source, sha256 });
      this.journal.append({ type: 'source', cell: cell.id, cell_type: cell.type, sha256, source: recorded, redacted });
    }
  }

  /** Records the notebook's cell order and versions, unless unchanged since the last snapshot. */
  private async _snapshot(): Promise<void> {
    const cells = this._cells();
    await this._recordSources(cells);
    const snapshot = cells.map(cell => [cell.id, this._recorded.get(cell.id)!.sha256]);
    const key = JSON.stringify(snapshot);
    if (key !== this._lastSnapshot) {
      this._lastSnapshot = key;
      this.journal.append({ type: 'notebook', cells: snapshot });
    }
  }

  private _onCellsChanged(_list: unknown, change: IObservableList.IChangedArgs<ICellModel>): void {
    if (change.type === 'add') {
      change.newValues.forEach((cell, i) =>
        this.journal.append({ type: 'structure', op: 'add', cell: cell.id, from: null, to: change.newIndex + i })
      );
    } else if (change.type === 'remove') {
      change.oldValues.forEach((cell, i) =>
        this.journal.append({ type: 'structure', op: 'remove', cell: cell.id, from: change.oldIndex + i, to: null })
      );
    } else if (change.type === 'move') {
      change.newValues.forEach((cell, i) =>
        this.journal.append({
          type: 'structure',
          op: 'move',
          cell: cell.id,
          from: change.oldIndex + i,
          to: change.newIndex + i
        })
      );
    }
  }

  private _onContentChanged(): void {
    if (this._editTimer !== null) {
      clearTimeout(this._editTimer);
    }
    this._editTimer = setTimeout(() => {
      this._editTimer = null;
      this._enqueue(() => this._recordSources(this._cells()));
    }, EDIT_DEBOUNCE_MS);
  }

  private _onScheduled(_sender: unknown, args: { notebook: unknown; cell: { model: ICellModel } }): void {
    if (args.notebook !== this._panel.content) {
      return;
    }
    this._scheduledAt.set(args.cell.model.id, new Date().toISOString());
    this._enqueue(() => this._snapshot());
  }

  private _onExecuted(
    _sender: unknown,
    args: { notebook: unknown; cell: { model: ICellModel }; success: boolean; error?: { errorName?: string } | null }
  ): void {
    if (args.notebook !== this._panel.content || args.cell.model.type !== 'code') {
      return;
    }
    const cell = args.cell.model;
    const ended = new Date().toISOString();
    const started = this._scheduledAt.get(cell.id) ?? ended;
    const msgId = this._channel.msgIdForCell(cell.id);
    const outputs = (cell.toJSON() as { outputs?: INbOutput[] }).outputs ?? [];
    const count = (cell.toJSON() as { execution_count?: number | null }).execution_count ?? null;
    const status = args.success ? 'ok' : args.error?.errorName === 'KeyboardInterrupt' ? 'interrupted' : 'error';
    this._enqueue(async () => {
      const { items, blobs, redacted } = summarizeOutputs(outputs, privacy.redactor);
      // A blob that cannot be written yet is retried; the outputs' record is kept either way.
      for (const blob of blobs) {
        await this.journal.writeBlob(blob.path, blob.bytes);
      }
      this.journal.append({
        type: 'exec_output',
        msg_id: msgId,
        cell: cell.id,
        count,
        status,
        started,
        ended,
        outputs: items,
        redacted
      });
    });
  }

  private _recorded = new Map<string, { source: string; sha256: string }>();
  private _lastSnapshot = '';
  private _scheduledAt = new Map<string, string>();
  private _editTimer: ReturnType<typeof setTimeout> | null = null;
  private _steps: Promise<void> = Promise.resolve();
}
