import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { nbprovSettings, openFixture, pointsDrawn, startCell } from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

/** Replaces a cell's source in the current notebook's model. */
async function setSource(page: IJupyterLabPageFixture, index: number, lines: string[]): Promise<void> {
  await page.evaluate(
    ({ index, source }) => {
      const panel = window.jupyterapp.shell.currentWidget as unknown as {
        content: { widgets: { model: { sharedModel: { setSource(text: string): void } } }[] };
      };
      panel.content.widgets[index].model.sharedModel.setSource(source);
    },
    { index, source: lines.join('\n') }
  );
}

interface IDescribedRun {
  name: string;
  status: string;
}

const describeRuns = (page: IJupyterLabPageFixture) =>
  page.evaluate(() => window.jupyterapp.commands.execute('nbprov:runs')) as Promise<IDescribedRun[]>;

test('the chart of nbprov.show() grows while the training cell runs; the side panel shows the run while the kernel is busy; a second run compares by parameters and code', async ({
  page,
  tmpPath
}) => {
  await openFixture(page, tmpPath, 'widget-live.ipynb');
  await startCell(page, 0);
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  // The cell's prompt shows [*] while it runs (the kernel status may read idle meanwhile: other
  // requests, such as the widgets' comm info, report their own busy/idle).
  const running = page.locator('.jp-Cell').first().locator('.jp-InputPrompt');

  // Two readings while the cell still runs (40 points, one every 250 ms): the second is larger.
  await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBeGreaterThanOrEqual(4);
  const first = await pointsDrawn(widget, 'loss');
  await expect(running).toHaveText('[*]:');
  await page.waitForTimeout(1500);
  const second = await pointsDrawn(widget, 'loss');
  await expect(running).toHaveText('[*]:');
  expect(first).toBeLessThan(40);
  expect(second).toBeGreaterThan(first);
  await expect(widget.locator('.nbprov-row.nbprov-status-running')).toContainText('baseline');

  // The side panel reads the frontend store: it shows the same run while the kernel is busy.
  await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:open-runs'));
  const panel = page.locator('#nbprov-runs-panel');
  await expect(panel).toBeVisible();
  await expect(panel.locator('.nbprov-row')).toHaveCount(1);
  await expect(panel.locator('.nbprov-row.nbprov-status-running')).toContainText('baseline');
  await expect.poll(() => pointsDrawn(panel, 'loss'), { timeout: 5000 }).toBeGreaterThan(second);
  await expect(running).toHaveText('[*]:');

  // The run ends with every point drawn (40 points fit the chart's width: none reduced away).
  await expect(widget.locator('.nbprov-row.nbprov-status-finished')).toContainText('baseline', { timeout: 30000 });
  await expect.poll(() => pointsDrawn(widget, 'loss')).toBe(40);
  await expect.poll(() => pointsDrawn(panel, 'loss')).toBe(40);

  // A second run with another learning rate, from an edited cell.
  // Set through the model: typing into the editor would auto-indent the lines.
  await setSource(page, 0, [
    'import time, nbprov',
    'from IPython.display import display',
    'display(nbprov.show())',
    'lr = 0.05',
    'with nbprov.run(name="slower", params={"lr": lr, "batch": 32}) as run:',
    '    for step in range(20):',
    '        run.log_metric("loss", 1.0 / (1.0 + lr * step), step=step)',
    '        time.sleep(0.05)'
  ]);
  await page.notebook.runCell(0);
  await expect
    .poll(async () => (await describeRuns(page)).map(run => `${run.name} ${run.status}`).sort())
    .toEqual(['baseline finished', 'slower finished']);
  const rows = widget.locator('.nbprov-row');
  await expect(rows).toHaveCount(2);
  await widget.getByRole('checkbox', { name: 'Select run baseline' }).check();
  await widget.getByRole('checkbox', { name: 'Select run slower' }).check();
  await expect(widget.locator('caption').first()).toHaveText('2 run(s), 2 selected');
  await widget.getByRole('tab', { name: 'Compare' }).click();

  // Parameters: the differing one first and marked, the equal one after it.
  const params = widget.locator('.nbprov-compare-params tbody tr');
  await expect(params).toHaveCount(2);
  await expect(params.nth(0)).toHaveClass(/nbprov-differs/);
  await expect(params.nth(0).locator('th, td')).toHaveText(['lr', '0.1', '0.05']);
  await expect(params.nth(1)).not.toHaveClass(/nbprov-differs/);
  await expect(params.nth(1).locator('th, td')).toHaveText(['batch', '32', '32']);

  // Code: the line diff between the two versions of the cell.
  const diff = widget.locator('.nbprov-compare-code .nbprov-diff');
  await expect(diff.locator('.nbprov-diff-removed')).toHaveText([
    '-lr = 0.1\n',
    '-with nbprov.run(name="baseline", params={"lr": lr, "batch": 32}) as run:\n',
    '-    for step in range(40):\n',
    '-        time.sleep(0.25)\n'
  ]);
  await expect(diff.locator('.nbprov-diff-added')).toHaveText([
    '+lr = 0.05\n',
    '+with nbprov.run(name="slower", params={"lr": lr, "batch": 32}) as run:\n',
    '+    for step in range(20):\n',
    '+        time.sleep(0.05)\n'
  ]);

  // The tabs follow the keyboard pattern: arrows move between them, only the selected one is tabbable.
  const compareTab = widget.getByRole('tab', { name: 'Compare' });
  const graphTab = widget.getByRole('tab', { name: 'Development graph' });
  await compareTab.focus();
  await page.keyboard.press('ArrowRight');
  await expect(graphTab).toHaveAttribute('aria-selected', 'true');
  await expect(graphTab).toBeFocused();
  await expect(compareTab).toHaveAttribute('tabindex', '-1');
  await page.keyboard.press('Home');
  await expect(widget.getByRole('tab', { name: 'Runs' })).toHaveAttribute('aria-selected', 'true');
});

test('user strings (a metric named like HTML) render as text, never as elements', async ({ page, tmpPath }) => {
  let dialogs = 0;
  page.on('dialog', dialog => {
    dialogs++;
    void dialog.dismiss();
  });
  await openFixture(page, tmpPath, 'widget-hostile.ipynb');
  await page.notebook.runCell(0);
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  const metric = '<img src=x onerror=alert(1)>';
  await expect.poll(() => pointsDrawn(widget, metric), { timeout: 20000 }).toBe(20);
  await expect(widget.getByRole('columnheader', { name: `${metric} last` })).toBeVisible();
  await expect(widget.locator('td.nbprov-col-name')).toContainText('<b>bold</b>');
  // The columns that do not fit the view are in each run's detail row: opened, so that every
  // string is on screen wherever it went.
  for (const disclosure of await widget.locator('.nbprov-disclosure').all()) {
    await disclosure.click();
  }
  await expect(widget.locator('thead th, .nbprov-detail dt').filter({ hasText: /^<script>x<\/script>$/ })).toBeVisible();
  await expect(widget.locator('tbody td, .nbprov-detail dd').filter({ hasText: /^<i>v<\/i>$/ })).toBeVisible();
  await expect(widget.locator('img, b, i, script')).toHaveCount(0);
  // The development graph shows the cell's source as text too.
  await widget.getByRole('tab', { name: 'Development graph' }).click();
  await widget.locator('.nbprov-exec summary').first().click();
  await expect(widget.locator('.nbprov-source')).toContainText(`run.log_metric("${metric}"`);
  await expect(widget.locator('img, b, i, script')).toHaveCount(0);
  expect(dialogs).toBe(0);
});

test.describe('screenshots', () => {
  // Tall enough for the table and both charts.
  test.use({ viewport: { width: 1024, height: 1100 } });

  for (const theme of ['light', 'dark'] as const) {
    test(`the runs widget in the ${theme} theme`, async ({ page, tmpPath }) => {
      await openFixture(page, tmpPath, 'widget-fixed.ipynb');
      // Render in the other theme first: the charts must follow a theme change.
      await (theme === 'light' ? page.theme.setDarkTheme() : page.theme.setLightTheme());
      await page.notebook.runCell(0);
      const widget = page.locator('.jp-OutputArea .nbprov-widget');
      await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBe(400);
      await (theme === 'light' ? page.theme.setLightTheme() : page.theme.setDarkTheme());
      await expect.poll(() => pointsDrawn(widget, 'accuracy'), { timeout: 20000 }).toBe(400);
      await expect.poll(() => pointsDrawn(widget, 'loss'), { timeout: 20000 }).toBe(400);
      await expect(widget.locator('.nbprov-row')).toHaveCount(2);
      // From the widget's top to the end of the metric charts (sections below them are not this test's).
      const top = (await widget.boundingBox())!;
      const charts = widget.locator('.nbprov-chart');
      const last = (await charts.nth((await charts.count()) - 1).boundingBox())!;
      await expect(page).toHaveScreenshot(`runs-${theme}.png`, {
        clip: { x: top.x, y: top.y, width: top.width, height: last.y + last.height - top.y },
        mask: [widget.locator('td.nbprov-col-start'), widget.locator('td.nbprov-col-duration')],
        maxDiffPixelRatio: 0.01
      });
    });
  }
});
