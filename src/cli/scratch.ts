/**
 * The CLI's export scratch (core/spill.ts): one file in the provenance folder, on the disk the
 * export writes to (not /tmp, often memory), removed from the folder as soon as it is open so that
 * a killed export leaves nothing behind.
 */

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { IScratch } from '../core/spill';

export function fileScratch(folder: string): IScratch {
  const file = path.join(folder, `export-scratch-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = fs.openSync(file, 'wx+', 0o600);
  let unlinked = true;
  try {
    fs.unlinkSync(file);
  } catch {
    unlinked = false; // a system that cannot remove an open file: removed at close
  }
  let size = 0;
  return {
    append: bytes => {
      const at = size;
      for (let done = 0; done < bytes.length;) {
        done += fs.writeSync(fd, bytes, done, bytes.length - done, at + done);
      }
      size += bytes.length;
      return at;
    },
    settle: async () => undefined, // every append is written before it returns
    read: async (handle, offset, length) => {
      const bytes = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const read = fs.readSync(fd, bytes, done, length - done, handle + offset + done);
        if (read === 0) {
          throw new Error(`export scratch file ${file} ended early`);
        }
        done += read;
      }
      return bytes;
    },
    close: async () => {
      fs.closeSync(fd);
      if (!unlinked) {
        fs.rmSync(file, { force: true });
      }
    }
  };
}
