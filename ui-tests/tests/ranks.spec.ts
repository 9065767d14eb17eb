import { expect, test } from '@jupyterlab/galata';
import { nbprovSettings, openFixture, pointsDrawn, startCell } from './helpers';

test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

test('a torchrun run launched from a cell shows both ranks live in the widget; rank 0 by default, every rank on demand', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(240000);
  await openFixture(page, tmpPath, 'ranks-live.ipynb');
  await startCell(page, 0);
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  const running = page.locator('.jp-Cell').first().locator('.jp-InputPrompt');
  const allRanks = widget.locator('.nbprov-all-ranks');

  // The toggle appears once a rank's series reached the page (40 points a rank, one every 250 ms).
  await expect(allRanks).toBeVisible({ timeout: 120000 });
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 30000 }).toBeGreaterThanOrEqual(4);
  await expect(running).toHaveText('[*]:');
  const rankZero = await pointsDrawn(widget, 'loss');
  await allRanks.locator('input').check();
  // Both ranks, while the cell still runs: more rows than rank 0 alone has had.
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 10000 }).toBeGreaterThan(rankZero + 2);
  await expect(running).toHaveText('[*]:');

  // At the end: 40 points of each rank with "all ranks", rank 0's 40 without.
  await expect(widget.locator('.nbprov-row.nbprov-status-finished')).toContainText('ddp', { timeout: 120000 });
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBe(80);
  await allRanks.locator('input').uncheck();
  await expect.poll(() => pointsDrawn(widget, 'loss')).toBe(40);
});
