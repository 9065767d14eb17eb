/** Test records written as plain objects, put through the one validator like every real record. */
import { JournalRecord, validateRecord } from '../core/records';

/** A record as a test writes it: metric arrays as plain or typed arrays, `n` optional. */
export interface IRawRecord {
  type: string;
  t: string;
  seq?: number;
  [field: string]: unknown;
}

/** The tests' clock: record times are `iso(ms after T0)`. */
export const T0 = Date.parse('2025-01-01T10:00:00.000Z');
export const iso = (ms: number): string => new Date(T0 + ms).toISOString();
/** A run id (32 hex digits) made from a number. */
export const runId = (n: number): string => n.toString(16).padStart(32, '0');

const ARRAYS: [string, (values: ArrayLike<number | bigint>) => ArrayBufferView][] = [
  ['steps', v => BigInt64Array.from(Array.from(v), x => BigInt(x))],
  ['values', v => Float64Array.from(Array.from(v), Number)],
  ['timestamps', v => BigInt64Array.from(Array.from(v), x => BigInt(x))],
  ['epochs', v => Int32Array.from(Array.from(v), Number)]
];

const base64 = (view: ArrayBufferView): string => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');

/** Encodes the arrays as a journal line holds them, validates, and fails the test on a rejected record. */
export function validated(raws: Iterable<IRawRecord>): JournalRecord[] {
  return Array.from(raws, raw => {
    const line: Record<string, unknown> = { ...raw };
    if (raw.type === 'metrics' && Array.isArray(raw.series)) {
      line.series = raw.series.map((s: Record<string, unknown>) => {
        const encoded: Record<string, unknown> = { ...s, n: s.n ?? (s.values as ArrayLike<number>).length };
        for (const [field, make] of ARRAYS) {
          if (typeof s[field] !== 'string') {
            encoded[field] = base64(make(s[field] as ArrayLike<number | bigint>));
          }
        }
        return encoded;
      });
    }
    const record = validateRecord(line);
    if (record === null) {
      throw new Error(`unknown record type ${raw.type}`);
    }
    return record;
  });
}
