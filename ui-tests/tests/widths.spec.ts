import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import * as path from 'path';
import { nbprovSettings, pointsDrawn } from './helpers';

/**
 * The runs widget at every width: the screenshot matrix (scenarios × widths × themes) of a
 * five-run sweep, and the behaviour behind it (the folded table at 320 px, the side panel, the
 * accessible tabs). The widget's own width is set by a style rule on its output, so the view
 * sizes itself by its node (ResizeObserver), not by the window.
 */
// Tall enough for the whole widget at 320 px: a screenshot of an element taller than the window
// showed the lab's status bar across it.
test.use({ mockSettings: nbprovSettings({ record: 'all' }), viewport: { width: 1700, height: 2200 } });

const FIXTURE = 'widths.ipynb';
const RUNS = 5;
const METRICS = ['train_loss', 'val_loss'];

/** The side panel's own width, as JupyterLab opens it. */
const PANEL = 'panel';
type Width = number | typeof PANEL;

interface IScenario {
  name: string;
  widths: readonly Width[];
  /** Brings the view into the scenario's state; returns what to screenshot. */
  prepare(page: IJupyterLabPageFixture, view: Locator): Promise<Locator>;
}

const WIDGET_WIDTHS = [320, 800, 1400] as const;

/** Waits until every chart drew what it holds (Vega applied the last change) and stays so. */
async function chartsSettled(view: Locator, runs: number): Promise<void> {
  await expect(view.locator('caption').first()).toHaveText(new RegExp(`^${runs} run\\(s\\)`));
  for (const metric of METRICS) {
    let previous = -1;
    await expect
      .poll(
        async () => {
          const drawn = await pointsDrawn(view, metric);
          const settled = drawn > 0 && drawn === previous;
          previous = drawn;
          return settled;
        },
        { timeout: 20000, intervals: [500] }
      )
      .toBe(true);
  }
}

/** The five-run sweep, then each scenario: add one row to extend the matrix. */
const SCENARIOS: IScenario[] = [
  {
    name: 'sweep',
    widths: WIDGET_WIDTHS,
    prepare: async (_, view) => {
      await chartsSettled(view, RUNS);
      return view;
    }
  },
  {
    name: 'filtered',
    widths: WIDGET_WIDTHS,
    prepare: async (_, view) => {
      // "lr=0.0" matches four runs; the charts follow the table.
      await view.getByRole('searchbox', { name: 'Filter runs' }).fill('lr=0.0');
      await chartsSettled(view, 4);
      await expect(view.locator('.nbprov-chart[data-metric="train_loss"]')).not.toHaveAttribute('aria-label', /lr=0\.1\b/);
      return view;
    }
  },
  {
    name: 'log-smoothing',
    widths: WIDGET_WIDTHS,
    prepare: async (_, view) => {
      await chartsSettled(view, RUNS);
      await view.locator('.nbprov-scale select').selectOption('log');
      await view.locator('.nbprov-smoothing input').fill('0.8');
      await expect(view.locator('.nbprov-smoothing-value')).toHaveText('0.8');
      await chartsSettled(view, RUNS);
      return view;
    }
  },
  {
    name: 'compare',
    widths: WIDGET_WIDTHS,
    prepare: async (_, view) => {
      await chartsSettled(view, RUNS);
      for (const name of ['lr=0.001', 'lr=0.01', 'lr=0.1']) {
        await view.getByRole('checkbox', { name: `Select run ${name}` }).check();
      }
      await view.getByRole('tab', { name: 'Compare' }).click();
      await expect(view.locator('.nbprov-compare-metrics tbody tr')).toHaveCount(METRICS.length * 3);
      return view;
    }
  },
  {
    name: 'side-panel',
    widths: [PANEL],
    prepare: async page => {
      await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:open-runs'));
      const panel = page.locator('#nbprov-runs-panel');
      await expect(panel.locator('.nbprov-scope-where')).toHaveText(/widths\.ipynb$/);
      await chartsSettled(panel, RUNS);
      return panel;
    }
  }
];

/** Uploads a fixture notebook and opens it through the document manager (the file browser may be closed). */
async function openNotebook(page: IJupyterLabPageFixture, tmpPath: string, name: string): Promise<void> {
  await page.contents.uploadFile(path.resolve(__dirname, 'notebooks', name), `${tmpPath}/${name}`);
  await page.evaluate(async p => {
    await window.jupyterapp.commands.execute('docmanager:open', { path: p });
  }, `${tmpPath}/${name}`);
  await page.notebook.activate(name);
  // The shown notebook's indicator: a notebook in a background tab has one too, hidden.
  await page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]:visible').first().waitFor();
}

/** Opens the sweep, sets the theme and the widget's width, and runs the sweep. */
async function showSweep(page: IJupyterLabPageFixture, tmpPath: string, theme: 'light' | 'dark', width: Width): Promise<Locator> {
  await openNotebook(page, tmpPath, FIXTURE);
  await page.sidebar.close('left');
  await (theme === 'light' ? page.theme.setLightTheme() : page.theme.setDarkTheme());
  if (width !== PANEL) {
    await page.addStyleTag({ content: `.jp-OutputArea-output .nbprov-widget { width: ${width}px; }` });
  }
  await page.notebook.runCell(0);
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  await expect(widget.locator('.nbprov-row')).toHaveCount(RUNS, { timeout: 30000 });
  if (width !== PANEL) {
    expect((await widget.boundingBox())!.width).toBe(width);
  }
  return widget;
}

/** Start times and durations are the clock's: masked. */
const masks = (shot: Locator): Locator[] => [shot.locator('.nbprov-col-start'), shot.locator('.nbprov-col-duration')];

test.describe('screenshots', () => {
  for (const scenario of SCENARIOS) {
    for (const width of scenario.widths) {
      for (const theme of ['light', 'dark'] as const) {
        test(`${scenario.name} at ${width === PANEL ? 'the side panel width' : `${width} px`}, ${theme}`, async ({
          page,
          tmpPath
        }) => {
          const widget = await showSweep(page, tmpPath, theme, width);
          const shot = await scenario.prepare(page, widget.locator('.nbprov-runs'));
          // Nothing reaches past the view's right edge: no horizontal scrolling at any width.
          const overflow = await shot.evaluate(node => node.scrollWidth - node.clientWidth);
          expect(overflow).toBeLessThanOrEqual(0);
          await expect(shot).toHaveScreenshot(`${scenario.name}-${width}-${theme}.png`, {
            mask: masks(shot),
            maxDiffPixelRatio: 0.01
          });
        });
      }
    }
  }
});

test('a font that arrives after the table was fitted gives the same widget as one there from the start', async ({
  page,
  tmpPath
}) => {
  // The lab's fonts (galata serves DejaVu Sans) are held back until the sweep is shown.
  let release!: () => void;
  const released = new Promise<void>(resolve => (release = resolve));
  await page.route(/galata-extension\/static\/.*\.woff2$/, async route => {
    await released;
    await route.continue();
  });
  await page.reload();
  const widget = await showSweep(page, tmpPath, 'light', 800);
  // (Not document.fonts.check: it is true for a family the system also has, loading or not.)
  const dejaVuStatus = () =>
    page.evaluate(() => Array.from(document.fonts).find(face => face.family === 'DejaVu Sans' && face.weight === '400')?.status);
  expect(await dejaVuStatus()).toBe('loading');
  release();
  await expect.poll(dejaVuStatus).toBe('loaded');
  const view = await SCENARIOS[0].prepare(page, widget.locator('.nbprov-runs'));
  await expect(view).toHaveScreenshot('sweep-800-light.png', { mask: masks(view), maxDiffPixelRatio: 0.01 });
});

test('at 320 px the table folds into detail rows that open by keyboard, and unfolds when the view widens', async ({
  page,
  tmpPath
}) => {
  const widget = await showSweep(page, tmpPath, 'light', 320);
  const view = widget.locator('.nbprov-runs');
  const table = view.locator('table.nbprov-table').first();
  await expect(table).toHaveClass(/nbprov-table-folded/);
  // The run and its status stay; the start time, the parameters and the energy fold.
  const headers = table.locator('thead th');
  await expect(headers.filter({ hasText: 'Run' })).toBeVisible();
  await expect(headers.filter({ hasText: 'Status' })).toBeVisible();
  for (const folded of ['Start', 'Energy', 'lr']) {
    await expect(headers.filter({ hasText: new RegExp(`^${folded}$`) })).toHaveCount(0);
  }
  const statusBox = (await headers.filter({ hasText: 'Status' }).boundingBox())!;
  const viewBox = (await view.boundingBox())!;
  expect(statusBox.x + statusBox.width).toBeLessThanOrEqual(viewBox.x + viewBox.width);
  expect(await table.evaluate(node => node.scrollWidth - node.clientWidth)).toBeLessThanOrEqual(0);

  const disclosure = view.getByRole('button', { name: 'Details of run lr=0.003' });
  const detail = view.locator(`#${await disclosure.getAttribute('aria-controls')}`);
  await expect(disclosure).toHaveAttribute('aria-expanded', 'false');
  await expect(detail).toBeHidden();
  await disclosure.focus();
  await page.keyboard.press('Enter');
  await expect(disclosure).toHaveAttribute('aria-expanded', 'true');
  await expect(detail).toBeVisible();
  await expect(detail.locator('dt')).toContainText(['Experiment', 'Start', 'Duration', 'batch', 'lr']);
  await expect(detail.locator('dt', { hasText: /^lr$/ }).locator('+ dd')).toHaveText('0.003');
  // Open across refreshes (the filter re-renders the table), and focus stays on the button.
  await view.getByRole('searchbox', { name: 'Filter runs' }).fill('lr=0.00');
  await expect(view.locator('.nbprov-row')).toHaveCount(2);
  await expect(detail).toBeVisible();
  await disclosure.focus();
  await page.keyboard.press(' ');
  await expect(disclosure).toHaveAttribute('aria-expanded', 'false');
  await expect(detail).toBeHidden();

  // Wider: every column again, no detail buttons (the view follows its own width, live).
  await page.addStyleTag({ content: '.jp-OutputArea-output .nbprov-widget { width: 1400px; }' });
  await expect(table).not.toHaveClass(/nbprov-table-folded/);
  await expect(view.locator('.nbprov-disclosure')).toHaveCount(0);
  await expect(headers.filter({ hasText: /^Energy$/ })).toHaveCount(1);
});

test('the tabs name their panels, which are labelled by them; one tab is a Tab stop', async ({ page, tmpPath }) => {
  const widget = await showSweep(page, tmpPath, 'light', 800);
  const tabs = widget.getByRole('tab');
  await expect(tabs).toHaveText(['Runs', 'Compare', 'Development graph']);
  for (const [index, name] of ['Runs', 'Compare', 'Development graph'].entries()) {
    const tab = widget.getByRole('tab', { name });
    await tab.click();
    const panel = page.locator(`#${await tab.getAttribute('aria-controls')}`);
    await expect(panel).toHaveAttribute('role', 'tabpanel');
    await expect(panel).toHaveAttribute('aria-labelledby', (await tab.getAttribute('id'))!);
    await expect(panel).toBeVisible();
    await expect(widget.getByRole('tabpanel')).toHaveCount(1); // the others are hidden
    await expect(widget.getByRole('tabpanel', { name })).toBeVisible();
    await expect(tabs.nth(index)).toHaveAttribute('aria-selected', 'true');
    await expect(widget.locator('[role="tab"][tabindex="0"]')).toHaveCount(1);
  }
  // Ids are unique in the page, with a second view (the side panel) open.
  await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:open-runs'));
  await expect(page.locator('#nbprov-runs-panel').getByRole('tabpanel')).toHaveCount(1);
  const ids = await page
    .locator('.nbprov-tab, .nbprov-section[role="tabpanel"]')
    .evaluateAll(nodes => nodes.map(node => node.id));
  expect(ids).toHaveLength(12);
  expect(new Set(ids).size).toBe(ids.length);
});

test('the side panel names its notebook and follows the current notebook', async ({ page, tmpPath }) => {
  await showSweep(page, tmpPath, 'light', PANEL);
  await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:open-runs'));
  const panel = page.locator('#nbprov-runs-panel');
  await expect(panel.locator('.nbprov-scope-where')).toHaveText(`${tmpPath}/${FIXTURE}`);
  await expect(panel.locator('.nbprov-row')).toHaveCount(RUNS);
  await openNotebook(page, tmpPath, 'Untitled.ipynb');
  await expect(panel.locator('.nbprov-scope-where')).toHaveText(`${tmpPath}/Untitled.ipynb`);
  await expect(panel.locator('.nbprov-row')).toHaveCount(0);
  await page.notebook.activate(FIXTURE);
  await expect(panel.locator('.nbprov-scope-where')).toHaveText(`${tmpPath}/${FIXTURE}`);
  await expect(panel.locator('.nbprov-row')).toHaveCount(RUNS);
  // At its default width the panel folds the table and keeps the status in view.
  const panelBox = (await panel.boundingBox())!;
  const status = (await panel.locator('thead th', { hasText: 'Status' }).boundingBox())!;
  expect(status.x + status.width).toBeLessThanOrEqual(panelBox.x + panelBox.width);
  expect(await panel.evaluate(node => node.scrollWidth - node.clientWidth)).toBeLessThanOrEqual(0);
  console.log(`side panel default width: ${panelBox.width} px`);
});
