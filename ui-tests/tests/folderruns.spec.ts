import { expect, test } from '@jupyterlab/galata';

/** A one-cell notebook logging one run with the learning rate `lr`. */
function notebook(run: string, lr: number): string {
  const source = `import nbprov\nwith nbprov.run(name='${run}', params={'lr': ${lr}}) as r:\n    for step in range(5):\n        r.log_metric('loss', ${lr} * step, step=step)`;
  return JSON.stringify({
    cells: [{ cell_type: 'code', execution_count: null, id: `c-${run}`, metadata: {}, outputs: [], source }],
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

test('the side panel in folder mode shows and compares runs of two notebooks', async ({ page, tmpPath }) => {
  for (const [name, run, lr] of [
    ['train.ipynb', 'first', 0.1],
    ['train_v2.ipynb', 'second', 0.2]
  ] as const) {
    await page.contents.uploadContent(notebook(run, lr), 'text', `${tmpPath}/${name}`);
    await page.notebook.openByPath(`${tmpPath}/${name}`);
    await page.notebook.activate(name);
    // Each open notebook has an indicator: wait for the one shown.
    await page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]:visible').waitFor();
    await page.notebook.runCell(0);
    await expect
      .poll(async () =>
        ((await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:runs'))) as { status: string }[]).map(
          r => r.status
        )
      )
      .toEqual(['finished']);
  }

  await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:open-runs'));
  const panel = page.locator('#nbprov-runs-panel');
  await expect(panel.locator('.nbprov-row')).toHaveCount(1); // this notebook: train_v2.ipynb
  await panel.getByRole('combobox', { name: 'Show the runs of' }).selectOption('folder');
  await expect(panel.locator('.nbprov-scope-note')).toHaveText('2 notebook(s)');
  await expect(panel.locator('.nbprov-row')).toHaveCount(2);
  await panel.getByRole('checkbox', { name: 'Select run first' }).check();
  await panel.getByRole('checkbox', { name: 'Select run second' }).check();
  await panel.getByRole('tab', { name: 'Compare' }).click();
  const params = panel.locator('.nbprov-compare-params tbody tr');
  await expect(params).toHaveCount(1);
  await expect(params.nth(0).locator('th, td')).toHaveText(['lr', '0.1', '0.2']);

  // Everything under the server root holds the same two runs; back to this notebook: one.
  await panel.getByRole('combobox', { name: 'Show the runs of' }).selectOption('root');
  await panel.getByRole('tab', { name: 'Runs' }).click();
  await expect(panel.locator('.nbprov-scope-note')).toHaveText(/^\d+ notebook\(s\)/, { timeout: 30000 });
  // (the root may hold other tests' notebooks too)
  await expect(panel.locator('.nbprov-row', { hasText: 'first' })).toHaveCount(1);
  await expect(panel.locator('.nbprov-row', { hasText: 'second' })).toHaveCount(1);
  await panel.getByRole('combobox', { name: 'Show the runs of' }).selectOption('notebook');
  await expect(panel.locator('.nbprov-row')).toHaveCount(1);
});
