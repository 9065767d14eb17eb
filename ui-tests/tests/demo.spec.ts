import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';
import { executionsOf, exportProvenance, journalRecords, nbprovSettings, reloadAndReopen, runCell } from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

const DEMO = path.resolve(__dirname, '..', '..', 'examples', 'demo.ipynb');
const NOTEBOOK = 'demo.ipynb';

/** The demo notebook's cell ids, in order. */
const cellIds: string[] = JSON.parse(fs.readFileSync(DEMO, 'utf-8')).cells.map((cell: { id: string }) => cell.id);

test('the demo notebook: executions, an edit, a reload, a run with its energy, and the export', async ({ page, tmpPath }) => {
  const folder = `${tmpPath}/demo.prov`;
  await page.contents.uploadFile(DEMO, `${tmpPath}/${NOTEBOOK}`);
  await page.notebook.openByPath(`${tmpPath}/${NOTEBOOK}`);
  await page.notebook.activate(NOTEBOOK);
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');

  for (const index of [1, 2, 3]) {
    await page.notebook.runCell(index);
  }
  await page.notebook.setCell(2, 'code', (await page.notebook.getCellTextInput(2)).replace('random.seed(0)', 'random.seed(1)'));
  await page.notebook.runCell(2);
  await page.notebook.save();
  await expect
    .poll(async () => (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'exec_output').length, {
      timeout: 15000
    })
    .toBe(4);

  await reloadAndReopen(page, `${tmpPath}/${NOTEBOOK}`);
  await page.notebook.runCell(4);
  await page.notebook.runCell(6);

  // The run in the widget: its energy is a figure, or a dash with the reason — never 0.
  const row = page.locator('.jp-OutputArea-output .nbprov-runs tr.nbprov-row', { hasText: 'baseline' });
  await expect(row).toHaveCount(1, { timeout: 30000 });
  const energyCell = runCell(row, 'energy');
  await expect(energyCell).not.toHaveText(/^0( J)?$/);
  if ((await energyCell.textContent()) === '—') {
    await expect(energyCell).toHaveAttribute('title', /\((library_not_found|no_devices|not_supported|permission)\)/);
  }

  const prov = await exportProvenance(page, folder);
  const activities = prov.activity;
  const executions = executionsOf(prov);
  expect(executions.map(([, a]) => a['nbprov:cell'])).toEqual([1, 2, 3, 2, 4, 6].map(i => cellIds[i]));
  expect(new Set(executions.map(([, a]) => a['nbprov:status']))).toEqual(new Set(['ok']));

  // The edited cell: two source versions, the second derived from the first with the diff.
  const derivation = Object.values(prov.wasDerivedFrom).find(
    d => typeof d['nbprov:diff'] === 'string' && (d['nbprov:diff'] as string).includes('+random.seed(1)')
  )!;
  expect(derivation['nbprov:diff']).toContain('-random.seed(0)');

  // The run: linked to the execution of its cell, finished, its metrics in the Zarr sidecar, energy honest.
  const [runId, run] = Object.entries(activities).find(([, a]) => (a['prov:type'] as { $: string }).$ === 'provml:RunExecution')!;
  expect(run['nbprov:status']).toBe('finished');
  expect(Object.values(prov.wasInformedBy)).toContainEqual(
    expect.objectContaining({ 'prov:informed': runId, 'prov:informant': executions[4][0] })
  );
  const metrics = Object.values(prov.entity).filter(e => (e['prov:type'] as { $: string }).$ === 'provml:Metric');
  expect(metrics.length).toBeGreaterThan(0);
  for (const metric of metrics) {
    expect(metric['dcterms:identifier']).toMatch(/^[0-9a-f]{32}\//);
  }
  if (run['nbprov:energy'] === 'unavailable') {
    expect(run['nbprov:energy_reason']).toMatch(/library_not_found|no_devices|not_supported|permission/);
  } else {
    expect(run['provml:energy']).toBeGreaterThan(0);
  }
});
