/**
 * Filesystem implementation of the export sink, rooted at one `.prov` folder.
 *
 * Nothing is ever written through a symbolic link: the folder itself, an earlier export's file or
 * folder, or anything inside an earlier `metrics.zarr/` being a link is refused before the first
 * write. Files are written into a staging folder inside the root (created new, files opened with
 * `O_EXCL | O_NOFOLLOW`) and renamed into place by `commit`, so an export that fails midway (a full
 * disk) leaves the previous export as it was.
 */

import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

import { assertSafeRelativePath, type IFileSink, REPLACED_PREFIX, STAGING_PREFIX } from '../core/sink';
import { UserError } from './errors';

const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** `<prefix><pid>-<hex>`: the pid tells a leftover of a killed export from a running one. */
const TEMPORARY_NAME = new RegExp(`^(?:${STAGING_PREFIX}|${REPLACED_PREFIX})(\\d+)-[0-9a-f]+$`);

export class DirectorySink implements IFileSink {
  private readonly root: string;
  private readonly token = `${process.pid}-${randomBytes(6).toString('hex')}`;
  private readonly staging: string;
  private prepared: Promise<void> | null = null;
  /** Top-level names written (`prov.json`, `metrics.zarr`…), each checked once, in first-write order. */
  private readonly entries = new Map<string, Promise<void>>();
  private readonly directories = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.root = path.resolve(root);
    this.staging = path.join(this.root, STAGING_PREFIX + this.token);
  }

  async write(relativePath: string, data: Uint8Array | string): Promise<void> {
    assertSafeRelativePath(relativePath);
    const segments = relativePath.split('/');
    await (this.prepared ??= this.prepare());
    const entry = segments[0];
    if (!this.entries.has(entry)) {
      this.entries.set(entry, assertNoLink(path.join(this.root, entry)));
    }
    await this.entries.get(entry);
    for (let depth = 1; depth < segments.length; depth++) {
      await this.directory(segments.slice(0, depth).join('/'));
    }
    const handle = await fs.open(path.join(this.staging, ...segments), NEW_FILE, 0o644);
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  }

  /** Puts every staged entry in place: files by an atomic rename, folders by two renames. */
  async commit(): Promise<void> {
    if (this.prepared === null) {
      return;
    }
    const replaced = path.join(this.root, REPLACED_PREFIX + this.token);
    let replacedMade = false;
    // Folders first: prov.json names metrics.zarr's groups, so it arrives after them.
    const names = [...this.entries.keys()].sort((a, b) => Number(a.includes('.json')) - Number(b.includes('.json')));
    for (const name of names) {
      const target = path.join(this.root, name);
      const staged = path.join(this.staging, name);
      await assertNoLink(target);
      const existing = await fs.lstat(target).catch(() => null);
      const stagedIsFolder = (await fs.lstat(staged)).isDirectory();
      if (existing !== null && (existing.isDirectory() || stagedIsFolder)) {
        if (!replacedMade) {
          await fs.mkdir(replaced);
          replacedMade = true;
        }
        await fs.rename(target, path.join(replaced, name));
      }
      await fs.rename(staged, target);
    }
    await fs.rm(this.staging, { recursive: true, force: true });
    if (replacedMade) {
      await fs.rm(replaced, { recursive: true, force: true });
    }
  }

  async abort(): Promise<void> {
    if (this.prepared !== null) {
      await fs.rm(this.staging, { recursive: true, force: true });
    }
  }

  private async prepare(): Promise<void> {
    const stat = await fs.lstat(this.root).catch(() => null);
    if (stat?.isSymbolicLink()) {
      throw new UserError(`refusing to export into ${this.root}: it is a symbolic link`);
    }
    if (!stat?.isDirectory()) {
      throw new UserError(`refusing to export into ${this.root}: it is not a folder`);
    }
    await removeLeftovers(this.root);
    await fs.mkdir(this.staging);
    // The staging folder must be where it was made, not reached through a link swapped in meanwhile.
    if ((await fs.realpath(this.staging)) !== path.join(await fs.realpath(this.root), path.basename(this.staging))) {
      throw new UserError(`refusing to export into ${this.root}: its path changed during the export`);
    }
  }

  /** Creates one staging subfolder once, however many writes ask for it at the same time. */
  private directory(relative: string): Promise<void> {
    let made = this.directories.get(relative);
    if (made === undefined) {
      made = fs.mkdir(path.join(this.staging, ...relative.split('/'))).then(() => undefined);
      this.directories.set(relative, made);
    }
    return made;
  }
}

/** Refuses `target` when it, or anything below it (an earlier export's folder), is a symbolic link. */
async function assertNoLink(target: string): Promise<void> {
  const stat = await fs.lstat(target).catch(() => null);
  if (stat === null) {
    return;
  }
  if (stat.isSymbolicLink()) {
    throw new UserError(`refusing to replace ${target}: it is a symbolic link (nothing is written through links)`);
  }
  if (!stat.isDirectory()) {
    if (!stat.isFile()) {
      throw new UserError(`refusing to replace ${target}: it is not a regular file`);
    }
    return;
  }
  for (const entry of await fs.readdir(target, { withFileTypes: true })) {
    const child = path.join(target, entry.name);
    if (entry.isSymbolicLink()) {
      throw new UserError(`refusing to replace ${target}: ${child} is a symbolic link (nothing is written through links)`);
    }
    if (entry.isDirectory()) {
      await assertNoLink(child);
    }
  }
}

/** Removes the staging and replaced folders of exports whose process is gone (killed midway). */
async function removeLeftovers(root: string): Promise<void> {
  for (const entry of await fs.readdir(root, { withFileTypes: true })) {
    const pid = TEMPORARY_NAME.exec(entry.name)?.[1];
    if (pid !== undefined && entry.isDirectory() && !processAlive(Number(pid))) {
      await fs.rm(path.join(root, entry.name), { recursive: true, force: true });
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
