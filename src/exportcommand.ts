/**
 * Command `nbprov:export`: the page side of `core/export` (the CLI is the other), writing through
 * the Contents API with a progress notification.
 */

import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';

import { unusableNotebookName } from './core/identity';
import { assertSafeRelativePath, type IFileSink, REPLACED_PREFIX, STAGING_PREFIX } from './core/sink';
import { type IScratch, memoryScratch } from './core/spill';
import { contentsScratch } from './exportscratch';
import { trans } from './i18n';
import { ContentsService, UPLOAD_CHUNK_BYTES } from './service';
import type { NotebookSession } from './tracker';
import { VERSION } from './version';

/** Uploads at once: enough to keep the server busy, few enough to bound the page's memory. */
const PARALLEL_UPLOADS = 4;
/** The scratch file's name inside the staging folder. */
const SCRATCH_FILE = 'export-scratch';
/** A staging or replaced folder this old is a leftover of a page closed midway (no export runs a day). */
const LEFTOVER_AGE_MS = 24 * 3600 * 1000;

/**
 * The export sink on the Contents API, with the filesystem sink's rules as far as the API allows:
 * every file is written into a new staging folder inside the `.prov` folder and moved into place
 * by `commit` (the previous export is first moved aside, then deleted), so a failure midway
 * leaves the previous export as it was. Each folder is created once, before any write into it,
 * whatever the number of concurrent writes (the server's folder creation is not safe to race:
 * `[Errno 17] File exists`), and without the service's cache of known folders, so a folder deleted
 * outside the page is simply created again. The Contents API does not show symbolic links (the
 * server follows them inside its root), so unlike the CLI this sink cannot refuse them.
 */
export class ContentsSink implements IFileSink {
  private readonly token = Array.from(crypto.getRandomValues(new Uint8Array(6)), b => b.toString(16).padStart(2, '0')).join('');
  private readonly staging: string;
  private prepared: Promise<void> | null = null;
  private readonly directories = new Map<string, Promise<void>>();
  private readonly entries = new Set<string>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly service: ContentsService,
    private readonly root: string,
    private readonly onBytes: (written: number) => void
  ) {
    this.staging = PathExt.join(root, STAGING_PREFIX + this.token);
  }

  async write(relativePath: string, data: Uint8Array | string): Promise<void> {
    assertSafeRelativePath(relativePath);
    await (this.prepared ??= this.prepare());
    const segments = relativePath.split('/');
    this.entries.add(segments[0]);
    for (let depth = 1; depth < segments.length; depth++) {
      await this.directory(segments.slice(0, depth).join('/'));
    }
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await this.slot();
    try {
      await this.service.writeLarge(PathExt.join(this.staging, relativePath), bytes, this.onBytes);
    } finally {
      this.release();
    }
  }

  /**
   * The export's scratch (`exportscratch.ts`): a file in the staging folder, which goes at commit
   * or abort, or with the leftovers of a page closed midway. A notebook of another drive, with no
   * file route to read ranges from, keeps its points in memory.
   */
  scratch(): IScratch {
    const file = PathExt.join(this.staging, SCRATCH_FILE);
    if (!this.service.hasFileRoute(file)) {
      return memoryScratch();
    }
    return contentsScratch(this.service, file, () => (this.prepared ??= this.prepare()), UPLOAD_CHUNK_BYTES);
  }

  async commit(): Promise<void> {
    if (this.prepared === null) {
      return;
    }
    const replaced = PathExt.join(this.root, REPLACED_PREFIX + this.token);
    let replacedMade = false;
    // Folders first: prov.json names metrics.zarr's groups, so it arrives after them.
    const names = [...this.entries].sort((a, b) => Number(a.includes('.json')) - Number(b.includes('.json')));
    for (const name of names) {
      const target = PathExt.join(this.root, name);
      if ((await this.service.stat(target)) !== null) {
        // The server refuses to rename onto an existing path: the old entry moves aside first.
        if (!replacedMade) {
          await this.service.createDirectory(replaced);
          replacedMade = true;
        }
        await this.service.rename(target, PathExt.join(replaced, name));
      }
      await this.service.rename(PathExt.join(this.staging, name), target);
    }
    await this.service.deleteTree(this.staging);
    if (replacedMade) {
      await this.service.deleteTree(replaced);
    }
  }

  async abort(): Promise<void> {
    if (this.prepared !== null) {
      await this.service.deleteTree(this.staging).catch(() => undefined);
    }
  }

  private async prepare(): Promise<void> {
    const root = await this.service.stat(this.root);
    if (root === null) {
      // Deleted outside the page (the notebook's folder, its parent, exists): made again, uncached.
      await this.service.createDirectory(this.root);
    } else if (root.type !== 'directory') {
      throw new Error(`${this.root} is not a folder`);
    }
    const now = Date.now();
    for (const entry of await this.service.entries(this.root)) {
      const leftover = entry.name.startsWith(STAGING_PREFIX) || entry.name.startsWith(REPLACED_PREFIX);
      if (leftover && entry.type === 'directory' && now - Date.parse(entry.last_modified) > LEFTOVER_AGE_MS) {
        // A scratch left there is emptied first, as the export's own close does (the trash).
        const scratch = PathExt.join(entry.path, SCRATCH_FILE);
        if ((await this.service.stat(scratch)) !== null) {
          await this.service.writeBytes(scratch, new Uint8Array(0)).catch(() => undefined);
        }
        await this.service.deleteTree(entry.path).catch(() => undefined);
      }
    }
    await this.service.createDirectory(this.staging);
  }

  /** Creates one staging subfolder once, after its parent, however many writes wait for it. */
  private directory(relative: string): Promise<void> {
    let made = this.directories.get(relative);
    if (made === undefined) {
      made = this.service.createDirectory(PathExt.join(this.staging, relative));
      this.directories.set(relative, made);
    }
    return made;
  }

  private async slot(): Promise<void> {
    while (this.running >= PARALLEL_UPLOADS) {
      await new Promise<void>(resolve => this.waiting.push(resolve));
    }
    this.running++;
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

/** Exports the session's provenance into its `.prov` folder; returns the path of `prov.json`. */
export async function exportNotebook(session: NotebookSession, service: ContentsService, license?: string): Promise<string> {
  const unusable = unusableNotebookName(session.path);
  if (unusable !== null) {
    Notification.error(trans().__('Provenance export refused: %1', unusable), { autoClose: false });
    throw new Error(unusable);
  }
  await session.located;
  const folder = session.folder;
  const name = PathExt.basename(session.path);
  const id = Notification.emit(trans().__('Exporting provenance of %1…', name), 'in-progress', { autoClose: false, progress: 0 });
  let step = 0;
  let steps = 1;
  let written = 0;
  const report = (): void => {
    Notification.update({
      id,
      message: trans().__('Exporting provenance of %1… step %2 of %3, %4 written', name, step, steps, megabytes(written)),
      progress: Math.min(step / steps, 0.99)
    });
  };
  try {
    await session.flush();
    const journal = await session.readJournal();
    const live = session.channel.session;
    const blobs = await service.listFiles(PathExt.join(folder, 'blobs'));
    // Loaded on first use: zarrita and its codecs stay out of the extension's first load.
    const { exportSession } = await import('./core/export');
    const sink = new ContentsSink(service, folder, bytes => {
      written += bytes;
      report();
    });
    const summary = await exportSession(
      {
        notebook: name,
        journal,
        liveSessions: live ? [live] : [],
        blobs: blobs.map(blob => blob.name),
        nbprovVersion: VERSION,
        license,
        scratch: sink.scratch(),
        onProgress: (done, total) => {
          step = done;
          steps = total;
          report();
        }
      },
      sink
    );
    Notification.update({
      id,
      message: trans()._n(
        'Provenance exported to %2/prov.json (%1 file, %3)',
        'Provenance exported to %2/prov.json (%1 files, %3)',
        summary.files.length,
        folder,
        megabytes(summary.bytes)
      ),
      type: 'success',
      progress: 1,
      autoClose: 5000
    });
    return PathExt.join(folder, 'prov.json');
  } catch (error) {
    Notification.update({
      id,
      message: trans().__('Provenance export failed (the previous export is unchanged): %1', (error as Error).message),
      type: 'error',
      autoClose: false
    });
    throw error;
  }
}
