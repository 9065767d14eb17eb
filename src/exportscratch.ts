/**
 * The page export's scratch (core/spill.ts): a file on the server's disk, so the points do not
 * wait in the page's memory. Appends are joined into uploads of `pieceBytes` (a sweep's thousands
 * of small series would otherwise cost a request each) through the Contents API's chunked save,
 * one upload running while the fold goes on; reads are HTTP range requests on the file's
 * `files/` route, a window of `pieceBytes` at a time for the same reason.
 */

import { concatBytes } from './core/reader';
import type { IScratch } from './core/spill';
import type { ContentsService } from './service';

/** What the scratch needs of the server (a `ContentsService`'s methods). */
export type ScratchServer = Pick<ContentsService, 'appendLarge' | 'readRange' | 'writeBytes' | 'delete'>;

/**
 * A scratch in `file`, created at the first upload once `ready` (the folder made) resolves.
 * Closing empties the file before deleting it: a server that deletes to the trash would keep
 * every byte of it there.
 */
export function contentsScratch(server: ScratchServer, file: string, ready: () => Promise<void>, pieceBytes: number): IScratch {
  let size = 0;
  let uploaded = 0;
  let waiting: Uint8Array[] = [];
  let waitingBytes = 0;
  let stored: Promise<void> = Promise.resolve();
  // All but the latest upload: the fold goes on while one runs (the server's work).
  let storedBeforeLatest: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | null = null;
  let window: { start: number; bytes: Uint8Array } | null = null;

  const upload = (): void => {
    if (waitingBytes === 0) {
      return;
    }
    const bytes = concatBytes(waiting);
    waiting = [];
    waitingBytes = 0;
    const create = uploaded === 0;
    uploaded += bytes.byteLength;
    const sizeBefore = uploaded - bytes.byteLength;
    storedBeforeLatest = stored;
    stored = stored.then(async () => {
      await ready();
      await server.appendLarge(file, bytes, create, sizeBefore);
    });
    // Kept, so that the next `settle` fails at once (and no rejection goes unhandled).
    stored.catch(error => void (failure ??= { error }));
  };

  return {
    append: bytes => {
      const at = size;
      size += bytes.byteLength;
      if (bytes.byteLength > 0) {
        waiting.push(bytes);
        waitingBytes += bytes.byteLength;
        if (waitingBytes >= pieceBytes) {
          upload();
        }
      }
      return at;
    },
    settle: async () => {
      if (failure !== null) {
        throw failure.error;
      }
      await storedBeforeLatest;
    },
    read: async (handle, offset, length) => {
      upload();
      await stored;
      const start = handle + offset;
      if (window === null || start < window.start || start + length > window.start + window.bytes.byteLength) {
        const span = Math.min(Math.max(length, pieceBytes), size - start);
        window = { start, bytes: span === 0 ? new Uint8Array(0) : await server.readRange(file, start, span) };
      }
      // A copy: a segment starts wherever the one before ended, and the typed arrays need 8-byte alignment.
      return window.bytes.slice(start - window.start, start - window.start + length);
    },
    close: async () => {
      waiting = [];
      window = null;
      await stored.catch(() => undefined);
      if (uploaded > 0) {
        await server.writeBytes(file, new Uint8Array(0)).catch(() => undefined);
        await server.delete(file).catch(() => undefined);
      }
    }
  };
}
