/**
 * The one module that talks to the Jupyter server (Contents API) and to the kernel (comm, iopub).
 */
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import { ISessionContext } from '@jupyterlab/apputils';
import { Contents, Kernel, KernelMessage, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { decodeKernelMessage, IKernelHello } from './comm';
import {
  GITIGNORE_FILE,
  GITIGNORE_TEXT,
  IDENTITY_FILE,
  identityText,
  IIdentityReader,
  ILocation,
  resolveFolder
} from './core/identity';
import { IJournalStream } from './core/reader';
import { JOURNAL_DIR, JOURNAL_SUFFIX, JournalRecord } from './core/records';

export { IKernelHello } from './comm';

/** Bytes per request of a chunked upload (`writeLarge`): 8 MiB, about 11 MB of base64 JSON. */
export const UPLOAD_CHUNK_BYTES = 8 << 20;

/** Comm target the kernel side opens (nbprov/stream.py). */
export const COMM_TARGET = 'nbprov';

/**
 * A server path as the kernel sees it: absolute under the server's root (`serverRoot` in the page
 * config), else the file name (the server starts a kernel in its notebook's folder).
 */
export function kernelPath(serverPath: string): string {
  const root = PageConfig.getOption('serverRoot');
  return /^(\/|[A-Za-z]:\/)/.test(root) ? `${root.replace(/\/+$/, '')}/${serverPath}` : PathExt.basename(serverPath);
}

/** A file of the journal folder with its text. */
export interface IJournalText {
  name: string;
  text: string;
}

/** Reads and writes the provenance folder through the Contents API. */
export class ContentsService implements IIdentityReader {
  constructor(private readonly _contents: Contents.IManager) {}

  /** Creates `path` and its parents when missing. */
  async ensureDirectory(path: string): Promise<void> {
    let current = '';
    for (const part of path.split('/').filter(Boolean)) {
      current = current ? `${current}/${part}` : part;
      if (this._knownDirectories.has(current)) {
        continue;
      }
      try {
        await this._contents.get(current, { content: false });
      } catch {
        await this._contents.save(current, { type: 'directory' });
      }
      this._knownDirectories.add(current);
    }
  }

  /** Names of the files in a folder (empty when the folder does not exist). */
  async listFiles(folder: string): Promise<Contents.IModel[]> {
    try {
      const model = await this._contents.get(folder, { content: true });
      return (model.content as Contents.IModel[]).filter(item => item.type === 'file');
    } catch {
      return [];
    }
  }

  async readText(path: string): Promise<string> {
    const model = await this._contents.get(path, { content: true, format: 'text', type: 'file' });
    return model.content as string;
  }

  /** Reads every `*.jsonl` file of a provenance folder's `journal/` whole (the forget plan rewrites files). */
  async readJournal(provFolder: string): Promise<IJournalText[]> {
    const files = await this._journalFiles(provFolder);
    return Promise.all(files.map(async f => ({ name: f.name, text: await this.readText(f.path) })));
  }

  /** Every `*.jsonl` file of a provenance folder's `journal/`, each read as it arrives when its turn comes. */
  async journalStreams(provFolder: string): Promise<IJournalStream[]> {
    const files = await this._journalFiles(provFolder);
    return files.map(f => ({ name: f.name, read: () => this.readChunks(f.path) }));
  }

  /**
   * A file's bytes in the pieces the server sends them, from its `files/` route (tornado's static
   * file handler, 64 KiB at a time, never cached). The Contents API returns a whole file as one JSON
   * string: a large journal is then held whole, twice, and one beyond V8's longest string (512 MiB)
   * cannot be read at all. A file of another drive than the server's own has no such route: its
   * text comes whole from the Contents API.
   */
  async *readChunks(path: string): AsyncGenerator<Uint8Array | string> {
    if (!this.hasFileRoute(path)) {
      yield await this.readText(path);
      return;
    }
    const settings = this._contents.serverSettings;
    const response = await ServerConnection.makeRequest(this._fileUrl(path), { cache: 'no-store' }, settings);
    if (!response.ok || response.body === null) {
      throw await ServerConnection.ResponseError.create(response);
    }
    const reader = response.body.getReader();
    try {
      for (let piece = await reader.read(); !piece.done; piece = await reader.read()) {
        yield piece.value;
      }
    } finally {
      await reader.cancel(); // a reader that stopped early: the rest is not downloaded
    }
  }

  private _fileUrl(path: string): string {
    return URLExt.join(this._contents.serverSettings.baseUrl, 'files', URLExt.encodeParts(path));
  }

  /**
   * Saves `bytes` in `UPLOAD_CHUNK_BYTES` pieces through the server's chunked save; `chunk` numbers
   * each piece, and `saved` hears the model the server returns and the piece's size.
   */
  private async _saveInPieces(
    path: string,
    bytes: Uint8Array,
    chunk: (index: number, last: boolean) => number,
    saved: (model: Contents.IModel, pieceBytes: number) => void
  ): Promise<void> {
    for (let offset = 0, index = 0; offset < bytes.byteLength; offset += UPLOAD_CHUNK_BYTES, index++) {
      const piece = bytes.subarray(offset, offset + UPLOAD_CHUNK_BYTES);
      const last = offset + UPLOAD_CHUNK_BYTES >= bytes.byteLength;
      const content = await toBase64(piece);
      saved(
        await this._contents.save(path, { type: 'file', format: 'base64', content, chunk: chunk(index, last) }),
        piece.byteLength
      );
    }
  }

  private async _journalFiles(provFolder: string): Promise<Contents.IModel[]> {
    const files = await this.listFiles(PathExt.join(provFolder, JOURNAL_DIR));
    return files.filter(f => f.name.endsWith(JOURNAL_SUFFIX));
  }

  async folders(dir: string): Promise<string[]> {
    try {
      const model = await this._contents.get(dir, { content: true });
      return (model.content as Contents.IModel[]).filter(item => item.type === 'directory').map(item => item.name);
    } catch {
      return [];
    }
  }

  async read(path: string): Promise<string | null> {
    return this.readText(path).catch(() => null);
  }

  async exists(path: string): Promise<boolean> {
    return this._contents.get(path, { content: false }).then(
      () => true,
      () => false
    );
  }

  /** Where a notebook's provenance is (`core/identity.ts`). */
  locate(notebookPath: string, notebookId: string | null): Promise<ILocation> {
    return resolveFolder(this, notebookPath, notebookId);
  }

  /**
   * Writes `identity.json` of a provenance folder, creating the folder. A folder created here gets
   * a `.gitignore` when `gitignore`, if the server lets the page write hidden files (by default it
   * does not: the kernel then writes it, nbprov/identity.py); an existing one is never rewritten.
   */
  async writeIdentity(folder: string, id: string, notebook: string, gitignore = false): Promise<void> {
    const created = gitignore && !(await this.exists(folder));
    await this.ensureDirectory(folder);
    const ignoreFile = PathExt.join(folder, GITIGNORE_FILE);
    if (created && !(await this.exists(ignoreFile))) {
      await this.writeText(ignoreFile, GITIGNORE_TEXT).catch(() => undefined);
    }
    await this.writeText(PathExt.join(folder, IDENTITY_FILE), identityText(id, notebook));
  }

  /** Renames a file or folder; the server refuses (409) when `to` exists, so nothing is merged. */
  async rename(from: string, to: string): Promise<void> {
    await this._contents.rename(from, to);
    for (const known of Array.from(this._knownDirectories)) {
      if (known === from || known.startsWith(`${from}/`)) {
        this._knownDirectories.delete(known);
      }
    }
  }

  /** Writes a text file; returns its modification time as the server reports it. */
  async writeText(path: string, text: string): Promise<string> {
    return (await this._contents.save(path, { type: 'file', format: 'text', content: text })).last_modified;
  }

  /** A file's modification time, or null when it does not exist. */
  async modified(path: string): Promise<string | null> {
    return this._contents.get(path, { content: false }).then(
      model => model.last_modified,
      () => null
    );
  }

  /** Deletes a file (a missing one is not an error). */
  async delete(path: string): Promise<void> {
    if (await this.exists(path)) {
      await this._contents.delete(path);
    }
  }

  async writeBytes(path: string, bytes: Uint8Array): Promise<void> {
    await this._contents.save(path, { type: 'file', format: 'base64', content: await toBase64(bytes) });
  }

  /** `path`'s model without content, or null when nothing is there. */
  async stat(path: string): Promise<Contents.IModel | null> {
    return this._contents.get(path, { content: false }).catch(() => null);
  }

  /** Names and types of what a folder holds (empty when the folder does not exist). */
  async entries(folder: string): Promise<Contents.IModel[]> {
    try {
      return (await this._contents.get(folder, { content: true })).content as Contents.IModel[];
    } catch {
      return [];
    }
  }

  /** Creates one folder in an existing one (an existing folder is kept), bypassing the cache. */
  async createDirectory(path: string): Promise<void> {
    await this._contents.save(path, { type: 'directory' });
  }

  /**
   * Writes a file of any size: beyond `UPLOAD_CHUNK_BYTES` in pieces through the server's chunked
   * save (`chunk` 1, 2, …, -1: the first creates, the others append), so no request body and no
   * base64 string grows with the file. `onBytes` hears each piece written.
   */
  async writeLarge(path: string, bytes: Uint8Array, onBytes: (written: number) => void = () => undefined): Promise<void> {
    if (bytes.byteLength <= UPLOAD_CHUNK_BYTES) {
      await this.writeBytes(path, bytes);
      onBytes(bytes.byteLength);
      return;
    }
    await this._saveInPieces(
      path,
      bytes,
      (index, last) => (last ? -1 : index + 1),
      (_model, piece) => onBytes(piece)
    );
  }

  /**
   * Appends `bytes` to a file of `sizeBefore` bytes through the server's chunked save, in
   * `UPLOAD_CHUNK_BYTES` pieces; `create` starts the file anew (`chunk` 1), otherwise every piece
   * is appended (`chunk` 2). A server whose contents manager does not append chunks (it rewrites
   * the file) is refused by the size it reports, before anything is read back wrong.
   */
  async appendLarge(path: string, bytes: Uint8Array, create: boolean, sizeBefore: number): Promise<void> {
    let expected = sizeBefore;
    await this._saveInPieces(
      path,
      bytes,
      index => (create && index === 0 ? 1 : 2),
      (model, piece) => {
        expected += piece;
        if (typeof model.size === 'number' && model.size !== expected) {
          throw new Error(
            `the server did not append to ${path} (${model.size} bytes, ${expected} expected): its contents manager takes no chunked saves`
          );
        }
      }
    );
  }

  /** Whether `path` has a `files/` route (`readChunks`, `readRange`): a file of the server's own drive. */
  hasFileRoute(path: string): boolean {
    return this._contents.driveName(path) === '';
  }

  /** `length` bytes of a file from `start`, by an HTTP range request on its `files/` route. */
  async readRange(path: string, start: number, length: number): Promise<Uint8Array> {
    const init = { cache: 'no-store' as const, headers: { Range: `bytes=${start}-${start + length - 1}` } };
    const response = await ServerConnection.makeRequest(this._fileUrl(path), init, this._contents.serverSettings);
    // 200 is the whole file (tornado's answer to a range that spans it); a route that ignores
    // ranges also answers 200, and is refused before its body is read.
    const whole = response.status === 200 && Number(response.headers.get('Content-Length')) === length;
    if (response.status !== 206 && !whole) {
      await response.body?.cancel();
      throw response.ok
        ? new Error(`the server's files/ route did not answer a range request for ${path} (status ${response.status})`)
        : await ServerConnection.ResponseError.create(response);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength !== length) {
      throw new Error(`${path}: ${bytes.byteLength} bytes at ${start}, ${length} expected`);
    }
    return bytes;
  }

  /** Deletes a folder and what it holds; the server refuses a non-empty folder unless it trashes it. */
  async deleteTree(path: string): Promise<void> {
    try {
      await this._contents.delete(path);
      return;
    } catch {
      // Not trashed and not empty: empty it first.
    }
    for (const entry of await this.entries(path)) {
      await (entry.type === 'directory' ? this.deleteTree(entry.path) : this._contents.delete(entry.path));
    }
    await this._contents.delete(path);
  }

  private _knownDirectories = new Set<string>();
}

/** Records received live from a kernel session, in the order sent (one comm message). */
export interface ILiveRecords {
  session: string;
  records: JournalRecord[];
  /** How many records of the session did not come with the message: the journal has them. */
  missing: number;
}

/**
 * Follows the nbprov comm of a notebook's kernel. Messages are read from the iopub stream rather than
 * through comm callbacks, so a page that reloads while a cell runs still receives the messages of a
 * comm opened before the reload.
 */
export class KernelChannel {
  constructor(private readonly _sessionContext: ISessionContext) {
    _sessionContext.kernelChanged.connect(this._onKernelChanged, this);
    this._attach(_sessionContext.session?.kernel ?? null);
  }

  get received(): ISignal<this, ILiveRecords> {
    return this._received;
  }

  get hello(): ISignal<this, IKernelHello> {
    return this._hello;
  }

  /** Emitted when the kernel restarts or dies: its session's running runs are crashed. */
  get kernelLost(): ISignal<this, string | null> {
    return this._kernelLost;
  }

  /** Emitted when a restarted kernel is idle again (a fresh process: the extension must be loaded). */
  get kernelRestarted(): ISignal<this, void> {
    return this._kernelRestarted;
  }

  /** Journal session of the current kernel, once it said hello (or was seen in a record). */
  get session(): string | null {
    return this._session;
  }

  /** Emitted when the journal session of the kernel becomes known or is lost. */
  get sessionChanged(): ISignal<this, string | null> {
    return this._sessionChanged;
  }

  /** The execute_request msg_id last sent for a cell, to join kernel and frontend records. */
  msgIdForCell(cellId: string): string | null {
    return this._lastMsgIdByCell.get(cellId) ?? null;
  }

  /**
   * Loads the kernel extension silently (no execution count, no history), then opens a comm so the
   * kernel says hello: a page that reloaded learns which journal session is live.
   */
  async loadKernelExtension(options: {
    notebook: string;
    notebookId: string;
    energy: boolean;
    redact: readonly unknown[];
  }): Promise<void> {
    const kernel = await this._runInPythonKernel([
      'import nbprov as _nbprov',
      redactionCall('_nbprov.redact', options.redact),
      'try:',
      `    _nbprov.configure(${configureArguments(options)}, energy=${options.energy ? 'True' : 'False'})`,
      'except RuntimeError:',
      '    pass  # already tracking this kernel',
      // Not %load_ext: a user's own `%load_ext nbprov` then loads quietly (loading is idempotent).
      '_nbprov.load_ipython_extension(get_ipython())',
      'del _nbprov'
    ]);
    kernel?.createComm(COMM_TARGET).open({});
  }

  /**
   * Stops the kernel extension (the notebook was paused or its recording turned off): the kernel
   * ends its open runs and closes its journal. Heard when the kernel is idle.
   */
  async unloadKernelExtension(): Promise<void> {
    await this._runInPythonKernel([
      'import sys as _sys',
      'if "nbprov" in _sys.modules:',
      '    _sys.modules["nbprov"].unload_ipython_extension(get_ipython())',
      'del _sys'
    ]);
  }

  /**
   * Forgets the notebook's history through the kernel (`nbprov.forget`, the bundled CLI): its journal
   * thread writes nothing meanwhile and then starts a new file, and files are unlinked for good,
   * which the Contents API cannot promise (it may move them to the trash while the kernel appends).
   */
  async forgetInKernel(options: { notebook: string; outputsOnly: boolean; before: string | null }): Promise<boolean> {
    const before = options.before === null ? 'None' : JSON.stringify(options.before);
    const kernel = await this._runInPythonKernel([
      'import nbprov as _nbprov',
      `_nbprov.forget(notebook=${JSON.stringify(options.notebook)}, outputs_only=${options.outputsOnly ? 'True' : 'False'}, before=${before})`,
      'del _nbprov'
    ]);
    return kernel !== null;
  }

  /**
   * Tells a kernel that tracks this notebook its new path after a rename or move (its journal
   * folder was moved already). Heard when the kernel is idle: a busy cell keeps appending to its
   * open journal file, which moved with the folder.
   */
  async tellNotebookMoved(options: { notebook: string; notebookId: string }): Promise<void> {
    await this._runInPythonKernel([
      'import sys as _sys',
      'if "nbprov" in _sys.modules:',
      '    try:',
      `        _sys.modules["nbprov"].configure(${configureArguments(options)})`,
      '    except RuntimeError:',
      '        pass  # this kernel records elsewhere: it keeps its journal',
      'del _sys'
    ]);
  }

  /** The `redact` setting changed: the kernel's own records (its outputs, runs) use it from now on. */
  async tellRedaction(patterns: readonly unknown[]): Promise<void> {
    await this._runInPythonKernel([
      'import sys as _sys',
      'if "nbprov.redact" in _sys.modules:',
      `    ${redactionCall('_sys.modules["nbprov.redact"]', patterns)}`,
      'del _sys'
    ]);
  }

  private async _pythonKernel(): Promise<Kernel.IKernelConnection | null> {
    const kernel = this._sessionContext.session?.kernel;
    return kernel && (await kernel.info).language_info.name === 'python' ? kernel : null;
  }

  /**
   * Runs these lines silently (no execution count, no history) in the notebook's kernel when it is
   * a Python one; returns that kernel, or null when there is none (nothing ran).
   */
  private async _runInPythonKernel(lines: readonly string[]): Promise<Kernel.IKernelConnection | null> {
    const kernel = await this._pythonKernel();
    if (!kernel) {
      return null;
    }
    const code = lines.join('\n');
    const reply = await kernel.requestExecute({ code, silent: true, store_history: false, stop_on_error: false }).done;
    if (reply.content.status !== 'ok') {
      throw new Error(`the kernel could not run nbprov (${reply.content.status})`);
    }
    return kernel;
  }

  dispose(): void {
    Signal.clearData(this);
  }

  private _onKernelChanged(
    _sender: ISessionContext,
    change: { oldValue: Kernel.IKernelConnection | null; newValue: Kernel.IKernelConnection | null }
  ): void {
    if (change.oldValue) {
      change.oldValue.iopubMessage.disconnect(this._onIopub, this);
      change.oldValue.anyMessage.disconnect(this._onAnyMessage, this);
      change.oldValue.statusChanged.disconnect(this._onStatus, this);
    }
    this._attach(change.newValue);
  }

  private _attach(kernel: Kernel.IKernelConnection | null): void {
    if (!kernel) {
      return;
    }
    // Accept the comm so the kernel keeps it open; its messages are read from iopub.
    kernel.registerCommTarget(COMM_TARGET, () => undefined);
    kernel.iopubMessage.connect(this._onIopub, this);
    kernel.anyMessage.connect(this._onAnyMessage, this);
    kernel.statusChanged.connect(this._onStatus, this);
  }

  private _onStatus(_kernel: Kernel.IKernelConnection, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'dead' || status === 'autorestarting') {
      this._restarting = status !== 'dead';
      this._kernelLost.emit(this._session);
      this._setSession(null);
    } else if (status === 'idle' && this._restarting) {
      this._restarting = false;
      this._kernelRestarted.emit();
    }
  }

  private _onAnyMessage(_kernel: Kernel.IKernelConnection, args: Kernel.IAnyMessageArgs): void {
    const msg = args.msg;
    if (args.direction === 'send' && msg.header.msg_type === 'execute_request') {
      const cellId = (msg.metadata as { cellId?: unknown }).cellId;
      if (typeof cellId === 'string') {
        this._lastMsgIdByCell.set(cellId, msg.header.msg_id);
      }
    }
  }

  private _onIopub(_kernel: Kernel.IKernelConnection, msg: KernelMessage.IIOPubMessage): void {
    const type = msg.header.msg_type;
    if (type !== 'comm_msg' && type !== 'comm_open') {
      return;
    }
    const content = msg.content as { target_name?: string; comm_id: string; data: unknown };
    if (type === 'comm_open' && content.target_name !== COMM_TARGET) {
      return;
    }
    const decoded = decodeKernelMessage(content.data, msg.buffers ?? []);
    if (decoded?.kind === 'hello') {
      this._setSession(decoded.hello.session);
      this._hello.emit(decoded.hello);
    } else if (decoded?.kind === 'records') {
      for (const reason of decoded.rejected) {
        console.warn(`nbprov: ignored a malformed record from the kernel (${reason}); the journal has it`);
      }
      this._setSession(decoded.via ?? decoded.session); // ranks: a rank's records name the kernel in `via`
      this._received.emit({ session: decoded.session, records: decoded.records, missing: decoded.missing });
    }
  }

  private _setSession(session: string | null): void {
    if (session !== this._session) {
      this._session = session;
      this._sessionChanged.emit(session);
    }
  }

  private _session: string | null = null;
  private _restarting = false;
  private _kernelRestarted = new Signal<this, void>(this);
  private _sessionChanged = new Signal<this, string | null>(this);
  private _lastMsgIdByCell = new Map<string, string>();
  private _received = new Signal<this, ILiveRecords>(this);
  private _hello = new Signal<this, IKernelHello>(this);
  private _kernelLost = new Signal<this, string | null>(this);
}

/** `notebook=..., notebook_id=...` for `nbprov.configure`; JSON string literals are valid Python ones. */
/**
 * Python that hands the page's redaction patterns to the kernel's redactor (`module`); the
 * patterns travel as a JSON string, which is also a valid Python string literal.
 */
function redactionCall(module: string, patterns: readonly unknown[]): string {
  return `${module}.configure(__import__("json").loads(${JSON.stringify(JSON.stringify(patterns))}), source="page")`;
}

function configureArguments(options: { notebook: string; notebookId: string }): string {
  return `notebook=${JSON.stringify(options.notebook)}, notebook_id=${JSON.stringify(options.notebookId)}`;
}

/**
 * Base64 of `bytes`, by the browser's own encoder: `Uint8Array.prototype.toBase64` (recent Chromium,
 * Firefox 133, Safari 18.2), else a data URL's. Either takes milliseconds where building the
 * binary string in script took most of a second for each 8 MiB uploaded.
 */
async function toBase64(bytes: Uint8Array): Promise<string> {
  if (bytes.byteLength === 0) {
    return ''; // an empty Blob's data URL has no comma
  }
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
  if (native !== undefined) {
    return native.call(bytes);
  }
  const url = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  });
  return url.slice(url.indexOf(',') + 1);
}
