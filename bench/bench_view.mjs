/**
 * The 1,000-run benchmark: the real runs view (table, sweep view, Vega charts on canvas) in
 * Chromium, over 1,000 runs of 1,000 points each. Times a keystroke in the filter box until the
 * table, the sweep view and the charts show its runs, and a chart update after new points arrive.
 *
 *   node bench/bench_view.mjs [runs] [points]
 */
import { build } from 'esbuild';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright';

const [runs = 1000, points = 1000] = process.argv.slice(2).map(Number);
const root = resolve(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'nbprov-bench-view-'));
await build({
  entryPoints: [join(root, 'bench/bench_view_page.ts')],
  bundle: true,
  format: 'esm',
  splitting: true,
  outdir: out,
  platform: 'browser',
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.svg': 'text' },
  logLevel: 'warning'
});
writeFileSync(
  join(out, 'index.html'),
  `<!doctype html><html><head><link rel="stylesheet" href="${join(root, 'style/widget.css')}"></head>` +
    '<body><script type="module" src="bench_view_page.js"></script></body></html>'
);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--allow-file-access-from-files', ...(process.env.NO_GPU ? ['--disable-gpu'] : [])]
});
const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
page.on('pageerror', error => console.error('page error:', error));
page.on('crash', () => console.error('the page crashed'));
page.on('console', message => message.type() === 'error' && console.error('page console:', message.text()));
await page.goto(`file://${out}/index.html?runs=${runs}&points=${points}`);
await page.waitForFunction(() => window.bench !== undefined, null, { timeout: 120000 });
await page.evaluate(() => window.bench.ready());
const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rest = () => page.waitForTimeout(400); // past the view's refresh batching (300 ms)

const rows = [
  ['runs × points in the store', `${runs} × ${points} (${await page.evaluate(() => window.bench.points())})`],
  ['store fill (validate + reduce + append), s', ((await page.evaluate(() => window.bench.fillMs())) / 1000).toFixed(2)]
];
const filterTimes = [];
for (let repeat = 0; repeat < 3; repeat++) {
  for (const text of ['r1', 'r12', 'r1', '']) {
    await rest();
    const result = await page.evaluate(t => window.bench.filter(t), text);
    filterTimes.push(result.ms);
    if (process.env.BENCH_VERBOSE) {
      console.error(text, result);
    }
    if (repeat === 0) {
      rows.push([
        `  filter "${text}": ${result.caption}; sweep view: ${result.sweepRuns}; render (sync) ${result.renderMs.toFixed(0)} ms`,
        result.ms.toFixed(0)
      ]);
    }
  }
}
rows.push(['filter keystroke → table + sweep view + charts drawn, median ms', median(filterTimes).toFixed(0)]);
// The slowest keystroke: every run shown again (8 times, each after filtering to a tenth).
const backTimes = [];
for (let repeat = 0; repeat < 8; repeat++) {
  await rest();
  await page.evaluate(t => window.bench.filter(t), 'r1');
  await rest();
  backTimes.push((await page.evaluate(t => window.bench.filter(t), '')).ms);
}
rows.push([
  'filter "r1" → "" (back to every run), 8 times: median ms (min–max)',
  `${median(backTimes).toFixed(0)} (${Math.min(...backTimes).toFixed(0)}–${Math.max(...backTimes).toFixed(0)})`
]);
for (const [appendRuns, count] of [
  [1, 1],
  [runs, 1],
  [runs, 10]
]) {
  const times = [];
  let apply = 0;
  let render = 0;
  for (let repeat = 0; repeat < 9; repeat++) {
    await rest();
    const result = await page.evaluate(([r, c]) => window.bench.append(r, c), [appendRuns, count]);
    times.push(result.ms);
    apply = result.applyMs;
    render = result.renderMs;
  }
  if (process.env.BENCH_VERBOSE) {
    console.error(appendRuns, count, times.map(ms => ms.toFixed(0)).join(' '));
  }
  rows.push([`new points (${count} for each of ${appendRuns} run(s)) → charts drawn, median ms`, median(times).toFixed(0)]);
  rows.push([`  of which the store's apply, ms; the view's render (sync)`, `${apply.toFixed(0)}; ${render.toFixed(0)}`]);
}
await browser.close();
const width = Math.max(...rows.map(([label]) => label.length));
for (const [label, value] of rows) {
  console.log(`${label.padEnd(width)}  ${value}`);
}
