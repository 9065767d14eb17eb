import { expect, test } from '@jupyterlab/galata';
import {
  executionsOf,
  exportProvenance,
  journalRecords,
  listFiles,
  nbprovSettings,
  openFixture,
  reloadAndReopen
} from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

const NOTEBOOK = 'devgraph.ipynb';

/** Waits until the page's journal holds `n` recorded outputs (flushed through the Contents API). */
async function waitForOutputs(page: Parameters<typeof journalRecords>[0], folder: string, n: number): Promise<void> {
  await expect
    .poll(async () => (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'exec_output').length, {
      timeout: 15000
    })
    .toBeGreaterThanOrEqual(n);
}

test('records executions, an edit, outputs and a page reload, and exports the development graph', async ({ page, tmpPath }) => {
  const folder = `${tmpPath}/devgraph.prov`;
  await openFixture(page, tmpPath, NOTEBOOK);

  await page.notebook.runCell(0);
  await page.notebook.runCell(1);
  await page.notebook.setCell(1, 'code', 'print(x + 1)');
  await page.notebook.runCell(1);
  await page.notebook.runCell(2);
  await waitForOutputs(page, folder, 4);
  await page.notebook.save();

  await reloadAndReopen(page, `${tmpPath}/${NOTEBOOK}`);
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
  await page.notebook.runCell(3);
  await waitForOutputs(page, folder, 5);

  const prov = await exportProvenance(page, folder);

  // Every execution, in order, with the cell it ran and its status.
  const executions = executionsOf(prov);
  expect(executions.map(([, a]) => a['nbprov:cell'])).toEqual(['c-define', 'c-print', 'c-print', 'c-image', 'c-double']);
  expect(executions.map(([, a]) => a['nbprov:status'])).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  const counts = executions.map(([, a]) => a['nbprov:execution_count'] as number);
  expect(counts).toEqual([...counts].sort((a, b) => a - b));

  // Consecutive executions of one kernel session are linked.
  const informed = Object.values(prov.wasInformedBy);
  for (let i = 1; i < executions.length; i++) {
    expect(informed).toContainEqual(
      expect.objectContaining({ 'prov:informed': executions[i][0], 'prov:informant': executions[i - 1][0] })
    );
  }

  // The edited cell has two source versions, the second derived from the first with the diff.
  const entities = prov.entity;
  const printVersions = Object.entries(entities).filter(
    ([, e]) => e['nbprov:cell'] === 'c-print' && e['nbprov:source'] !== undefined
  );
  expect(printVersions.map(([, e]) => e['nbprov:source']).sort()).toEqual(['print(x + 1)', 'print(x)']);
  const derivation = Object.values(prov.wasDerivedFrom).find(d =>
    printVersions.some(([id]) => id === d['prov:generatedEntity'])
  )!;
  expect(derivation['nbprov:diff']).toContain('-print(x)');
  expect(derivation['nbprov:diff']).toContain('+print(x + 1)');

  // Outputs: the printed values and the image, stored as a blob referenced by hash.
  const generated = Object.values(prov.wasGeneratedBy);
  const outputsOf = (execId: string) =>
    generated.filter(g => g['prov:activity'] === execId).map(g => entities[g['prov:entity'] as string]);
  expect(outputsOf(executions[1][0]).map(o => o['nbprov:text'])).toEqual(['20\n']);
  expect(outputsOf(executions[2][0]).map(o => o['nbprov:text'])).toEqual(['21\n']);
  const image = outputsOf(executions[3][0]).find(o => o['nbprov:mime'] === 'image/png')!;
  expect(image['nbprov:blob']).toBe(`blobs/${image['nbprov:sha256']}`);
  expect(await listFiles(page, `${folder}/blobs`)).toContain(image['nbprov:sha256']);
  expect(outputsOf(executions[4][0]).map(o => o['nbprov:text'])).toContain('40');
});
