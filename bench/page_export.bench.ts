/**
 * In-page export time and the page heap it costs (prints a table; not a test of the UI suite).
 *
 *   npm run build && cd ui-tests && CI=1 NBPROV_UI_PORT=<port> flock /tmp/nbprov-galata.lock \
 *     npx playwright test --config ../bench/playwright.config.js page_export
 *
 * A real kernel logs NBPROV_BENCH_POINTS points (default 10,000,000) of one series; once the page's
 * run store holds them all, `nbprov:export` runs in the page (the journal re-read through the
 * server, the points folded, spilled and written as Zarr through the Contents API), twice. The
 * first is timed. During the second, the page's live JS heap (V8's used heap plus ArrayBuffer
 * memory, after garbage collection, through the DevTools protocol) is sampled every 250 ms; the
 * table gives its peak above the heap just before that export, and the heap before, between and
 * after the exports. The run store's own points are in all of them, so the differences are the
 * export's.
 */
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as fs from 'fs';

import { openNotebookJson } from '../ui-tests/tests/helpers';

const POINTS = Number(process.env.NBPROV_BENCH_POINTS ?? 10_000_000);
const NOTEBOOK = 'export-bench.ipynb';
const SAMPLE_MS = 250;

test.use({ mockSettings: { ...galata.DEFAULT_SETTINGS, 'nbprov:plugin': { record: 'all' } } });

const LOG = `import nbprov
with nbprov.run(name="export-bench", energy=False) as run:
    log_metric = run.log_metric
    for i in range(${POINTS}):
        log_metric("loss", 1.0 / (1 + i))
print("logged", ${POINTS})`;

function notebookJson(): string {
  return JSON.stringify({
    cells: [{ cell_type: 'code', execution_count: null, id: 'c-log', metadata: {}, outputs: [], source: LOG }],
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

function loadAverage(): string {
  return fs.readFileSync('/proc/loadavg', 'utf-8').split(' ').slice(0, 3).join(' ');
}

async function heldPoints(page: IJupyterLabPageFixture): Promise<number> {
  return page.evaluate(async () => {
    const runs = (await window.jupyterapp.commands.execute('nbprov:runs', { start: 0, end: 0 })) as {
      series: { length: number }[];
    }[];
    return runs.reduce((sum, run) => sum + run.series.reduce((n, series) => n + series.length, 0), 0);
  });
}

test(`in-page export of ${POINTS} points: time and page heap`, async ({ page, tmpPath }) => {
  await openNotebookJson(page, tmpPath, NOTEBOOK, notebookJson(), 120000);
  await page.notebook.runCell(0);
  // (Polled by hand: `expect.poll` over this command did not see the count change.)
  for (const deadline = Date.now() + 20 * 60 * 1000; (await heldPoints(page)) < POINTS;) {
    expect(Date.now()).toBeLessThan(deadline);
    await page.waitForTimeout(1000);
  }

  const cdp = await page.context().newCDPSession(page.context().pages()[0]);
  /** The heap's live bytes: garbage is collected first (what waits to be collected depends on V8's timing). */
  const heap = async (): Promise<number> => {
    await cdp.send('HeapProfiler.collectGarbage');
    const usage = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
    return usage.usedSize + (usage.backingStorageSize ?? 0);
  };
  const before = await heap();
  const load = loadAverage();
  const exportNow = async (): Promise<number> => {
    const started = Date.now();
    const exported = await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:export'));
    expect(exported).toBe(`${tmpPath}/export-bench.prov/prov.json`);
    return (Date.now() - started) / 1000;
  };
  const seconds = await exportNow();
  // Again, sampled (each sample's garbage collection slows the export down).
  const between = await heap();
  let peak = between;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await heap());
      await new Promise(resolve => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  await exportNow();
  sampling = false;
  await sampler;
  const after = await heap();
  await cdp.detach();

  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;
  const rows = [
    ['points', POINTS.toLocaleString('en')],
    ['load average before the exports', load],
    ['export time (the first export)', `${seconds.toFixed(1)} s`],
    ['page heap before the exports (the run store holds the points)', mb(before)],
    ['  after the first export', mb(between)],
    ['  after the second', mb(after)],
    ['peak page heap during the second export, above the heap before it', mb(peak - between)]
  ];
  const width = Math.max(...rows.map(row => row[0].length));
  console.log(rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n'));
});
