import { MetricSeries, RunStore } from '../store';
import { IRawRecord, validated } from './records';
import { RunStoreChange, seriesKey } from '../tokens';

const T = '2026-11-25T10:00:00.000+00:00';
const R1 = '0123456789abcdef0123456789abcdef';

function metrics(seq: number, batch: number, values: number[], start = 0): IRawRecord {
  return {
    type: 'metrics',
    t: T,
    seq,
    run: R1,
    batch,
    series: [
      {
        metric: 'loss',
        ctx: 0,
        steps: BigInt64Array.from(values.map((_, i) => BigInt(start + i))),
        values: Float64Array.from(values),
        timestamps: BigInt64Array.from(values.map((_, i) => BigInt(1_700_000_000_000 + i))),
        epochs: Int32Array.from(values.map(() => 2))
      }
    ]
  };
}

const runStart: IRawRecord = { type: 'run_start', t: T, seq: 1, run: R1, name: 'base', experiment: 'e', exec: 's-1' };

describe('MetricSeries', () => {
  it('stores points across chunk boundaries and slices them back exactly', () => {
    const series = new MetricSeries('m', null);
    const n = 70_000;
    const values = Float64Array.from({ length: n }, (_, i) => i * 0.5);
    const steps = Float64Array.from({ length: n }, (_, i) => i);
    series.append(
      steps,
      values,
      steps,
      Int32Array.from({ length: n }, (_, i) => (i < 66_000 ? 1 : 2))
    );
    expect(series.length).toBe(n);
    expect(series.value(65_535)).toBe(65_535 * 0.5);
    expect(series.value(65_536)).toBe(65_536 * 0.5);
    expect(series.epoch(65_999)).toBe(1);
    expect(series.epoch(66_000)).toBe(2);
    const slice = series.slice(65_530, 65_540);
    expect(Array.from(slice.steps)).toEqual([65530, 65531, 65532, 65533, 65534, 65535, 65536, 65537, 65538, 65539]);
  });

  it('gives a slice the timestamps it held when sliced, read later across chunks and appends', () => {
    const series = new MetricSeries('m', null);
    const T = 1_700_000_000_000;
    const n = 20_000; // more than two chunks, each with its own time base
    series.append(
      Float64Array.from({ length: n }, (_, i) => i),
      new Float64Array(n),
      Float64Array.from({ length: n }, (_, i) => T + i * 7),
      new Int32Array(n).fill(-1)
    );
    const slice = series.slice(8_000, 17_000);
    // Appends after the slice leave what it was sliced from as it was.
    series.append([n], [1], [T + 10 ** 9], [-1]);
    expect(slice.timestamps).toHaveLength(9_000);
    expect(slice.timestamps.every((timestamp, i) => timestamp === T + (8_000 + i) * 7)).toBe(true);
    // Read once: the same array again.
    expect(slice.timestamps).toBe(slice.timestamps);
    expect(Array.from(series.slice(n, n + 1).timestamps)).toEqual([T + 10 ** 9]);
  });

  it('slices one chunk without copying it, and the slice keeps its points through appends and widening', () => {
    const series = new MetricSeries('m', null);
    series.append([0, 1, 2, 3], [10, 11, 12, 13], [0, 1, 2, 3], [-1, -1, -1, -1]);
    const slice = series.slice(1, 3);
    expect(slice.values.buffer).toBe(series.slice(0, 4).values.buffer);
    // A step past 32 bits widens the chunk's steps into a new array; then points follow.
    series.append([2 ** 40, 5], [14, 15], [4, 5], [-1, -1]);
    expect([Array.from(slice.steps), Array.from(slice.values)]).toEqual([
      [1, 2],
      [11, 12]
    ]);
    expect(Array.from(series.slice(2, 6).steps)).toEqual([2, 3, 2 ** 40, 5]);
  });

  it('keeps NaN and infinities', () => {
    const series = new MetricSeries('m', null);
    series.append([0, 1, 2], [NaN, Infinity, -Infinity], [0, 0, 0], [-1, -1, -1]);
    expect(Array.from(series.slice(0, 3).values)).toEqual([NaN, Infinity, -Infinity]);
    expect(series.epoch(0)).toBe(-1);
  });

  it('holds about 16 bytes a point for integer steps and millisecond timestamps', () => {
    const series = new MetricSeries('m', null);
    const n = 1_000_000;
    const steps = Float64Array.from({ length: n }, (_, i) => i);
    const times = Float64Array.from({ length: n }, (_, i) => 1_764_000_000_000 + i * 3);
    series.append(steps, new Float64Array(n), times, new Int32Array(n));
    expect(series.byteLength / n).toBeLessThanOrEqual(16 * 1.01);
    expect(series.timestamp(n - 1)).toBe(1_764_000_000_000 + (n - 1) * 3);
  });

  it('widens a chunk whose steps or timestamps do not fit, keeping every value exact', () => {
    const series = new MetricSeries('m', null);
    const steps = [0, 1, 2 ** 40, 3];
    const times = [1_764_000_000_000, 1_763_999_999_000, 1_764_000_000_000 + 2 ** 33, 5];
    series.append(steps, [1, 2, 3, 4], times, [-1, -1, -1, -1]);
    const slice = series.slice(0, 4);
    expect(Array.from(slice.steps)).toEqual(steps);
    expect(Array.from(slice.timestamps)).toEqual(times);
    expect(times.map((_, i) => series.timestamp(i))).toEqual(times);
    expect(steps.map((_, i) => series.step(i))).toEqual(steps);
  });

  it('reads int64 arrays as Number() does: negative, beyond 32 bits, beyond 2^53 (rounded once)', () => {
    const series = new MetricSeries('m', null);
    const steps = BigInt64Array.from([
      0n,
      -1n,
      -(2n ** 31n) - 1n,
      2n ** 32n + 5n,
      2n ** 53n + 1n,
      3n - 2n ** 62n,
      2n ** 63n - 1n
    ]);
    const times = BigInt64Array.from([1_764_000_000_000n, -5n, 2n ** 40n, 0n, 2n ** 60n + 7n, 1n, 2n ** 53n + 3n]);
    series.append(steps, new Float64Array(steps.length), times, new Int32Array(steps.length).fill(-1));
    expect(Array.from(steps, (_, i) => series.step(i))).toEqual(Array.from(steps, Number));
    expect(Array.from(times, (_, i) => series.timestamp(i))).toEqual(Array.from(times, Number));
  });

  it('appended in pieces that cross chunk boundaries, holds what one append holds', () => {
    const n = 20_000;
    const steps = BigInt64Array.from({ length: n }, (_, i) => BigInt(i * 7 - 3));
    const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const times = BigInt64Array.from({ length: n }, (_, i) => BigInt(1_764_000_000_000 + (i >> 4)));
    const epochs = Int32Array.from({ length: n }, (_, i) => (i < 9_000 ? -1 : i >> 12));
    const whole = new MetricSeries('m', null);
    whole.append(steps, values, times, epochs);
    const pieces = new MetricSeries('m', null);
    for (const [from, to] of [
      [0, 5_000],
      [5_000, 8_192],
      [8_192, 8_193],
      [8_193, 17_000],
      [17_000, n]
    ]) {
      pieces.append(steps.subarray(from, to), values.subarray(from, to), times.subarray(from, to), epochs.subarray(from, to));
    }
    expect(pieces.length).toBe(n);
    expect(pieces.slice(0, n)).toEqual(whole.slice(0, n));
    expect(Array.from({ length: n }, (_, i) => pieces.epoch(i))).toEqual(Array.from(epochs));
    expect(pieces.step(n - 1)).toBe((n - 1) * 7 - 3);
  });
});

describe('RunStore', () => {
  it('builds runs from records and signals changes', () => {
    const store = new RunStore();
    const seen: RunStoreChange[] = [];
    store.changed.connect((_, changes) => seen.push(...changes));
    store.apply(
      's',
      validated([
        runStart,
        { type: 'param', t: T, seq: 2, run: R1, key: 'lr', value: 0.1, role: 'input' },
        { type: 'context_start', t: T, seq: 3, run: R1, ctx: 0, name: 'training', epoch: 2, parent: null },
        metrics(4, 1, [1, 2, 3]),
        { type: 'run_end', t: '2026-11-25T10:00:05.000+00:00', seq: 5, run: R1, status: 'finished' }
      ])
    );
    const run = store.runs.get(R1)!;
    expect(run.name).toBe('base');
    expect(run.status).toBe('finished');
    expect(run.end! - run.start).toBe(5000);
    expect(run.params.get('lr')!.value).toBe(0.1);
    expect(run.contexts.get(0)!.name).toBe('training');
    expect(run.series.get(seriesKey('loss', 0))!.length).toBe(3);
    expect(seen).toContainEqual({ kind: 'points', runId: R1, seriesKey: seriesKey('loss', 0), from: 0 });
    expect(store.pointCount).toBe(3);
  });

  it('drops duplicates and waits on gaps until they are filled', () => {
    const store = new RunStore();
    expect(store.apply('s', validated([runStart]))).toBe(false);
    // Live record 3 arrives before 2: it waits, and the caller is told to catch up.
    expect(store.apply('s', validated([metrics(3, 2, [4, 5], 3)]))).toBe(true);
    expect(store.runs.get(R1)!.series.size).toBe(0);
    // The journal re-read delivers 1..3 again: 1 is dropped, 2 fills the gap, 3 is applied once.
    expect(store.apply('s', validated([runStart, metrics(2, 1, [1, 2, 3]), metrics(3, 2, [4, 5], 3)]))).toBe(false);
    const series = store.runs.get(R1)!.series.get(seriesKey('loss', 0))!;
    expect(Array.from(series.slice(0, series.length).values)).toEqual([1, 2, 3, 4, 5]);
    expect(store.lastSeq('s')).toBe(3);
  });

  it('skips a record lost from a complete journal instead of waiting for it', () => {
    const store = new RunStore();
    const runEnd: IRawRecord = { type: 'run_end', t: T, seq: 4, run: R1, status: 'finished' };
    // seq 2 and 3 are damaged lines: live, record 4 would wait; from the journal it is applied.
    expect(store.apply('s', validated([runStart, runEnd]))).toBe(true);
    expect(store.runs.get(R1)!.status).toBe('running');
    expect(store.apply('s', validated([runStart, runEnd]), 4)).toBe(false);
    expect(store.runs.get(R1)!.status).toBe('finished');
    expect(store.lastSeq('s')).toBe(4);
  });

  it('skips a record lost from a journal read in pieces once the whole file is read, not before', () => {
    const store = new RunStore();
    const runEnd: IRawRecord = { type: 'run_end', t: T, seq: 4, run: R1, status: 'finished' };
    // The file arrives in two pieces; seq 2 and 3 are damaged lines between them.
    expect(store.apply('s', validated([runStart]))).toBe(false);
    expect(store.apply('s', validated([runEnd]))).toBe(true);
    expect(store.runs.get(R1)!.status).toBe('running');
    // Its end: the highest seq the file holds is 4, so 2 and 3 are lost for good.
    expect(store.apply('s', [], 4)).toBe(false);
    expect(store.runs.get(R1)!.status).toBe('finished');
    expect(store.lastSeq('s')).toBe(4);
  });

  it('marks running runs of sessions no longer live as crashed', () => {
    const store = new RunStore();
    store.apply('old', validated([runStart]));
    store.markCrashed(new Set(['new']));
    expect(store.runs.get(R1)!.status).toBe('crashed');
  });
});
