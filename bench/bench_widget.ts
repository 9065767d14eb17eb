/**
 * Widget benchmark: run-store memory per million points, and the time of one chart update on a
 * 1,000,000-point series (reduction to 800 columns, the rows the chart draws, and the Vega changeset):
 * drawn whole, and as the next batch of 10,000 points arrives (the line reduced open).
 *
 *   npx esbuild bench/bench_widget.ts --bundle --platform=node --outfile=/tmp/bench_widget.cjs
 *   node --expose-gc /tmp/bench_widget.cjs
 */
import { changeset } from 'vega-dataflow'; // the changeset Vega uses, without vega's canvas loader
import { commArrays, JournalRecord, validateRecord } from '../src/core/records';
import { RunStore } from '../src/store';
import { ChartFeed, ChartRows, ILine } from '../src/widget/chartdata';

const POINTS = 1_000_000;
const BATCH = 10_000;
const COLUMNS = 800;
const RUN = 'f'.repeat(32);

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Live ingest as the page does it: comm records, arrays as binary buffers, through the one validator. */
const record = (raw: unknown, buffers: ArrayBufferView[] = []): JournalRecord => validateRecord(raw, commArrays(buffers))!;
const T0 = Date.now();

function fill(store: RunStore, points: number): number {
  store.apply('bench', [
    record({ type: 'run_start', t: new Date(0).toISOString(), seq: 1, run: RUN, name: 'bench', experiment: 'bench', exec: null })
  ]);
  const started = performance.now();
  for (let from = 0; from < points; from += BATCH) {
    appendBatch(store, from, Math.min(BATCH, points - from));
  }
  return performance.now() - started;
}

/** One metrics record of points [from, from + n), as the kernel sends them. */
function appendBatch(store: RunStore, from: number, n: number): void {
  const batch = from / BATCH + 1;
  const steps = new BigInt64Array(n);
  const values = new Float64Array(n);
  const timestamps = new BigInt64Array(n);
  const epochs = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    steps[i] = BigInt(from + i);
    values[i] = Math.exp(-(from + i) / POINTS) + Math.sin(from + i) * 0.05;
    timestamps[i] = BigInt(T0 + (from + i) * 10);
    epochs[i] = Math.floor((from + i) / 100_000);
  }
  const series = [{ metric: 'loss', ctx: null, n, steps: 0, values: 1, timestamps: 2, epochs: 3 }];
  const metrics = { type: 'metrics', t: new Date(0).toISOString(), seq: batch + 1, run: RUN, batch, series };
  store.apply('bench', [record(metrics, [steps, values, timestamps, epochs])]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main(): void {
  gc();
  const before = process.memoryUsage();
  const store = new RunStore();
  const fillMs = fill(store, POINTS);
  gc();
  const after = process.memoryUsage();
  const series = store.runs.get(RUN)!.series.get('loss')! as unknown as { byteLength: number };
  const heapDelta = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  const perMillion = (bytes: number): string => ((bytes / 1e6) * (1e6 / POINTS)).toFixed(1);

  const line: ILine = {
    key: `${RUN}/loss`,
    runId: RUN,
    label: 'bench',
    color: '#4a7cdf',
    opacity: 1,
    context: '',
    series: store.runs.get(RUN)!.series.get('loss')!,
    start: 0,
    smoothing: 0
  };
  const rows: [string, string][] = [
    ['points in store', String(store.pointCount)],
    ['ingest (validate + reduce + append), M points/s', (POINTS / 1e3 / fillMs).toFixed(2)],
    ['store bytes (byteLength) per 1M points, MB', perMillion(series.byteLength)],
    ['heap + arrayBuffers delta per 1M points, MB', perMillion(heapDelta)],
    ['rss delta per 1M points, MB', perMillion(after.rss - before.rss)]
  ];
  for (const axis of ['step', 'time', 'epoch'] as const) {
    const times: number[] = [];
    let inserted = 0;
    for (let repeat = 0; repeat < 15; repeat++) {
      const feed = new ChartFeed(axis, COLUMNS);
      const start = performance.now();
      // The line's points for the chart's canvas, and Vega's few rows (its extent) as a changeset.
      const rows = new ChartRows();
      const vegaRows = rows.apply(feed.update([line], 'all'));
      const changes = changeset()
        .remove(() => true)
        .insert(vegaRows);
      times.push(performance.now() - start);
      inserted = rows.points;
      void changes;
    }
    rows.push([`update, 1M points -> ${COLUMNS} columns (${axis} axis), median ms`, median(times).toFixed(1)]);
    rows.push([`  points drawn (${axis} axis)`, String(inserted)]);
  }
  // The live case: the chart drawn, then the next batches arrive one by one.
  for (const axis of ['step', 'time', 'epoch'] as const) {
    const feed = new ChartFeed(axis, COLUMNS);
    const chartRows = new ChartRows();
    chartRows.apply(feed.update([line], 'all'));
    const length = line.series.length;
    const times: number[] = [];
    for (let repeat = 0; repeat < 15; repeat++) {
      appendBatch(store, line.series.length, BATCH);
      const start = performance.now();
      const vegaRows = chartRows.apply(feed.update([line], new Set([line.key])));
      void changeset()
        .remove(() => true)
        .insert(vegaRows);
      times.push(performance.now() - start);
    }
    rows.push([
      `update, ${(BATCH / 1000).toFixed(0)}k new points on ${(length / 1e6).toFixed(2)}M (${axis} axis), median ms`,
      median(times).toFixed(2)
    ]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) {
    console.log(`${label.padEnd(width)}  ${value}`);
  }
}

main();
