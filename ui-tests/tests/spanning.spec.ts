import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import { nbprovSettings, openFixture } from './helpers';

test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

/** Rows the chart of `metric` draws now (set by the chart once Vega has applied a change). */
async function pointsDrawn(scope: Locator, metric: string): Promise<number> {
  const chart = scope.locator(`.nbprov-chart[aria-label="Chart of metric ${metric}"]`);
  return Number((await chart.getAttribute('data-points', { timeout: 1000 }).catch(() => null)) ?? 0);
}

async function startCell(page: IJupyterLabPageFixture, index: number): Promise<void> {
  await page.notebook.selectCells(index);
  await page.evaluate(() => {
    void window.jupyterapp.commands.execute('notebook:run-cell');
  });
}

test('a run started in one cell grows live in the widget while the next cell logs, stays open between cells, and groups its nested run and lists the text it saved', async ({
  page,
  tmpPath
}) => {
  await openFixture(page, tmpPath, 'spanning.ipynb');
  await page.notebook.runCell(0);
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  const across = widget.locator('.nbprov-row', { hasText: 'across' });
  await expect(across).toHaveClass(/nbprov-status-running/, { timeout: 15000 });

  // The second cell logs 20 points, one every 150 ms: the chart grows while it runs.
  await startCell(page, 1);
  const prompt = page.locator('.jp-Cell').nth(1).locator('.jp-InputPrompt');
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBeGreaterThanOrEqual(2);
  const early = await pointsDrawn(widget, 'loss');
  await expect(prompt).toHaveText('[*]:');
  expect(early).toBeLessThan(20);
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBe(20);
  await expect(prompt).not.toHaveText('[*]:', { timeout: 20000 });
  // The cell ended; its run did not.
  await expect(across).toHaveClass(/nbprov-status-running/);

  await page.notebook.runCell(2);
  await expect(across).toHaveClass(/nbprov-status-finished/, { timeout: 15000 });
  await expect.poll(() => pointsDrawn(widget, 'loss')).toBe(30);
  // The nested run sits right below its parent, indented.
  const rows = widget.locator('.nbprov-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('across');
  await expect(rows.nth(0)).toContainText('(1 nested)');
  await expect(rows.nth(1)).toHaveClass(/nbprov-child-run/);
  await expect(rows.nth(1).locator('.nbprov-col-name')).toHaveText(/^↳ trial/);
  // The text it saved is listed with the run.
  const artifact = widget.locator('.nbprov-artifact');
  await expect(artifact).toHaveCount(1);
  await expect(artifact.locator('td')).toHaveText(['across', 'notes.txt', 'output, text/plain', '16 B']);
});
