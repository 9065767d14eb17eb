/**
 * Pure decoding of the messages the kernel sends on the nbprov comm (nbprov/stream.py): a hello, or
 * a batch of journal records in `seq` order whose metric arrays are framed as in the journal
 * (`core/framing.ts`), their bytes in binary buffers (a buffer's index where the journal has
 * base64). Every record passes the journal's validator (core/records.ts), so nothing is cast: a record that does not check out (or of a type this page
 * does not know) is rejected on its own, with a reason. `missing` counts the records the page must
 * read from the journal on disk: those rejected here and those the kernel left out (`omitted`).
 */
import { commArrays, type JournalRecord, type MessageBuffer, SESSION_ID, validateRecord } from './core/records';

export type { MessageBuffer } from './core/records';

/** The kernel's greeting: its journal session and file. */
export interface IKernelHello {
  session: string;
  journal: string;
  notebook: string;
}

/** One decoded comm message of a kernel session. */
export type DecodedKernelMessage =
  | { kind: 'hello'; hello: IKernelHello }
  | {
      kind: 'records';
      session: string;
      /** The kernel session that forwarded a rank process's records (`session` is the rank's), else null. */
      via: string | null;
      records: JournalRecord[];
      rejected: string[];
      missing: number;
    };

/**
 * Decodes one message's `data` and buffers; null when it is not an nbprov kernel message at all.
 * Throws nothing: every malformed part is dropped or listed in `rejected`.
 */
export function decodeKernelMessage(data: unknown, buffers: readonly MessageBuffer[]): DecodedKernelMessage | null {
  if (!isObject(data) || typeof data.session !== 'string' || !SESSION_ID.test(data.session)) {
    return null;
  }
  const session = data.session;
  if (isObject(data.hello)) {
    const { journal, notebook } = data.hello;
    if (typeof journal !== 'string' || typeof notebook !== 'string') {
      return null;
    }
    return { kind: 'hello', hello: { session, journal, notebook } };
  }
  if (!Array.isArray(data.records)) {
    return null;
  }
  const records: JournalRecord[] = [];
  const rejected: string[] = [];
  const arrays = commArrays(buffers);
  data.records.forEach((item: unknown, index: number) => {
    try {
      records.push(decodeRecord(item, arrays));
    } catch (error) {
      rejected.push(`record ${index}: ${(error as Error).message}`);
    }
  });
  const omitted = data.omitted ?? 0;
  if (!Number.isSafeInteger(omitted) || (omitted as number) < 0) {
    rejected.push('omitted must be a count');
  }
  const missing = rejected.length + (Number.isSafeInteger(omitted) ? Math.max(0, omitted as number) : 0);
  const via = typeof data.via === 'string' && SESSION_ID.test(data.via) ? data.via : null;
  return { kind: 'records', session, via, records, rejected, missing };
}

/** A comm record passes the journal's validator (arrays from buffers) and must carry its `seq`. */
function decodeRecord(item: unknown, arrays: ReturnType<typeof commArrays>): JournalRecord {
  const record = validateRecord(item, arrays);
  if (record === null) {
    throw new Error(`unknown record type ${JSON.stringify((item as { type: unknown }).type)}`);
  }
  if (record.seq === undefined || record.seq < 1) {
    throw new Error(`${record.type}: seq must be a positive integer`);
  }
  return record;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
