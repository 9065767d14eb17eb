import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import { nbprovSettings, pointsDrawn } from './helpers';

test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

// 300 runs: 30 learning rates (log-spaced, 1e-4 to 0.079), ten seeds each, 20 points of loss.
const RUNS = 300;
const SOURCE = [
  'import math, nbprov',
  'for k in range(30):',
  '    for seed in range(10):',
  '        lr = 1e-4 * 10 ** (k / 10)',
  '        params = {"lr": lr, "seed": seed, "optimizer": "adam" if seed % 2 else "sgd"}',
  '        with nbprov.run(name=f"lr{k}-s{seed}", experiment="sweep", params=params) as run:',
  '            for step in range(20):',
  '                run.log_metric("loss", math.exp(-lr * 40 * step) + 0.01 * seed, step=step)',
  'nbprov.show()'
].join('\n');

function notebook(): string {
  return JSON.stringify({
    cells: [{ cell_type: 'code', id: 'c-0', metadata: {}, execution_count: null, outputs: [], source: SOURCE }],
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

/** Runs the 300-run sweep in a new notebook and waits until its widget has drawn every point. */
async function runSweep(page: IJupyterLabPageFixture, tmpPath: string): Promise<Locator> {
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.contents.uploadContent(notebook(), 'text', `${tmpPath}/sweep300.ipynb`);
  await page.notebook.openByPath(`${tmpPath}/sweep300.ipynb`);
  await page.notebook.activate('sweep300.ipynb');
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
  await page.notebook.runCell(0);
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  await expect(widget.locator('caption').first()).toHaveText(`${RUNS} run(s), 0 selected`, { timeout: 60000 });
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 60000 }).toBe(RUNS * 20);
  // The table shows its first 100 rows; the charts and the sweep view show every run.
  await expect(widget.locator('.nbprov-row')).toHaveCount(100);
  await expect(widget.locator('.nbprov-more-rows')).toHaveText('Show 100 more runs (200 not shown)');
  return widget;
}

test('a 300-run sweep: coloured by lr, capped legend, parallel coordinates; the tooltip lists every run at the hovered step', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(240000);
  const widget = await runSweep(page, tmpPath);

  // Coloured by the learning rate, on a log ramp; the legend names 8 runs, then the rest as a count.
  await widget.getByRole('combobox', { name: 'colour by' }).selectOption('lr');
  await expect(widget.locator('.nbprov-colour-key')).toHaveText(/^lr: 1\.000e-4 +0\.07943 \(log scale\)$/);
  const chart = widget.locator('.nbprov-chart[data-metric="loss"]');
  await expect(chart.locator('.nbprov-legend-item')).toHaveCount(8);
  await expect(chart.locator('.nbprov-legend-more')).toHaveText(`and ${RUNS - 8} more`);
  // 300 lines are drawn on the chart's own canvas over Vega's plot area: a good part of it is painted.
  const lines = chart.locator('canvas.nbprov-chart-lines');
  await expect(lines).toBeVisible();
  const painted = await lines.evaluate((canvas: HTMLCanvasElement) => {
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let opaque = 0;
    for (let alpha = 3; alpha < data.length; alpha += 4) {
      opaque += data[alpha] > 0 ? 1 : 0;
    }
    return opaque / (canvas.width * canvas.height);
  });
  expect(painted).toBeGreaterThan(0.05);

  // The sweep view: a scatter of lr against the metric, parallel coordinates over every input parameter.
  const sweep = widget.locator('.nbprov-sweep');
  await expect(sweep).toBeVisible();
  await sweep.getByRole('combobox', { name: 'scatter x' }).selectOption({ label: 'lr' });
  const parallel = sweep.locator('.nbprov-sweep-chart[data-chart="parallel"]');
  await expect(parallel).toHaveAttribute('role', 'img');
  await expect(parallel).toHaveAttribute(
    'aria-label',
    /^Parallel coordinates of loss \(last\) over lr, optimizer, seed: 300 runs, /
  );
  await expect(parallel).toHaveAttribute('aria-label', /select runs with the runs table’s checkboxes/);
  await expect(sweep.locator('.nbprov-sweep-chart[data-chart="scatter"]')).toHaveAttribute(
    'aria-label',
    /^Scatter of loss \(last\) against lr: 300 runs, /
  );
  await expect(sweep.locator('.nbprov-sweep-axis')).toHaveCount(4);

  // The tooltip at a hovered step lists the runs' values there, largest first, capped as the legend.
  // Mouse positions are the viewport's: the 300-row table puts the charts below it.
  await chart.scrollIntoViewIfNeeded();
  // Vega's canvas, not the one the chart draws its many lines on.
  const plot = (await chart.locator('canvas:not(.nbprov-chart-lines)').boundingBox())!;
  await page.mouse.move(plot.x + plot.width * 0.55, plot.y + plot.height * 0.5);
  const tooltip = chart.locator('.nbprov-hover-tooltip');
  await expect(tooltip).toBeVisible();
  await expect(chart.locator('.nbprov-hover-rule')).toBeVisible();
  await expect(tooltip.locator('.nbprov-hover-row')).toHaveCount(8);
  await expect(tooltip.locator('.nbprov-legend-more')).toHaveText(`and ${RUNS - 8} more`);
  await expect(tooltip.locator('.nbprov-hover-x')).toHaveText(/^step \d+$/);
  const values = (await tooltip.locator('.nbprov-hover-value').allTextContents()).map(Number);
  expect(values.every(Number.isFinite)).toBe(true);
  expect([...values].sort((a, b) => b - a)).toEqual(values);
  expect(
    (await tooltip.locator('.nbprov-hover-value').allTextContents()).every(
      text => text.replace(/^-?0\.0*/, '').replace(/[.-]/g, '').length <= 5
    )
  ).toBe(true);
  await page.mouse.move(plot.x - 40, plot.y - 40);
  await expect(tooltip).toBeHidden();
});

test('a 300-run sweep: brushing the lr axis selects the runs of the largest rates everywhere', async ({ page, tmpPath }) => {
  test.setTimeout(240000);
  const widget = await runSweep(page, tmpPath);
  const sweep = widget.locator('.nbprov-sweep');
  const chart = widget.locator('.nbprov-chart[data-metric="loss"]');
  // Brushing the lr axis from about its middle up to its top selects the runs of the largest rates
  // (10 runs each): however many rates the pixels take in, the brushed runs are exactly the top ones,
  // and the table, the caption and the charts all show that same selection.
  await sweep.scrollIntoViewIfNeeded();
  const axis = (await sweep.locator('.nbprov-sweep-axis[data-axis="param:lr"]').boundingBox())!;
  const x = axis.x + axis.width / 2;
  await page.mouse.move(x, axis.y + axis.height / 2);
  await page.mouse.down();
  await page.mouse.move(x, axis.y + axis.height / 4, { steps: 4 });
  await page.mouse.move(x, axis.y + 1, { steps: 4 });
  await page.mouse.up();
  await expect(sweep).not.toHaveAttribute('data-brushed', '0');
  const brushed = Number(await sweep.getAttribute('data-brushed'));
  expect(brushed % 10).toBe(0);
  expect(brushed).toBeGreaterThanOrEqual(50);
  expect(brushed).toBeLessThanOrEqual(200);
  await expect(widget.locator('caption').first()).toHaveText(`${RUNS} run(s), ${brushed} selected`);
  // Every row shown, 100 more at each click.
  const more = widget.locator('.nbprov-more-rows');
  await more.click();
  await expect(more).toHaveText('Show 100 more runs (100 not shown)');
  await more.click();
  await expect(widget.locator('.nbprov-row')).toHaveCount(RUNS);
  await expect(more).toBeHidden();
  const checked = widget.locator('.nbprov-row[aria-selected="true"]');
  await expect(checked).toHaveCount(brushed);
  const names = await checked.locator('td.nbprov-col-name').allTextContents();
  const smallestRate = 30 - brushed / 10;
  expect(names.every(name => Number(/lr(\d+)-s/.exec(name)![1]) >= smallestRate)).toBe(true);
  // The line charts highlight them: the legend names the selected, the others are faded.
  await expect(chart.locator('.nbprov-legend-item:not(.nbprov-faded)')).toHaveCount(brushed);
  await expect(sweep.locator('.nbprov-sweep-status')).toHaveText(`${brushed} of ${RUNS} runs inside the brush`);

  // Screenshots of the sweep view at 800 px, light and dark (brushed).
  await page.setViewportSize({ width: 800, height: 900 });
  await page.sidebar.close('left');
  for (const theme of ['light', 'dark'] as const) {
    await (theme === 'light' ? page.theme.setLightTheme() : page.theme.setDarkTheme());
    await expect(sweep).toHaveAttribute('data-brushed', String(brushed));
    await sweep.scrollIntoViewIfNeeded();
    await page.waitForTimeout(700); // the view's batched refresh redraws the canvases at the new width
    await expect(sweep).toHaveScreenshot(`sweep-view-800-${theme}.png`, { maxDiffPixelRatio: 0.02 });
  }

  // A click on the axis clears its brush, and with it the selection.
  await sweep.scrollIntoViewIfNeeded();
  const cleared = (await sweep.locator('.nbprov-sweep-axis[data-axis="param:lr"]').boundingBox())!;
  await page.mouse.click(cleared.x + cleared.width / 2, cleared.y + cleared.height / 2);
  await expect(widget.locator('caption').first()).toHaveText(`${RUNS} run(s), 0 selected`);
  await expect(chart.locator('.nbprov-legend-item.nbprov-faded')).toHaveCount(0);
  // A checkbox in the table selects as before (the keyboard's way), and forgets the brushes.
  await widget.getByRole('checkbox', { name: 'Select run lr3-s4' }).check();
  await expect(widget.locator('caption').first()).toHaveText(`${RUNS} run(s), 1 selected`);
  await expect(sweep).toHaveAttribute('data-brushed', '0');
});
