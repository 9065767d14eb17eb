import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { nbprovSettings, openFixture, readText, reloadAndReopen } from './helpers';

test.use({ mockSettings: nbprovSettings({ record: 'all' }), viewport: { width: 1024, height: 900 } });

/** Screenshots are taken 800 px wide (the toolbar's kernel status is hidden that narrow, which the helpers wait for). */
const SCREENSHOT_VIEWPORT = { width: 800, height: 900 };

const RUNS_MIME = 'application/vnd.nbprov.runs+json';
const TRAIN_SOURCE = [
  'import nbprov',
  'with nbprov.run(name="alpha", params={"lr": 0.1}, energy=False) as run:',
  '    for step in range(5):',
  '        run.log_metric("loss", 1 / (step + 1), step=step)'
].join('\n');

interface IPanelShape {
  content: {
    activeCellIndex: number;
    widgets: { model: { id: string; sharedModel: { setSource(text: string): void } } }[];
    model: { sharedModel: { deleteCell(index: number): void } };
  };
  sessionContext: { shutdown(): Promise<void>; session: unknown };
}

const currentPanel = (page: IJupyterLabPageFixture) => ({
  setSource: (index: number, source: string) =>
    page.evaluate(
      ({ index, source }) =>
        (window.jupyterapp.shell.currentWidget as unknown as IPanelShape).content.widgets[index].model.sharedModel.setSource(
          source
        ),
      { index, source }
    ),
  deleteCell: (index: number) =>
    page.evaluate(
      index => (window.jupyterapp.shell.currentWidget as unknown as IPanelShape).content.model.sharedModel.deleteCell(index),
      index
    ),
  activeCellId: () =>
    page.evaluate(() => {
      const panel = window.jupyterapp.shell.currentWidget as unknown as IPanelShape;
      return panel.content.widgets[panel.content.activeCellIndex].model.id;
    })
});

/** Runs every cell and waits for the widget at the bottom to list the finished run. */
async function runAll(page: IJupyterLabPageFixture) {
  await page.notebook.run();
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  await expect(widget.locator('.nbprov-row.nbprov-status-finished')).toContainText('alpha', { timeout: 30000 });
  return widget;
}

test('a run’s cell reference scrolls to its cell and highlights it, then says when the cell changed or was deleted', async ({
  page,
  tmpPath
}) => {
  await openFixture(page, tmpPath, 'cellref.ipynb');
  const widget = await runAll(page);
  const reference = widget.locator('.nbprov-row', { hasText: 'alpha' }).locator('.nbprov-cell-ref');
  await expect(reference).toHaveText('cell [1]');
  // The runs widget is at the bottom: the training cell is off-screen before the click.
  await reference.scrollIntoViewIfNeeded();
  await expect(page.locator('.jp-Cell').first()).not.toBeInViewport();
  await reference.click();
  await expect(page.locator('.jp-Cell.nbprov-cell-highlight')).toHaveCount(1);
  await expect(page.locator('.jp-Cell').first()).toHaveClass(/nbprov-cell-highlight/);
  await expect(page.locator('.jp-Cell').first()).toBeInViewport();
  expect(await currentPanel(page).activeCellId()).toBe('c-train');
  await expect(widget.locator('.nbprov-cell-notice')).toBeEmpty();
  // The highlight goes after a while.
  await expect(page.locator('.jp-Cell.nbprov-cell-highlight')).toHaveCount(0, { timeout: 6000 });
  // The development-graph path stays, labelled.
  await expect(widget.locator('.nbprov-jump')).toHaveAttribute('aria-label', /development graph/);

  // Edited since it ran: the notice says so and shows the version that ran, and the diff.
  await currentPanel(page).setSource(0, TRAIN_SOURCE.replace('0.1', '0.5'));
  await reference.click();
  const notice = widget.locator('.nbprov-cell-notice');
  await expect(notice).toContainText('The cell that ran this run has changed since.');
  await expect(notice.locator('.nbprov-ran-version')).toBeHidden();
  await notice.getByRole('button', { name: 'Show the version that ran' }).click();
  await expect(notice.locator('.nbprov-ran-version pre.nbprov-source')).toHaveText(TRAIN_SOURCE);
  await expect(notice.locator('.nbprov-diff-removed')).toContainText('"lr": 0.1');
  await expect(notice.locator('.nbprov-diff-added')).toContainText('"lr": 0.5');
  await expect(page.locator('.jp-Cell').first()).toHaveClass(/nbprov-cell-highlight/);
  await page.setViewportSize(SCREENSHOT_VIEWPORT);
  await page.sidebar.close('left');
  await widget.evaluate(node => node.scrollIntoView({ block: 'start' }));
  // From the widget's top to the end of the notice (the charts below are not this test's).
  const top = (await widget.boundingBox())!;
  const end = (await notice.boundingBox())!;
  await expect(page).toHaveScreenshot('cellref-changed-light.png', {
    clip: { x: top.x, y: top.y, width: top.width, height: end.y + end.height - top.y },
    mask: [widget.locator('td.nbprov-col-start'), widget.locator('td.nbprov-col-duration')],
    maxDiffPixelRatio: 0.01
  });

  // Deleted: the notice says so, and still shows the version that ran.
  await currentPanel(page).deleteCell(0);
  await reference.click();
  await expect(notice).toContainText('The cell that ran this run has been deleted.');
  await notice.getByRole('button', { name: 'Show the version that ran' }).click();
  await expect(notice.locator('.nbprov-ran-version pre.nbprov-source')).toHaveText(TRAIN_SOURCE);
  await expect(notice.locator('.nbprov-diff')).toHaveCount(0);
});

test('a saved notebook keeps the runs summary; reopened with a new kernel and then none, it shows the summary and the way to the runs panel, never an error', async ({
  page,
  tmpPath
}) => {
  const path = `${tmpPath}/cellref.ipynb`;
  await openFixture(page, tmpPath, 'cellref.ipynb');
  await runAll(page);
  await page.notebook.save();
  // The saved output: nbprov's type and the page's summary (its Duration column is the page's).
  const saved = JSON.parse(await readText(page, path)) as { cells: { outputs: { data?: Record<string, unknown> }[] }[] };
  const output = saved.cells[saved.cells.length - 1].outputs.find(one => one.data && RUNS_MIME in one.data)!;
  expect(output.data!['application/vnd.jupyter.widget-view+json']).toBeUndefined();
  const html = String(output.data!['text/html']);
  expect(html).toContain('<table class="nbprov-summary"');
  expect(html).toContain('>Duration</th>');
  expect(html).toMatch(/>alpha<\/td>.*>finished<\/td>.*>0\.1<\/td>.*>0\.2<\/td>/);
  expect(String(output.data!['text/plain'])).not.toContain('RunsWidget(');

  // Reopened after its kernel was shut down: a new kernel, which has no such widget model. (A
  // reload alone keeps the kernel, and with it the model: the live view comes back.)
  await page.evaluate(() => (window.jupyterapp.shell.currentWidget as unknown as IPanelShape).sessionContext.shutdown());
  await reloadAndReopen(page, path);
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
  const fallback = page.locator('.nbprov-runs-fallback');
  await expect(fallback).toBeVisible({ timeout: 20000 });
  await expect(fallback).toContainText("Open the notebook's runs panel");
  await expect(fallback.locator('tbody tr')).toHaveCount(1);
  await expect(fallback.locator('tbody tr')).toContainText('alpha');
  await expect(fallback.locator('tbody tr')).toContainText('finished');
  await expect(page.getByText('Error displaying widget').filter({ visible: true })).toHaveCount(0);
  await expect(page.getByText('Loading widget').filter({ visible: true })).toHaveCount(0);

  // No kernel at all.
  await page.evaluate(() => (window.jupyterapp.shell.currentWidget as unknown as IPanelShape).sessionContext.shutdown());
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="unknown"], .jp-Notebook-ExecutionIndicator');
  await expect(fallback).toBeVisible();
  await expect(fallback.locator('tbody tr')).toContainText('alpha');
  await expect(page.getByText('Error displaying widget').filter({ visible: true })).toHaveCount(0);
  await page.setViewportSize(SCREENSHOT_VIEWPORT);
  await page.sidebar.close('left');
  await fallback.scrollIntoViewIfNeeded();
  await expect(fallback).toHaveScreenshot('static-fallback-light.png', {
    mask: [fallback.locator('td:nth-child(3)')],
    maxDiffPixelRatio: 0.01
  });

  // The button opens the runs panel, which reads the journal.
  await fallback.getByRole('button', { name: "Open the notebook's runs panel" }).click();
  const panel = page.locator('#nbprov-runs-panel');
  await expect(panel).toBeVisible();
  await expect(panel.locator('.nbprov-row')).toContainText('alpha');
});

test('from the runs panel, a run’s cell reference opens its closed notebook at the cell', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, 'cellref.ipynb');
  await runAll(page);
  await page.notebook.save();
  await page.notebook.close(true);
  await expect(page.locator('.jp-NotebookPanel')).toHaveCount(0);
  // Every notebook under the server root, read from the journals: the run names its notebook.
  await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:open-runs'));
  const panel = page.locator('#nbprov-runs-panel');
  await panel.locator('.nbprov-scope select').selectOption('root');
  const row = panel.locator('.nbprov-row', { hasText: 'alpha' });
  await expect(row).toHaveCount(1, { timeout: 20000 });
  await row.locator('.nbprov-cell-ref').click();
  await expect(page.locator('.jp-NotebookPanel')).toHaveCount(1, { timeout: 20000 });
  await expect(page.locator('.jp-Cell').first()).toHaveClass(/nbprov-cell-highlight/);
  await expect(page.locator('.jp-Cell').first()).toBeInViewport();
  expect(await currentPanel(page).activeCellId()).toBe('c-train');
  await expect(panel.locator('.nbprov-cell-notice')).toBeEmpty();
});
