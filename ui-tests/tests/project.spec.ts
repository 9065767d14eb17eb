import { expect, test } from '@jupyterlab/galata';
import { nbprovSettings, openFixture } from './helpers';

test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

test('the side panel in folder mode compares runs of two notebooks; a corrupt .prov folder is skipped', async ({
  page,
  tmpPath
}) => {
  // Two notebooks of one folder, each with a run, and a .prov folder whose journal is garbage.
  for (const name of ['train_v2.ipynb', 'train.ipynb']) {
    await openFixture(page, tmpPath, name);
    await page.notebook.runCell(0);
    await expect
      .poll(async () => ((await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:runs'))) as unknown[]).length)
      .toBe(1);
    if (name === 'train_v2.ipynb') {
      await page.notebook.close(); // its kernel keeps running; one notebook is shown at a time
    }
  }
  await page.contents.uploadContent('not a journal \u0000', 'text', `${tmpPath}/broken.prov/journal/k-0123456789abcdef.jsonl`);

  await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:open-runs'));
  const panel = page.locator('#nbprov-runs-panel');
  await expect(panel.locator('.nbprov-scope-where')).toHaveText(`${tmpPath}/train.ipynb`);
  await expect(panel.locator('.nbprov-row')).toHaveCount(1);

  await panel.getByRole('combobox', { name: 'Show' }).selectOption('folder');
  await expect(panel.locator('.nbprov-scope-where')).toHaveText(`2 notebook(s) in ${tmpPath}; 1 folder(s) not fully readable`);
  await expect(panel.locator('.nbprov-scope-where')).toHaveAttribute('title', /broken\.prov: 1 damaged journal line/);
  const rows = panel.locator('.nbprov-row');
  await expect(rows).toHaveCount(2);
  // Each run names its notebook: in a column, or in its detail row when the panel is too narrow.
  const notebookOf = (run: string) =>
    panel.locator(
      `.nbprov-row:has-text("${run}") td.nbprov-col-notebook, .nbprov-row:has-text("${run}") + tr dd.nbprov-col-notebook`
    );
  await expect(notebookOf('v1')).toHaveText(`${tmpPath}/train.ipynb`);
  await expect(notebookOf('v2')).toHaveText(`${tmpPath}/train_v2.ipynb`);

  await panel.getByRole('checkbox', { name: 'Select run v1' }).check();
  await panel.getByRole('checkbox', { name: 'Select run v2' }).check();
  await panel.getByRole('tab', { name: 'Compare' }).click();
  const params = panel.locator('.nbprov-compare-params tbody tr');
  await expect(params).toHaveCount(1);
  await expect(params.nth(0)).toHaveClass(/nbprov-differs/);
  await expect(params.nth(0).locator('th, td')).toHaveText(['lr', '0.1', '0.01']);
});
