/**
 * The page of the 1,000-run benchmark (bench/bench_view.mjs bundles it and drives it in Chromium):
 * the real runs view (table, sweep view, Vega charts) over a store of RUNS runs of POINTS points
 * each, fed as the page feeds it live (validated comm records, arrays as binary buffers).
 */
import { Widget } from '@lumino/widgets';
import { commArrays, JournalRecord, validateRecord } from '../src/core/records';
import { RunStore } from '../src/store';
import { RunsView } from '../src/widget/view';

const params = new URLSearchParams(location.search);
const RUNS = Number(params.get('runs') ?? 1000);
const POINTS = Number(params.get('points') ?? 1000);
const T0 = Date.parse('2026-01-01T00:00:00Z');

const record = (raw: unknown, buffers: ArrayBufferView[] = []): JournalRecord => validateRecord(raw, commArrays(buffers))!;
const runId = (n: number): string => n.toString(16).padStart(32, '0');
let seq = 0;
const batches = new Map<number, number>();

/** A metrics record of `n` points of run `n` from step `from`. */
function metrics(run: number, from: number, n: number): JournalRecord {
  const steps = new BigInt64Array(n);
  const values = new Float64Array(n);
  const timestamps = new BigInt64Array(n);
  const epochs = new Int32Array(n);
  const lr = 1e-4 * Math.pow(10, (run % 30) / 10);
  for (let i = 0; i < n; i++) {
    const step = from + i;
    steps[i] = BigInt(step);
    values[i] = Math.exp(-lr * 50 * step) + 0.05 * Math.sin(step + run);
    timestamps[i] = BigInt(T0 + run * 1000 + step * 10);
    epochs[i] = -1;
  }
  const batch = (batches.get(run) ?? 0) + 1;
  batches.set(run, batch);
  const series = [{ metric: 'loss', ctx: null, n, steps: 0, values: 1, timestamps: 2, epochs: 3 }];
  return record({ type: 'metrics', t: new Date(T0).toISOString(), seq: ++seq, run: runId(run), batch, series }, [
    steps,
    values,
    timestamps,
    epochs
  ]);
}

const store = new RunStore();
const fillStart = performance.now();
for (let run = 0; run < RUNS; run++) {
  const id = runId(run);
  const t = new Date(T0 + run * 1000).toISOString();
  store.apply('bench', [
    record({ type: 'run_start', t, seq: ++seq, run: id, name: `r${run}`, experiment: 'sweep', exec: null }),
    record({ type: 'param', t, seq: ++seq, run: id, key: 'lr', value: 1e-4 * Math.pow(10, (run % 30) / 10), role: 'input' }),
    record({ type: 'param', t, seq: ++seq, run: id, key: 'batch', value: 2 ** (4 + (run % 4)), role: 'input' }),
    record({ type: 'param', t, seq: ++seq, run: id, key: 'optimizer', value: run % 2 ? 'adam' : 'sgd', role: 'input' }),
    metrics(run, 0, POINTS)
  ]);
}
const fillMs = performance.now() - fillStart;

/** The synchronous part of the last render (table, sweep view, chart feeds), ms. */
let renderMs = 0;
const prototype = RunsView.prototype as unknown as { _render(...args: unknown[]): void };
const render = prototype._render;
prototype._render = function (this: unknown, ...args: unknown[]) {
  const start = performance.now();
  render.apply(this, args);
  renderMs = performance.now() - start;
};

const view = new RunsView();
view.node.style.width = '1200px';
Widget.attach(view, document.body);
view.setStore(store);

/** Resolves once every chart was drawn again (its Vega dataflow ran) and a frame was painted. */
function chartsRedrawn(before: Map<Element, string | undefined>): Promise<void> {
  return new Promise(resolve => {
    const check = () => {
      const charts = Array.from(document.querySelectorAll<HTMLElement>('.nbprov-chart'));
      if (
        charts.length &&
        charts.every(chart => chart.dataset.draws !== undefined && chart.dataset.draws !== before.get(chart))
      ) {
        requestAnimationFrame(() => setTimeout(resolve, 0));
      } else {
        requestAnimationFrame(check);
      }
    };
    check();
  });
}

function drawsNow(): Map<Element, string | undefined> {
  return new Map(Array.from(document.querySelectorAll<HTMLElement>('.nbprov-chart'), chart => [chart, chart.dataset.draws]));
}

const filterInput = () => document.querySelector<HTMLInputElement>('.nbprov-toolbar input[type="search"]')!;

declare global {
  interface Window {
    bench: Record<string, (...args: never[]) => unknown>;
  }
}

window.bench = {
  fillMs: () => fillMs,
  points: () => store.pointCount,
  ready: async () => {
    await chartsRedrawn(new Map());
  },
  /** ms from a keystroke in the filter box until the table, the sweep view and the charts show its runs. */
  filter: async (text: string) => {
    const before = drawsNow();
    const input = filterInput();
    const start = performance.now();
    input.value = text;
    input.dispatchEvent(new Event('input'));
    await chartsRedrawn(before);
    return {
      ms: performance.now() - start,
      renderMs,
      caption: document.querySelector('.nbprov-table caption')?.textContent,
      sweepRuns: document
        .querySelector('.nbprov-sweep-chart[data-chart="parallel"]')
        ?.getAttribute('aria-label')
        ?.split(/[:,]/)[1]
        ?.trim()
    };
  },
  /** ms from `count` new points arriving for each of the first `runs` runs until the charts show them. */
  append: async (runs: number, count: number) => {
    const before = drawsNow();
    const start = performance.now();
    for (let run = 0; run < runs; run++) {
      const next = store.runs.get(runId(run))!.series.values().next().value!.length;
      store.apply('bench', [metrics(run, next, count)]);
    }
    const applied = performance.now() - start;
    await chartsRedrawn(before);
    return { applyMs: applied, renderMs, ms: performance.now() - start };
  }
};
