import { expect, test } from '@jupyterlab/galata';
import { nbprovSettings, openFixture, pointsDrawn, startCell } from './helpers';

test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

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
