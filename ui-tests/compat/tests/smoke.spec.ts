import { expect, test } from '@playwright/test';

interface IApp {
  commands: { execute(id: string): Promise<unknown> };
  shell: { currentWidget: { sessionContext?: { session?: { kernel?: { status: string } | null } | null } } | null };
}

test('the installed extension loads and renders the runs widget of a run', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', error => pageErrors.push(error.message));

  await page.goto('/lab/tree/smoke.ipynb');
  await page.locator('#jupyterlab-splash').waitFor({ state: 'detached', timeout: 60000 });
  // The kernel extension is loaded once the kernel is ready (setting "autoload").
  await page.waitForFunction(
    () =>
      (window as unknown as { jupyterapp: IApp }).jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status ===
      'idle',
    undefined,
    { timeout: 60000 }
  );
  await page.evaluate(() => (window as unknown as { jupyterapp: IApp }).jupyterapp.commands.execute('notebook:run-all-cells'));

  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  await expect(widget.locator('.nbprov-row')).toContainText('smoke', { timeout: 60000 });
  await expect(widget.locator('.nbprov-chart[data-metric="loss"]')).toBeVisible();
  await expect(page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).toHaveCount(0);
  expect(pageErrors).toEqual([]);
});
