import { expect, test } from '@jupyterlab/galata';
import { journalRecords, nbprovSettings, openFixture, runCell } from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

const NOTEBOOK = 'energy.ipynb';

test('run energy in the widget: the figure or, without a sensor, a dash and the reason, never 0', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, NOTEBOOK);
  await page.notebook.runCell(0);

  // The kernel journal is flushed at least every 250 ms: wait for the run's energy records.
  const readRunEnergy = async () =>
    (await journalRecords(page, `${tmpPath}/energy.prov`, 'k-')).filter(
      record => record.type === 'energy' && record.scope === 'run'
    );
  await expect.poll(async () => (await readRunEnergy()).length, { timeout: 10000 }).toBeGreaterThan(0);
  const runEnergy = await readRunEnergy();
  const unavailable = runEnergy.filter(record => record.joules === null);

  const widget = page.locator('.jp-OutputArea-output .nbprov-runs');
  const row = widget.locator('tr.nbprov-row', { hasText: 'energy-run' });
  await expect(row).toHaveCount(1, { timeout: 30000 });
  const energyCell = runCell(row, 'energy');
  const tradeoff = widget.locator('.nbprov-tradeoff');
  await expect(tradeoff).toBeVisible();

  if (unavailable.length === runEnergy.length) {
    // No sensor readable (this machine: no GPU, RAPL not readable): a dash with the reason.
    await expect(energyCell).toHaveText('—');
    for (const record of unavailable) {
      await expect(energyCell).toHaveAttribute('title', new RegExp(String(record.reason)));
    }
    // The trade-off chart lists the run with its reason instead of plotting it at 0 J.
    const omitted = tradeoff.locator('li.nbprov-tradeoff-omitted', { hasText: 'energy-run' });
    await expect(omitted).toContainText('energy unavailable');
    await expect(omitted).toContainText(`(${String(unavailable[0].reason)})`);
    await expect(tradeoff.locator('.nbprov-message')).toContainText('No run has both an energy figure');
    await expect(tradeoff.locator('.nbprov-tradeoff-plot')).toBeHidden();
  } else {
    // A sensor was readable: the measured figure, and the run is plotted.
    await expect(energyCell).toHaveText(/\d.* (J|kJ|MJ)/);
    await expect(tradeoff.locator('.nbprov-chart-plot')).toHaveAttribute('aria-label', /energy-run .* at /);
  }
  await expect(energyCell).not.toHaveText(/^0( J)?$/);

  // Power samples get their own chart against wall time, not one among the user's metrics.
  await expect(widget.locator('.nbprov-chart[data-metric="Power (W)"]')).toHaveCount(1);
  await expect(widget.locator('.nbprov-chart[data-metric="loss"]')).toHaveCount(1);
  await expect(widget.locator('.nbprov-chart[data-metric^="power_watts"]')).toHaveCount(0);
  // Vega's canvas (axes), and the chart's own that draws the lines.
  await expect(widget.locator('.nbprov-chart[data-metric="Power (W)"] canvas:not(.nbprov-chart-lines)')).toHaveCount(1);
  await expect(widget.locator('.nbprov-chart[data-metric="Power (W)"] canvas.nbprov-chart-lines')).toHaveCount(1);
  // The trade-off metric choice holds the user's metric only.
  await expect(tradeoff.locator('select').first().locator('option')).toHaveText(['loss']);
});
