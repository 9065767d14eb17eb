import { zlibSync } from 'fflate';

import { decodeKernelMessage } from '../../comm';
import { decodeMetricArrays, FramingError, IMetricArrays, MAX_BATCH_POINTS } from '../framing';
import { parseJournalFile } from '../reader';

const T = '2026-11-25T10:00:00.000+00:00';

const bytesOf = (array: BigInt64Array | Float64Array | Int32Array): Uint8Array =>
  new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const raw = (array: BigInt64Array | Float64Array | Int32Array): string => base64(bytesOf(array));
const zlib = (array: BigInt64Array | Float64Array | Int32Array): { zlib: string } => ({
  zlib: base64(zlibSync(bytesOf(array), { level: 1 }))
});
const fromBase64 = (payload: unknown): Uint8Array => {
  if (typeof payload !== 'string') {
    throw new Error('expected base64 text');
  }
  return new Uint8Array(Buffer.from(payload, 'base64'));
};

/** Every float64 bit pattern that JSON cannot hold, and the extremes. */
const AWKWARD = Float64Array.from([NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE, -Number.MAX_VALUE, 1 / 3]);

function metricsLine(series: Record<string, unknown>): string {
  return JSON.stringify({ type: 'metrics', t: T, seq: 1, run: 'a'.repeat(32), batch: 1, series: [series] });
}

describe('decodeMetricArrays', () => {
  it('reads every form of every array bit-exactly', () => {
    const n = AWKWARD.length;
    const steps = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 1000n - 3n);
    const timestamps = BigInt64Array.from({ length: n }, (_, i) => 1_700_000_000_000n + BigInt(i >> 1));
    const epochs = Int32Array.from({ length: n }, (_, i) => (i < 4 ? -1 : 2 ** 31 - 1));
    for (const encode of [raw, zlib]) {
      const decoded = decodeMetricArrays(
        { steps: encode(steps), values: encode(AWKWARD), timestamps: encode(timestamps), epochs: encode(epochs) },
        n,
        fromBase64
      );
      expect(decoded.steps).toEqual(steps);
      expect(bytesOf(decoded.values)).toEqual(bytesOf(AWKWARD)); // NaN's payload and -0's sign too
      expect(decoded.timestamps).toEqual(timestamps);
      expect(decoded.epochs).toEqual(epochs);
    }
  });

  it('expands start and same into exact int64 / int32 arrays', () => {
    const decoded = decodeMetricArrays(
      { steps: { start: -2 }, values: raw(new Float64Array(4)), timestamps: { same: 1_700_000_000_123 }, epochs: { same: 7 } },
      4,
      fromBase64
    );
    expect(decoded.steps).toEqual(BigInt64Array.from([-2n, -1n, 0n, 1n]));
    expect(decoded.timestamps).toEqual(
      BigInt64Array.from([1_700_000_000_123n, 1_700_000_000_123n, 1_700_000_000_123n, 1_700_000_000_123n])
    );
    expect(decoded.epochs).toEqual(Int32Array.from([7, 7, 7, 7]));
  });

  it('keeps huge steps exact as decimal strings, up to the last int64', () => {
    const top = 2n ** 63n - 1n;
    const series = (start: unknown): Record<string, unknown> => ({
      steps: { start },
      values: raw(new Float64Array(3)),
      timestamps: { same: 0 },
      epochs: { same: -1 }
    });
    expect(decodeMetricArrays(series(String(top - 2n)), 3, fromBase64).steps).toEqual(
      BigInt64Array.from([top - 2n, top - 1n, top])
    );
    expect(decodeMetricArrays(series('-9223372036854775808'), 3, fromBase64).steps[0]).toBe(-(2n ** 63n));
    // Across 2^53: beyond the doubles' exact integers, element by element.
    expect(decodeMetricArrays(series(String(2n ** 53n - 2n)), 3, fromBase64).steps).toEqual(
      BigInt64Array.from([2n ** 53n - 2n, 2n ** 53n - 1n, 2n ** 53n])
    );
    // A number JSON.parse could not hold exactly, a run past int64, and no integer at all are refused.
    expect(() => decodeMetricArrays(series(2 ** 53), 3, fromBase64)).toThrow(FramingError);
    expect(() => decodeMetricArrays(series(String(top - 1n)), 3, fromBase64)).toThrow(/beyond its 64-bit integers/);
    expect(() => decodeMetricArrays(series('1e3'), 3, fromBase64)).toThrow(/exact integer/);
    expect(() => decodeMetricArrays(series(1.5), 3, fromBase64)).toThrow(/exact integer/);
  });

  it('refuses what is not n elements, unknown forms, and more points than a record may hold', () => {
    const four = raw(new Float64Array(4));
    const base = { steps: { start: 0 }, values: four, timestamps: { same: 0 }, epochs: { same: 0 } };
    expect(() => decodeMetricArrays({ ...base, values: raw(new Float64Array(3)) }, 4, fromBase64)).toThrow(
      /"values" has 24 bytes, expected 32/
    );
    expect(() => decodeMetricArrays({ ...base, values: zlib(new Float64Array(5)) }, 4, fromBase64)).toThrow(
      /"values" inflates to 33 bytes, expected 32/
    );
    expect(() => decodeMetricArrays({ ...base, values: zlib(new Float64Array(3)) }, 4, fromBase64)).toThrow(/inflates to 24/);
    expect(() => decodeMetricArrays({ ...base, values: { zlib: base64(new Uint8Array([1, 2, 3])) } }, 4, fromBase64)).toThrow(
      /invalid zlib data/
    );
    // Floats have no start or same: JSON cannot hold NaN or -0.
    expect(() => decodeMetricArrays({ ...base, values: { same: 0 } }, 4, fromBase64)).toThrow(
      /not one of the metric array forms/
    );
    expect(() => decodeMetricArrays({ ...base, steps: { start: 0, same: 1 } }, 4, fromBase64)).toThrow(/not one of/);
    expect(() => decodeMetricArrays({ ...base, epochs: { same: 2 ** 31 } }, 4, fromBase64)).toThrow(/32-bit/);
    expect(() => decodeMetricArrays({ ...base, steps: [0, 1, 2, 3] }, 4, fromBase64)).toThrow(FramingError);
    // A count that would make start / same allocate gigabytes is refused before anything is allocated.
    expect(() => decodeMetricArrays(base, MAX_BATCH_POINTS + 1, fromBase64)).toThrow(/"n" must be a count/);
  });
});

describe('journal lines with framed metrics', () => {
  const series = (values: Float64Array): Record<string, unknown> => ({
    metric: 'loss',
    ctx: null,
    n: values.length,
    steps: { start: 10 },
    values: zlib(values),
    timestamps: { same: 1_700_000_000_000 },
    epochs: { same: -1 }
  });

  it('reads lines written before the framing (raw base64 arrays)', () => {
    const old = {
      metric: 'loss',
      ctx: 2,
      n: 2,
      steps: raw(BigInt64Array.from([5n, 9n])),
      values: raw(Float64Array.from([0.5, NaN])),
      timestamps: raw(BigInt64Array.from([1n, 2n])),
      epochs: raw(Int32Array.from([-1, 3]))
    };
    const parsed = parseJournalFile({ name: 'k-old.jsonl', text: metricsLine(old) + '\n' });
    expect(parsed.warnings).toEqual([]);
    const [batch] = (parsed.records[0].record as unknown as { series: IMetricArrays[] }).series;
    expect(batch.steps).toEqual(BigInt64Array.from([5n, 9n]));
    expect(batch.values[0]).toBe(0.5);
    expect(Number.isNaN(batch.values[1])).toBe(true);
    expect(batch.epochs).toEqual(Int32Array.from([-1, 3]));
  });

  it('loses only the line that is cut or corrupt', () => {
    const good = metricsLine(series(AWKWARD));
    const payload = (series(AWKWARD).values as { zlib: string }).zlib;
    // The zlib text cut short but the JSON still whole: the stream ends early.
    const cutStream = good.replace(payload, payload.slice(0, payload.length - 8));
    // The same bytes with one flipped: zlib's checksum catches it.
    const flipped = Buffer.from(payload, 'base64');
    flipped[4] ^= 0x40;
    const corrupt = good.replace(payload, flipped.toString('base64'));
    const text = [good, cutStream, corrupt, good, good.slice(0, good.length / 2)].join('\n');
    const parsed = parseJournalFile({ name: 'k-s.jsonl', text });
    expect(parsed.records.map(r => r.line)).toEqual([1, 4]);
    expect(parsed.warnings.map(w => [w.line, w.reason.split(':')[0]])).toEqual([
      [2, 'metrics'],
      [3, 'metrics'],
      [5, 'truncated last line']
    ]);
    const values = (parsed.records[1].record as unknown as { series: IMetricArrays[] }).series[0];
    expect(bytesOf(values.values)).toEqual(bytesOf(AWKWARD));
    expect(values.steps[0]).toBe(10n);
  });
});

describe('comm messages with framed metrics', () => {
  it('reads zlib, raw, start and same arrays from the buffers they name', () => {
    const values = Float64Array.from([0.25, -0, NaN]);
    const packed = zlibSync(bytesOf(values), { level: 1 });
    // A view at an odd offset into a larger frame, as a websocket hands buffers over.
    const frame = new Uint8Array(packed.length + 1 + 24);
    frame.set(packed, 1);
    const timestamps = BigInt64Array.from([1n, 2n, 3n]);
    frame.set(bytesOf(timestamps), 1 + packed.length);
    const decoded = decodeKernelMessage(
      {
        session: 'ab12',
        records: [
          {
            type: 'metrics',
            t: T,
            seq: 1,
            run: 'b'.repeat(32),
            batch: 1,
            series: [
              { metric: 'm', ctx: null, n: 3, steps: { start: 4 }, values: { zlib: 0 }, timestamps: 1, epochs: { same: 2 } }
            ]
          }
        ]
      },
      [new Uint8Array(frame.buffer, 1, packed.length), new Uint8Array(frame.buffer, 1 + packed.length, 24)]
    );
    expect(decoded?.kind).toBe('records');
    const series = (decoded as unknown as { records: { series: IMetricArrays[] }[] }).records[0].series[0];
    expect(series.steps).toEqual(BigInt64Array.from([4n, 5n, 6n]));
    expect(bytesOf(series.values)).toEqual(bytesOf(values));
    expect(series.timestamps).toEqual(timestamps);
    expect(series.epochs).toEqual(Int32Array.from([2, 2, 2]));
  });
});
