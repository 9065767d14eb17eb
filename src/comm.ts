/**
 * Pure decoding of the messages the kernel sends on the nbprov comm (nbprov/stream.py): a hello, or
 * a batch of journal records in `seq` order whose metric arrays travel as binary buffers (each array
 * field holds its buffer's index in the message). Nothing is cast blindly: a record that does not
 * check out is rejected on its own, with a reason. `missing` counts the records the page must read
 * from the journal on disk: those rejected here and those the kernel left out (`omitted`).
 */
import { IDecodedSeries, IKernelRecord } from './store';

/** The kernel's greeting: its journal session and file. */
export interface IKernelHello {
  session: string;
  journal: string;
  notebook: string;
}

/** A binary buffer of a kernel message, as the services package hands it over. */
export type MessageBuffer = ArrayBuffer | ArrayBufferView;

/** One decoded comm message of a kernel session. */
export type DecodedKernelMessage =
  | { kind: 'hello'; hello: IKernelHello }
  | {
      kind: 'records';
      session: string;
      /** The kernel session that forwarded a rank process's records (`session` is the rank's). */
      via: string | null;
      records: IKernelRecord[];
      rejected: string[];
      missing: number;
    };

/** Kernel sessions are generated ids (nbprov/__init__.py), never free text. */
const SESSION = /^[A-Za-z0-9_-]{1,64}$/;

const ARRAYS = [
  ['steps', 8],
  ['values', 8],
  ['timestamps', 8],
  ['epochs', 4]
] as const;

/**
 * Decodes one message's `data` and buffers; null when it is not an nbprov kernel message at all.
 * Throws nothing: every malformed part is dropped or listed in `rejected`.
 */
export function decodeKernelMessage(data: unknown, buffers: readonly MessageBuffer[]): DecodedKernelMessage | null {
  if (!isObject(data) || typeof data.session !== 'string' || !SESSION.test(data.session)) {
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
  const records: IKernelRecord[] = [];
  const rejected: string[] = [];
  data.records.forEach((item: unknown, index: number) => {
    try {
      records.push(decodeRecord(item, buffers));
    } catch (error) {
      rejected.push(`record ${index}: ${(error as Error).message}`);
    }
  });
  const omitted = data.omitted ?? 0;
  if (!Number.isSafeInteger(omitted) || (omitted as number) < 0) {
    rejected.push('omitted must be a count');
  }
  const missing = rejected.length + (Number.isSafeInteger(omitted) ? Math.max(0, omitted as number) : 0);
  const via = typeof data.via === 'string' && SESSION.test(data.via) ? data.via : null;
  return { kind: 'records', session, via, records, rejected, missing };
}

function decodeRecord(item: unknown, buffers: readonly MessageBuffer[]): IKernelRecord {
  if (!isObject(item) || typeof item.type !== 'string' || typeof item.t !== 'string') {
    throw new Error('not a record (type and t must be strings)');
  }
  if (!Number.isSafeInteger(item.seq) || (item.seq as number) < 1) {
    throw new Error(`${item.type}: seq must be a positive integer`);
  }
  const record: IKernelRecord = { ...item, type: item.type, t: item.t, seq: item.seq as number };
  if (record.type === 'metrics') {
    if (!Array.isArray(item.series)) {
      throw new Error(`metrics seq ${record.seq}: series must be a list`);
    }
    record.series = item.series.map((series: unknown) => decodeSeries(series, buffers));
  }
  return record;
}

function decodeSeries(series: unknown, buffers: readonly MessageBuffer[]): IDecodedSeries {
  if (!isObject(series) || typeof series.metric !== 'string') {
    throw new Error('a metric series needs a metric name');
  }
  const { metric, ctx, n } = series;
  if (!(ctx === null || Number.isSafeInteger(ctx)) || !Number.isSafeInteger(n) || (n as number) < 0) {
    throw new Error(`series ${metric}: ctx must be an integer or null and n a count`);
  }
  const bytes = (field: string, itemSize: number): ArrayBuffer => {
    const index = series[field];
    const buffer = Number.isSafeInteger(index) ? buffers[index as number] : undefined;
    if (buffer === undefined) {
      throw new Error(`series ${metric}: ${field} names no buffer of the message`);
    }
    if (buffer.byteLength !== (n as number) * itemSize) {
      throw new Error(`series ${metric}: ${field} holds ${buffer.byteLength} bytes for ${n} points`);
    }
    // Copy: a view into a message buffer need not be aligned for typed arrays.
    return buffer instanceof ArrayBuffer
      ? buffer
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice().buffer;
  };
  const [steps, values, timestamps, epochs] = ARRAYS.map(([field, size]) => bytes(field, size));
  return {
    metric,
    ctx: ctx as number | null,
    steps: new BigInt64Array(steps),
    values: new Float64Array(values),
    timestamps: new BigInt64Array(timestamps),
    epochs: new Int32Array(epochs)
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
