import { galata, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import * as path from 'path';

/**
 * galata's default settings with nbprov's own (`record`, `exclude`, `autoload`, `energy`), for
 * `test.use({ mockSettings: ... })`. Tests of what nbprov records say explicitly what it records.
 */
export function nbprovSettings(settings: Record<string, unknown>): Record<string, unknown> {
  return { ...galata.DEFAULT_SETTINGS, 'nbprov:plugin': settings };
}

/** Uploads a fixture notebook into the test's folder and opens it. */
export async function openFixture(page: IJupyterLabPageFixture, tmpPath: string, name: string): Promise<void> {
  await page.contents.uploadFile(path.resolve(__dirname, 'notebooks', name), `${tmpPath}/${name}`);
  await openUploaded(page, tmpPath, name);
}

/** Writes a notebook made by the test (its JSON) into the test's folder and opens it. */
export async function openNotebookJson(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  name: string,
  json: string,
  timeout?: number
): Promise<void> {
  await page.contents.uploadContent(json, 'text', `${tmpPath}/${name}`);
  await openUploaded(page, tmpPath, name, timeout);
}

async function openUploaded(page: IJupyterLabPageFixture, tmpPath: string, name: string, timeout?: number): Promise<void> {
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  // The kernel extension is loaded silently once the kernel is ready.
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout });
}

/**
 * Reloads the page and shows the notebook again. The restored workspace shows the notebook, not the
 * launcher galata waits for by default; the notebook is opened through the document manager.
 */
export async function reloadAndReopen(page: IJupyterLabPageFixture, notebookPath: string): Promise<void> {
  // galata's reload takes `waitForIsReady`; its fixture type shows Playwright's signature.
  await page.reload({ waitForIsReady: false } as Parameters<IJupyterLabPageFixture['reload']>[0]);
  await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
  await page.evaluate(async p => {
    await window.jupyterapp.commands.execute('docmanager:open', { path: p });
  }, notebookPath);
  await page.notebook.activate(notebookPath.split('/').pop()!);
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator');
}

/** Reads a text file through the Contents API of the page's server. */
export async function readText(page: IJupyterLabPageFixture, filePath: string): Promise<string> {
  return page.evaluate(async p => {
    const model = await window.jupyterapp.serviceManager.contents.get(p, { content: true, format: 'text', type: 'file' });
    return model.content as string;
  }, filePath);
}

/** Names of the files in a folder (empty when missing). */
export async function listFiles(page: IJupyterLabPageFixture, folder: string): Promise<string[]> {
  return page.evaluate(async p => {
    try {
      const model = await window.jupyterapp.serviceManager.contents.get(p, { content: true });
      return (model.content as { name: string }[]).map(item => item.name);
    } catch {
      return [];
    }
  }, folder);
}

/** All JSON records of the journal files whose name starts with `prefix`. */
export async function journalRecords(
  page: IJupyterLabPageFixture,
  folder: string,
  prefix: string
): Promise<Record<string, unknown>[]> {
  const names = (await listFiles(page, `${folder}/journal`)).filter(n => n.startsWith(prefix)).sort();
  const records: Record<string, unknown>[] = [];
  for (const name of names) {
    for (const line of (await readText(page, `${folder}/journal/${name}`)).split('\n')) {
      if (line.trim()) {
        records.push(JSON.parse(line));
      }
    }
  }
  return records;
}

/** PROV-JSON nodes or relations by id. */
export type ProvNodes = Record<string, Record<string, unknown>>;

/** Runs `nbprov:export` on the current notebook and reads back its `prov.json`. */
export async function exportProvenance(page: IJupyterLabPageFixture, folder: string): Promise<Record<string, ProvNodes>> {
  const exported = await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:export'));
  if (exported !== `${folder}/prov.json`) {
    throw new Error(`nbprov:export wrote ${String(exported)}, not ${folder}/prov.json`);
  }
  return JSON.parse(await readText(page, `${folder}/prov.json`));
}

/** The cell-execution activities of an exported document, by start time: `[id, attributes]`. */
export function executionsOf(prov: Record<string, ProvNodes>): [string, Record<string, unknown>][] {
  return Object.entries(prov.activity)
    .filter(([, a]) => a['nbprov:exec_index'] !== undefined)
    .sort(([, a], [, b]) => (a['prov:startTime'] as string).localeCompare(b['prov:startTime'] as string));
}

/**
 * A run's cell of one table column: in its row, or in its detail row when the view's width folded
 * the column there (tablemodel.ts fitColumns).
 */
export function runCell(row: Locator, kind: string): Locator {
  return row
    .locator(`td.nbprov-col-${kind}`)
    .or(
      row.locator(
        `xpath=./following-sibling::tr[1][contains(@class, "nbprov-detail")]//dd[contains(@class, "nbprov-col-${kind}")]`
      )
    );
}

/** Rows the chart of `metric` draws now (set by the chart once Vega has applied a change). */
export async function pointsDrawn(scope: Locator, metric: string): Promise<number> {
  const chart = scope.locator(`.nbprov-chart[data-metric="${metric}"]`);
  return Number((await chart.getAttribute('data-points', { timeout: 1000 }).catch(() => null)) ?? 0);
}

/** Starts the selected cell without waiting for it to finish. */
export async function startCell(page: IJupyterLabPageFixture, index: number): Promise<void> {
  await page.notebook.selectCells(index);
  await page.evaluate(() => {
    void window.jupyterapp.commands.execute('notebook:run-cell');
  });
}
