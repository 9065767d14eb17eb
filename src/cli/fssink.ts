/** Filesystem implementation of the export sink, rooted at one folder. */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { assertSafeRelativePath, type IFileSink } from '../core/sink';

export class DirectorySink implements IFileSink {
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async write(relativePath: string, data: Uint8Array | string): Promise<void> {
    assertSafeRelativePath(relativePath);
    const target = path.resolve(this.root, ...relativePath.split('/'));
    // Second line of defence: the resolved path must stay under the root.
    if (!target.startsWith(this.root + path.sep)) {
      throw new Error(`refusing to write outside ${this.root}: ${relativePath}`);
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, data);
  }
}
