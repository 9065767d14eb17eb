/**
 * End-to-end page ingest and page heap (prints a table; not a test of the UI suite).
 *
 *   npm run build && cd ui-tests && CI=1 NBPROV_UI_PORT=<port> flock /tmp/nbprov-galata.lock \
 *     npx playwright test --config ../bench/playwright.config.js [page_ingest]
 *
 * A real kernel logs NBPROV_BENCH_POINTS points (default 10,000,000) with `run.log_metric` in one
 * cell; they travel through the real comm over the real Jupyter server (default iopub rate limits)
 * into the real page in Chromium, until the page's run store holds every one of them (counted in
 * the store through `nbprov:runs`). Then the page is reloaded: it re-reads the journal through the
 * Contents API, and its JS heap (after garbage collection, through the DevTools protocol) is
 * compared with the heap of the same page reloaded before any run. Last, every point the store
 * holds is read back and checked against what was logged (steps 0..N-1, values float(i)).
 *
 * Clocks: the kernel's `time.time()` and the page's `Date.now()` are the same machine's clock.
 */
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as fs from 'fs';

import { openNotebookJson } from '../ui-tests/tests/helpers';

const POINTS = Number(process.env.NBPROV_BENCH_POINTS ?? 10_000_000);
const NOTEBOOK = 'ingest.ipynb';
/** Points per `nbprov:runs` read when checking the store (each crosses the DevTools protocol as JSON). */
const CHECK_SLICE = 1_000_000;
/** A folder to write the page's CPU profiles of the live ingest and of the re-read into (DevTools `.cpuprofile`). */
const PROFILE_DIR = process.env.NBPROV_BENCH_PROFILE;

test.use({ mockSettings: { ...galata.DEFAULT_SETTINGS, 'nbprov:plugin': { record: 'all' } } });

const PREPARE = `import json, time, nbprov
N = ${POINTS}
values = [float(i) for i in range(N)]
print("prepared", len(values))`;

// The logging loop of bench/bench_stream.py: values made beforehand, so the loop times log_metric.
const LOG = `with nbprov.run(name="ingest", energy=False) as run:
    log_metric = run.log_metric
    started_ms = time.time() * 1000
    for value in values:
        log_metric("loss", value)
    logged_ms = time.time() * 1000
print(json.dumps({"started_ms": started_ms, "logged_ms": logged_ms, "ended_ms": time.time() * 1000}))`;

function notebookJson(): string {
  const cell = (id: string, source: string) => ({
    cell_type: 'code',
    execution_count: null,
    id,
    metadata: {},
    outputs: [],
    source
  });
  return JSON.stringify({
    cells: [cell('c-prepare', PREPARE), cell('c-log', LOG)],
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

interface IDescribedSeries {
  metric: string;
  length: number;
  steps: number[];
  values: number[];
}

function loadAverage(): string {
  return fs.readFileSync('/proc/loadavg', 'utf-8').split(' ').slice(0, 3).join(' ');
}

/** Waits in the page until its store holds `points` points; returns the page's clock then. */
async function waitForPoints(page: IJupyterLabPageFixture, points: number, timeoutMs: number): Promise<number> {
  const reached = await page.evaluate(
    async ({ points, timeoutMs }) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const runs = (await window.jupyterapp.commands.execute('nbprov:runs', { start: 0, end: 0 })) as {
          series: { length: number }[];
        }[];
        const held = runs.reduce((sum, run) => sum + run.series.reduce((n, series) => n + series.length, 0), 0);
        if (held >= points || Date.now() > deadline) {
          return { at: Date.now(), held };
        }
        await new Promise(resolve => setTimeout(resolve, 10));
      }
    },
    { points, timeoutMs }
  );
  expect(reached.held).toBe(points);
  return reached.at;
}

/** The page's JS heap after garbage collection: V8's used heap, and ArrayBuffer memory beside it. */
async function heapAfterGc(page: IJupyterLabPageFixture): Promise<{ used: number; backing: number }> {
  // galata's fixture wraps Playwright's page; the DevTools session needs the page itself.
  const cdp = await page.context().newCDPSession(page.context().pages()[0]);
  for (let i = 0; i < 3; i++) {
    await cdp.send('HeapProfiler.collectGarbage');
  }
  const usage = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
  await cdp.detach();
  return { used: usage.usedSize, backing: usage.backingStorageSize ?? 0 };
}

/** Profiles the page's main thread while `during` runs, when PROFILE_DIR is set. */
async function profiled<T>(page: IJupyterLabPageFixture, name: string, during: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) {
    return during();
  }
  const cdp = await page.context().newCDPSession(page.context().pages()[0]);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await cdp.send('Profiler.start');
  const result = await during();
  const { profile } = await cdp.send('Profiler.stop');
  fs.mkdirSync(PROFILE_DIR, { recursive: true });
  fs.writeFileSync(`${PROFILE_DIR}/${name}.cpuprofile`, JSON.stringify(profile));
  await cdp.detach();
  return result;
}

async function reloadPage(page: IJupyterLabPageFixture): Promise<void> {
  // galata's reload takes `waitForIsReady`; its fixture type shows Playwright's signature.
  await page.reload({ waitForIsReady: false } as Parameters<IJupyterLabPageFixture['reload']>[0]);
  await page.locator('#jupyterlab-splash').waitFor({ state: 'detached', timeout: 120000 });
}

/** Opens the notebook in a page just reloaded; returns the page's clock when it started. */
async function openNotebook(page: IJupyterLabPageFixture, notebookPath: string): Promise<number> {
  const opened = await page.evaluate(async p => {
    const at = Date.now();
    await window.jupyterapp.commands.execute('docmanager:open', { path: p });
    return at;
  }, notebookPath);
  await page.notebook.activate(NOTEBOOK);
  return opened;
}

async function cellText(page: IJupyterLabPageFixture, index: number): Promise<string> {
  return ((await page.notebook.getCellTextOutput(index)) ?? []).join('');
}

test(`page ingest of ${POINTS} points, and the page heap after a reload`, async ({ page, tmpPath }) => {
  const loadBefore = loadAverage();
  const notebookPath = `${tmpPath}/${NOTEBOOK}`;
  await openNotebookJson(page, tmpPath, NOTEBOOK, notebookJson(), 120000);
  await page.notebook.runCell(0);
  expect(await cellText(page, 0)).toContain(`prepared ${POINTS}`);

  // The baseline: the same page, reloaded, with the notebook open and its kernel ready, no run.
  await reloadPage(page);
  await openNotebook(page, notebookPath);
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: 120000 });
  await page.waitForTimeout(3000);
  const baseline = await heapAfterGc(page);

  // Live: the logging cell runs while the page waits for its store to hold every point.
  await page.notebook.selectCells(1);
  const stored = await profiled(page, 'live', async () => {
    await page.evaluate(() => {
      void window.jupyterapp.commands.execute('notebook:run-cell');
    });
    return waitForPoints(page, POINTS, 20 * 60 * 1000);
  });
  await expect.poll(() => cellText(page, 1), { timeout: 120000 }).toContain('ended_ms');
  const output = await cellText(page, 1);
  expect(output).not.toContain('IOPub message rate exceeded');
  const kernel = JSON.parse(output.trim().split('\n').pop()!) as { started_ms: number; logged_ms: number; ended_ms: number };
  const loadLive = loadAverage();

  // Reload: the page re-reads the journal through the Contents API.
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: 120000 });
  await reloadPage(page);
  const [opened, reread] = await profiled(page, 'reread', async () => {
    const at = await openNotebook(page, notebookPath);
    return [at, await waitForPoints(page, POINTS, 10 * 60 * 1000)];
  });
  await page.waitForTimeout(3000);
  const loaded = await heapAfterGc(page);

  // Every point the store holds is what was logged, checked in the page (the DevTools protocol
  // would carry each number as an object of its own).
  for (let start = 0; start < POINTS; start += CHECK_SLICE) {
    const end = Math.min(POINTS, start + CHECK_SLICE);
    const checked = await page.evaluate(
      async range => {
        const runs = (await window.jupyterapp.commands.execute('nbprov:runs', range)) as { series: IDescribedSeries[] }[];
        return runs.flatMap(run =>
          run.series.map(series => ({
            metric: series.metric,
            length: series.length,
            sliced: series.steps.length,
            wrong: series.steps.findIndex((step, i) => step !== range.start + i || series.values[i] !== range.start + i)
          }))
        );
      },
      { start, end }
    );
    expect(checked).toEqual([{ metric: 'loss', length: POINTS, sliced: end - start, wrong: -1 }]);
  }

  const millions = POINTS / 1e6;
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  const rate = (ms: number) => (POINTS / ms / 1000).toFixed(2);
  const rows: [string, string][] = [
    ['points (counted in the store, live and after the reload; every one checked)', String(POINTS)],
    [
      'kernel: logging loop',
      `${((kernel.logged_ms - kernel.started_ms) / 1000).toFixed(2)} s, ${rate(kernel.logged_ms - kernel.started_ms)} M points/s`
    ],
    [
      'end to end: first point logged -> store holds all',
      `${((stored - kernel.started_ms) / 1000).toFixed(2)} s, ${rate(stored - kernel.started_ms)} M points/s`
    ],
    ['store holds all, after the last point was logged', `${(stored - kernel.logged_ms).toFixed(0)} ms`],
    ['reload: notebook opened -> store holds all (journal re-read)', `${((reread - opened) / 1000).toFixed(2)} s`],
    ['heap used: no run / after the reload', `${mb(baseline.used)} / ${mb(loaded.used)} MB`],
    ['ArrayBuffer memory: no run / after the reload', `${mb(baseline.backing)} / ${mb(loaded.backing)} MB`],
    [
      'heap per million points (used + ArrayBuffers, minus the page with no run)',
      `${mb((loaded.used + loaded.backing - baseline.used - baseline.backing) / millions)} MB`
    ],
    [
      'of which V8 heap / ArrayBuffers',
      `${mb((loaded.used - baseline.used) / millions)} / ${mb((loaded.backing - baseline.backing) / millions)} MB`
    ],
    ['load average: before / after the live ingest / at the end', `${loadBefore} / ${loadLive} / ${loadAverage()}`]
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(['', ...rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`)].join('\n'));
});
