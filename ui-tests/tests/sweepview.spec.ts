import { expect, test } from '@jupyterlab/galata';
import { nbprovSettings, openFixture, pointsDrawn } from './helpers';

test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

// Seven runs of 20 points: five of a learning-rate sweep and two both named "tuned".
const ALL_POINTS = 7 * 20;

test('a sweep: one label and colour per run everywhere; the filter, selection, log scale and smoothing drive the charts', async ({
  page,
  tmpPath
}) => {
  await openFixture(page, tmpPath, 'sweep-view.ipynb');
  // Export sits under File and the runs panel under View, as JupyterLab places such commands.
  for (const [menu, item] of [
    ['File', 'Export Notebook Provenance'],
    ['View', 'Provenance Runs']
  ]) {
    await page.menu.open(menu);
    await expect(page.locator('.lm-Menu .lm-Menu-itemLabel').getByText(item, { exact: true })).toHaveCount(1);
    await page.menu.closeAll();
  }
  await page.notebook.runCell(0);
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  await expect(widget.locator('.nbprov-row')).toHaveCount(7, { timeout: 30000 });
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBe(ALL_POINTS);

  // Colliding names get an id prefix, the same in the table and the legend.
  const names = await widget.locator('td.nbprov-col-name').allTextContents();
  const tuned = names.map(name => /tuned \([0-9a-f]{4,}\)/.exec(name)?.[0]).filter(Boolean) as string[];
  expect(tuned).toHaveLength(2);
  expect(tuned[0]).not.toBe(tuned[1]);
  const chart = widget.locator('.nbprov-chart[data-metric="loss"]');
  const legend = chart.locator('.nbprov-legend-item');
  await expect(legend).toHaveCount(7);
  for (const label of tuned) {
    await expect(legend.filter({ hasText: label })).toHaveCount(1);
  }
  await expect(chart).toHaveAttribute('aria-label', /^Chart of metric loss: /);

  // One colour per run: the table's swatch is the legend's, and no two runs share one here.
  const colours = new Set<string>();
  for (const name of ['lr=0.01', tuned[1]]) {
    const rowColour = await widget
      .locator('.nbprov-row')
      .filter({ hasText: name })
      .first()
      .locator('.nbprov-swatch')
      .evaluate(node => (node as HTMLElement).style.backgroundColor);
    const legendColour = await legend
      .filter({ hasText: name })
      .locator('.nbprov-swatch')
      .evaluate(node => (node as HTMLElement).style.backgroundColor);
    expect(rowColour).toBeTruthy();
    expect(legendColour).toBe(rowColour);
    colours.add(rowColour);
  }
  expect(colours.size).toBe(2);

  // Coloured by the learning rate: a log ramp from the smallest to the largest, the same lr the same colour.
  const swatchOf = (name: string) =>
    widget
      .locator('.nbprov-row')
      .filter({ hasText: name })
      .first()
      .locator('.nbprov-swatch')
      .evaluate(node => (node as HTMLElement).style.backgroundColor);
  await widget.getByRole('combobox', { name: 'colour by' }).selectOption('lr');
  await expect(widget.locator('.nbprov-colour-key')).toHaveText(/^lr: 0\.001 +0\.1 \(log scale\)$/);
  await expect.poll(() => swatchOf('lr=0.001')).toBe('rgb(74, 124, 223)');
  expect(await swatchOf('lr=0.1')).toBe('rgb(164, 119, 29)');
  expect(await swatchOf(tuned[0])).toBe(await swatchOf(tuned[1]));
  expect(await swatchOf(tuned[0])).toBe(await swatchOf('lr=0.01'));
  expect(
    await legend
      .filter({ hasText: 'lr=0.1' })
      .locator('.nbprov-swatch')
      .evaluate(node => (node as HTMLElement).style.backgroundColor)
  ).toBe('rgb(164, 119, 29)');
  await widget.getByRole('combobox', { name: 'colour by' }).selectOption('');
  await expect(widget.locator('.nbprov-colour-key')).toHaveText('');

  // The header row is one Tab stop; the arrow keys move along it.
  const stops = widget.locator('thead th[tabindex="0"]');
  await expect(stops).toHaveCount(1);
  // The header after Run: whichever column the view's width leaves there.
  const second = (await widget.locator('thead th:not(.nbprov-select)').allTextContents())[1];
  expect(second).toBeTruthy();
  await stops.focus();
  await page.keyboard.press('ArrowRight');
  await expect(widget.locator('thead th:focus')).toHaveText(second);
  await expect(stops).toHaveText(second);
  await page.keyboard.press('Home');
  await expect(widget.locator('thead th:focus')).toHaveText('Run');

  // The filter drives the charts, not only the table.
  await widget.getByRole('searchbox', { name: 'Filter runs' }).fill('lr=0.0');
  await expect(widget.locator('caption').first()).toHaveText('4 run(s), 0 selected');
  await expect.poll(() => pointsDrawn(widget, 'loss')).toBe(4 * 20);
  await expect(legend).toHaveCount(4);
  await widget.getByRole('searchbox', { name: 'Filter runs' }).fill('zzz');
  await expect(widget.locator('caption').first()).toHaveText('0 run(s), 0 selected');
  await expect.poll(() => pointsDrawn(widget, 'loss')).toBe(0);
  await widget.getByRole('searchbox', { name: 'Filter runs' }).fill('');
  await expect.poll(() => pointsDrawn(widget, 'loss')).toBe(ALL_POINTS);

  // Selecting highlights: every run is still drawn, the others faded.
  await widget.getByRole('checkbox', { name: 'Select run lr=0.1' }).check();
  await expect(legend.filter({ hasText: 'lr=0.1' })).not.toHaveClass(/nbprov-faded/);
  await expect(chart.locator('.nbprov-legend-item.nbprov-faded')).toHaveCount(6);
  await expect.poll(() => pointsDrawn(widget, 'loss')).toBe(ALL_POINTS);
  await widget.getByRole('checkbox', { name: 'Select run lr=0.1' }).uncheck();

  // A log scale leaves out the one value of 0, and says so.
  await widget.getByRole('combobox', { name: 'y axis' }).selectOption('log');
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBe(ALL_POINTS - 1);
  await expect(widget.locator('.nbprov-chart[data-metric="loss"] .nbprov-chart-note')).toHaveText(
    '1 value(s) ≤ 0 not drawn on the log scale'
  );
  await widget.getByRole('combobox', { name: 'y axis' }).selectOption('linear');
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBe(ALL_POINTS);

  // Smoothing draws a smoothed line over each faded raw one.
  await widget.getByRole('slider', { name: 'smoothing' }).fill('0.6');
  await expect.poll(() => pointsDrawn(widget, 'loss')).toBe(2 * ALL_POINTS);
  await expect(widget.locator('.nbprov-smoothing-value')).toHaveText('0.6');

  // Without an energy sensor, one line says why for every run (not one line per run).
  const omitted = widget.locator('li.nbprov-tradeoff-omitted');
  const count = await omitted.count();
  if (count > 0) {
    await expect(omitted).toHaveCount(1);
    await expect(omitted).toContainText('All 7 runs: energy unavailable');
  }

  // Compare, as MLflow's: inputs, metrics (last, min, max), and only the differences on request.
  await widget.getByRole('slider', { name: 'smoothing' }).fill('0');
  for (const label of tuned) {
    await widget.getByRole('checkbox', { name: `Select run ${label}` }).check();
  }
  await widget.getByRole('tab', { name: 'Compare' }).click();
  const inputs = widget.locator('.nbprov-compare-params');
  await expect(inputs.locator('thead th')).toHaveText(['parameter', ...tuned]);
  await expect(inputs.locator('tbody tr')).toHaveCount(2);
  const metrics = widget.locator('.nbprov-compare-metrics tbody tr');
  await expect(metrics).toHaveCount(3);
  await expect(metrics.nth(0).locator('th, td')).toHaveText(['loss (last)', '0.05', '0.04762']);
  await expect(metrics.nth(1)).toHaveClass(/nbprov-differs/); // min: 0.05 against 0
  await widget.getByRole('checkbox', { name: 'show only differences' }).check();
  await expect(inputs.locator('tbody tr')).toHaveCount(1);
  await expect(inputs.locator('tbody tr th')).toHaveText('seed');

  // A differing row stays readable in the dark theme (WCAG AA, 4.5:1).
  await page.theme.setDarkTheme();
  const [text, background] = await inputs
    .locator('tbody tr.nbprov-differs')
    .evaluate(node => [getComputedStyle(node).color, getComputedStyle(node).backgroundColor]);
  expect(contrast(text, background)).toBeGreaterThanOrEqual(4.5);
});

/** WCAG contrast of two computed `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (rgb: string) => {
    const [r, g, bl] = (rgb.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
    const channel = (c: number) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(bl);
  };
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}
