/** Journal files read from disk as streams of chunks: a journal of any size is never one string. */

import { createReadStream } from 'node:fs';
import * as path from 'node:path';

import type { IJournalStream } from '../core/reader';

/** Bytes per read: the reader keeps one chunk and the current partial line. */
export const READ_CHUNK_BYTES = 1 << 20;

export function journalStream(journalDir: string, name: string): IJournalStream {
  return { name, read: () => createReadStream(path.join(journalDir, name), { highWaterMark: READ_CHUNK_BYTES }) };
}
