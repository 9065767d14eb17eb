/**
 * The framing of metric arrays in `metrics` records (ARCHITECTURE.md, "Metric framing"); the
 * writer is `nbprov/framing.py`.
 *
 * A series holds `n` points as four little-endian arrays, `steps` int64, `values` float64,
 * `timestamps` int64 (ms) and `epochs` int32. Each array field is one of:
 *   - a payload: the raw array (every array of journals written before the framing, and an array
 *     compression would not make smaller);
 *   - `{"zlib": payload}`: the raw array, zlib-compressed;
 *   - `{"start": s}` (integer arrays): s, s + 1, ..., s + n - 1;
 *   - `{"same": v}` (integer arrays): n times v.
 * A payload is base64 text in a journal line and a buffer index in a comm message; the caller
 * resolves it to bytes. Integers beyond ±(2^53 - 1) are decimal strings. Everything here is
 * synchronous (fflate's inflate), so the page decodes a batch in the same turn it receives it.
 */
import { unzlibSync } from 'fflate';

export type MetricArrayField = 'steps' | 'values' | 'timestamps' | 'epochs';

/** The most points of one series a record may hold (the kernel writes at most 65,536). */
export const MAX_BATCH_POINTS = 1 << 20;

export interface IMetricArrays {
  steps: BigInt64Array;
  values: Float64Array;
  timestamps: BigInt64Array;
  epochs: Int32Array;
}

/** A metric array that is not one of the forms above or does not hold `n` elements. */
export class FramingError extends Error {}

/** The bytes a payload stands for; throws (any error) when it names none. */
export type PayloadBytes = (payload: unknown) => Uint8Array;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO_32 = 2 ** 32;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

interface IArrayKind {
  width: 4 | 8;
  integer: boolean;
}

const KINDS: Record<MetricArrayField, IArrayKind> = {
  steps: { width: 8, integer: true },
  values: { width: 8, integer: false },
  timestamps: { width: 8, integer: true },
  epochs: { width: 4, integer: true }
};

/** Decodes the four arrays of one series (`series` is its JSON object, `n` its validated count). */
export function decodeMetricArrays(series: Record<string, unknown>, n: number, payloadBytes: PayloadBytes): IMetricArrays {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_BATCH_POINTS) {
    throw new FramingError(`"n" must be a count up to ${MAX_BATCH_POINTS}`);
  }
  const bytes = (field: MetricArrayField): Uint8Array => fieldBytes(series[field], field, n, payloadBytes);
  const steps = bytes('steps');
  const values = bytes('values');
  const timestamps = bytes('timestamps');
  const epochs = bytes('epochs');
  if (LITTLE_ENDIAN_HOST) {
    return {
      steps: new BigInt64Array(steps.buffer as ArrayBuffer, steps.byteOffset, n),
      values: new Float64Array(values.buffer as ArrayBuffer, values.byteOffset, n),
      timestamps: new BigInt64Array(timestamps.buffer as ArrayBuffer, timestamps.byteOffset, n),
      epochs: new Int32Array(epochs.buffer as ArrayBuffer, epochs.byteOffset, n)
    };
  }
  // Big-endian hosts: element by element from the little-endian bytes.
  const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const [s, v, t, e] = [view(steps), view(values), view(timestamps), view(epochs)];
  return {
    steps: BigInt64Array.from({ length: n }, (_, i) => s.getBigInt64(i * 8, true)),
    values: Float64Array.from({ length: n }, (_, i) => v.getFloat64(i * 8, true)),
    timestamps: BigInt64Array.from({ length: n }, (_, i) => t.getBigInt64(i * 8, true)),
    epochs: Int32Array.from({ length: n }, (_, i) => e.getInt32(i * 4, true))
  };
}

/** The field's little-endian bytes, `n` elements long, aligned for a typed array of its width. */
function fieldBytes(value: unknown, field: MetricArrayField, n: number, payloadBytes: PayloadBytes): Uint8Array {
  const { width, integer } = KINDS[field];
  const expected = n * width;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const form = value as Record<string, unknown>;
    const keys = Object.keys(form);
    if (keys.length === 1 && keys[0] === 'zlib') {
      return inflated(resolve(form.zlib, field, payloadBytes), field, expected);
    }
    if (integer && keys.length === 1 && (keys[0] === 'start' || keys[0] === 'same')) {
      return integerSequence(exactInteger(form[keys[0]], field), keys[0] === 'start' ? 1 : 0, n, width, field);
    }
    throw new FramingError(`array "${field}" is not one of the metric array forms`);
  }
  const raw = resolve(value, field, payloadBytes);
  if (raw.byteLength !== expected) {
    throw new FramingError(`array "${field}" has ${raw.byteLength} bytes, expected ${expected}`);
  }
  // A view into a larger buffer (a comm message's) need not be aligned for a typed array.
  return raw.byteOffset % width === 0 ? raw : raw.slice();
}

function resolve(payload: unknown, field: MetricArrayField, payloadBytes: PayloadBytes): Uint8Array {
  try {
    return payloadBytes(payload);
  } catch (error) {
    throw new FramingError(`array "${field}": ${(error as Error).message}`, { cause: error });
  }
}

function inflated(packed: Uint8Array, field: MetricArrayField, expected: number): Uint8Array {
  // One spare byte: a stream that inflates to more than `n` elements is caught, not cut short.
  const out = new Uint8Array(expected + 1);
  let result: Uint8Array;
  try {
    result = unzlibSync(packed, { out });
  } catch (error) {
    throw new FramingError(`array "${field}": invalid zlib data (${(error as Error).message})`, { cause: error });
  }
  if (result.byteLength !== expected) {
    throw new FramingError(`array "${field}" inflates to ${result.byteLength} bytes, expected ${expected}`);
  }
  return result.buffer === out.buffer ? out.subarray(0, expected) : result;
}

function exactInteger(value: unknown, field: MetricArrayField): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) {
    return BigInt(value);
  }
  throw new FramingError(`array "${field}": expected an exact integer (a decimal string beyond 2^53)`);
}

/** `first`, `first + step`, ... as `n` little-endian integers of `width` bytes. */
function integerSequence(first: bigint, step: 0 | 1, n: number, width: 4 | 8, field: MetricArrayField): Uint8Array {
  const last = first + BigInt(step * Math.max(0, n - 1));
  const [min, max] = width === 4 ? [-(2n ** 31n), 2n ** 31n - 1n] : [INT64_MIN, INT64_MAX];
  if (first < min || last > max) {
    throw new FramingError(`array "${field}" runs beyond its ${width * 8}-bit integers`);
  }
  const out = new Uint8Array(n * width);
  const view = new DataView(out.buffer);
  if (width === 4) {
    const start = Number(first);
    for (let i = 0; i < n; i++) {
      view.setInt32(i * 4, start + step * i, true);
    }
  } else if (first >= -BigInt(Number.MAX_SAFE_INTEGER) && last <= BigInt(Number.MAX_SAFE_INTEGER)) {
    // Doubles hold these exactly: two 32-bit halves each, without a bigint per element.
    const start = Number(first);
    for (let i = 0; i < n; i++) {
      const v = start + step * i;
      const high = Math.floor(v / TWO_32);
      view.setUint32(i * 8, v - high * TWO_32, true);
      view.setInt32(i * 8 + 4, high, true);
    }
  } else {
    for (let i = 0; i < n; i++) {
      view.setBigInt64(i * 8, first + BigInt(step * i), true);
    }
  }
  return out;
}
