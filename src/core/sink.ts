/**
 * The export's only way out: files written relative to the export folder (`<stem>.prov/`).
 * The CLI implements it on the filesystem, the JupyterLab plugin on the Contents API.
 */
export interface IFileSink {
  /** Writes (creating or replacing) one file; `relativePath` uses `/` and is always generated. */
  write(relativePath: string, data: Uint8Array | string): Promise<void>;
  /**
   * Called once every file is written. A sink that stages its writes (under temporary names, so
   * that a failure midway leaves the previous export intact) puts them in place here.
   */
  commit?(): Promise<void>;
  /** Called instead of `commit` when the export fails: a staging sink drops what it wrote. */
  abort?(): Promise<void>;
}

/** Path segments the export generates: ids, hashes, fixed names. Never `.` or `..`. */
const SAFE_SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;

/**
 * Throws unless `relativePath` is a relative path made of safe segments, so a bug can never
 * make the export write outside its folder.
 */
export function assertSafeRelativePath(relativePath: string): void {
  const segments = relativePath.split('/');
  if (relativePath === '' || !segments.every(segment => SAFE_SEGMENT.test(segment))) {
    throw new Error(`refusing to write outside the export folder: ${JSON.stringify(relativePath)}`);
  }
}

/**
 * Names of a staging sink's temporary folders inside the export folder: not hidden, because the
 * Contents API refuses hidden names by default. `<random>` keeps concurrent exports apart.
 */
export const STAGING_PREFIX = 'export-partial-';
export const REPLACED_PREFIX = 'export-replaced-';

/** Wraps a sink so that every write is checked and counted. */
export class CheckedSink implements IFileSink {
  readonly files: string[] = [];
  bytes = 0;

  constructor(private readonly inner: IFileSink) {}

  async write(relativePath: string, data: Uint8Array | string): Promise<void> {
    assertSafeRelativePath(relativePath);
    this.files.push(relativePath);
    this.bytes += typeof data === 'string' ? new TextEncoder().encode(data).byteLength : data.byteLength;
    await this.inner.write(relativePath, data);
  }

  async commit(): Promise<void> {
    await this.inner.commit?.();
  }

  async abort(): Promise<void> {
    await this.inner.abort?.();
  }
}
