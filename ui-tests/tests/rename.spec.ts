import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { executionsOf, exportProvenance, listFiles, nbprovSettings, openFixture, readText, reloadAndReopen } from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

interface IDescribedRun {
  name: string;
  status: string;
  series: { metric: string; steps: number[]; values: number[] }[];
}

const describe = (page: IJupyterLabPageFixture) =>
  page.evaluate(() => window.jupyterapp.commands.execute('nbprov:runs')) as Promise<IDescribedRun[]>;

const statusOf = async (page: IJupyterLabPageFixture, name: string) =>
  (await describe(page)).find(run => run.name === name)?.status;

/** Renames a file the way a user does: select it in the file browser, F2, type, Enter. */
async function renameInFileBrowser(page: IJupyterLabPageFixture, folder: string, from: string, to: string): Promise<void> {
  await page.sidebar.openTab('filebrowser');
  await page.filebrowser.openDirectory(folder);
  await page.locator('.jp-DirListing-content').getByText(from, { exact: true }).click();
  await page.keyboard.press('F2');
  const editor = page.locator('.jp-DirListing-editor');
  await editor.fill(to);
  await editor.press('Enter');
  await expect.poll(() => page.filebrowser.isFileListedInBrowser(to), { timeout: 10000 }).toBe(true);
}

async function notebookId(page: IJupyterLabPageFixture, path: string): Promise<string | undefined> {
  return (JSON.parse(await readText(page, path)) as { metadata: { nbprov?: { id?: string } } }).metadata.nbprov?.id;
}

test('a rename in the file browser, then a reload: every run is still there, and the export by the new name holds them', async ({
  page,
  tmpPath
}) => {
  await openFixture(page, tmpPath, 'Untitled.ipynb');
  // The notebook got its id, saved at once, and its folder holds the same id.
  await expect.poll(() => notebookId(page, `${tmpPath}/Untitled.ipynb`), { timeout: 10000 }).toMatch(/^[0-9a-f]{32}$/);
  const id = await notebookId(page, `${tmpPath}/Untitled.ipynb`);
  expect(JSON.parse(await readText(page, `${tmpPath}/Untitled.prov/identity.json`)).id).toBe(id);

  await page.notebook.runCell(0);
  await expect.poll(() => statusOf(page, 'before'), { timeout: 15000 }).toBe('finished');

  // Rename while the next cell is logging: the kernel is busy and cannot hear the page until it ends.
  await page.notebook.selectCells(1);
  await page.evaluate(() => {
    void window.jupyterapp.commands.execute('notebook:run-cell');
  });
  await expect.poll(() => statusOf(page, 'during'), { timeout: 15000 }).toBe('running');
  await renameInFileBrowser(page, tmpPath, 'Untitled.ipynb', 'train.ipynb');
  await expect
    .poll(async () => (await listFiles(page, tmpPath)).sort(), { timeout: 10000 })
    .toEqual(['train.ipynb', 'train.prov']);
  await expect.poll(() => statusOf(page, 'during'), { timeout: 30000 }).toBe('finished');
  await page.notebook.runCell(2);
  await expect.poll(() => statusOf(page, 'after'), { timeout: 15000 }).toBe('finished');
  expect(await listFiles(page, tmpPath)).not.toContain('Untitled.prov'); // nothing was written to the old place
  const identity = JSON.parse(await readText(page, `${tmpPath}/train.prov/identity.json`));
  expect(identity).toEqual({ id, notebook: 'train.ipynb' });

  await reloadAndReopen(page, `${tmpPath}/train.ipynb`);
  const expected = { before: 100, during: 400, after: 100 };
  const counts = async () =>
    Object.fromEntries((await describe(page)).map(run => [run.name, run.series.find(s => s.metric === 'loss')?.steps.length]));
  await expect.poll(counts, { timeout: 15000 }).toEqual(expected);
  for (const run of await describe(page)) {
    expect(run.status).toBe('finished');
    const loss = run.series.find(s => s.metric === 'loss')!;
    expect(loss.values).toEqual(loss.steps); // every point with its own step
  }

  const prov = await exportProvenance(page, `${tmpPath}/train.prov`);
  const runs = Object.values(prov.activity).filter(a => (a['prov:type'] as { $: string }).$ === 'provml:RunExecution');
  expect(runs.map(run => run['prov:label']).sort()).toEqual(['after', 'before', 'during']);
  const metrics = Object.values(prov.entity).filter(e => (e['prov:type'] as { $: string }).$ === 'provml:Metric');
  expect(metrics.map(m => m['nbprov:points']).sort()).toEqual([100, 100, 400]);
  expect(executionsOf(prov).length).toBeGreaterThanOrEqual(3);
});

test("a rename onto another notebook's history keeps the two apart and says so; renamed back and moved, the history follows", async ({
  page,
  tmpPath
}) => {
  const otherId = 'f'.repeat(32);
  await page.contents.uploadContent(
    JSON.stringify({ id: otherId, notebook: 'taken.ipynb' }),
    'text',
    `${tmpPath}/taken.prov/identity.json`
  );
  await openFixture(page, tmpPath, 'Untitled.ipynb');
  await expect.poll(() => notebookId(page, `${tmpPath}/Untitled.ipynb`), { timeout: 10000 }).toMatch(/^[0-9a-f]{32}$/);
  const id = (await notebookId(page, `${tmpPath}/Untitled.ipynb`))!;
  await page.notebook.runCell(0);
  await expect.poll(() => statusOf(page, 'before'), { timeout: 15000 }).toBe('finished');

  await renameInFileBrowser(page, tmpPath, 'Untitled.ipynb', 'taken.ipynb');
  const apart = `taken-${id.slice(0, 8)}.prov`;
  await expect
    .poll(async () => (await listFiles(page, tmpPath)).sort(), { timeout: 10000 })
    .toEqual([apart, 'taken.ipynb', 'taken.prov'].sort());
  await expect
    .poll(async () => (await page.notifications).map(n => n.message).join('\n'), { timeout: 10000 })
    .toContain(`moved with it to ${tmpPath}/${apart}: taken.prov already holds another notebook's history`);
  expect(await listFiles(page, `${tmpPath}/taken.prov`)).toEqual(['identity.json']); // untouched

  // Renamed back: the history follows again.
  await renameInFileBrowser(page, tmpPath, 'taken.ipynb', 'Untitled.ipynb');
  await expect
    .poll(async () => (await listFiles(page, tmpPath)).sort(), { timeout: 10000 })
    .toEqual(['Untitled.ipynb', 'Untitled.prov', 'taken.prov']);
  // Moved into another folder (what a drag and drop in the file browser does): the kernel, still in
  // the old folder, is told the new absolute path.
  await page.evaluate(async p => {
    await window.jupyterapp.serviceManager.contents.save(`${p}/sub`, { type: 'directory' });
    await window.jupyterapp.serviceManager.contents.rename(`${p}/Untitled.ipynb`, `${p}/sub/Untitled.ipynb`);
  }, tmpPath);
  await expect
    .poll(async () => (await listFiles(page, `${tmpPath}/sub`)).sort(), { timeout: 10000 })
    .toEqual(['Untitled.ipynb', 'Untitled.prov']);
  expect((await listFiles(page, tmpPath)).sort()).toEqual(['sub', 'taken.prov']);
  await page.notebook.runCell(2);
  await expect.poll(() => statusOf(page, 'after'), { timeout: 15000 }).toBe('finished');
  await reloadAndReopen(page, `${tmpPath}/sub/Untitled.ipynb`);
  await expect
    .poll(async () => (await describe(page)).map(run => run.name).sort(), { timeout: 15000 })
    .toEqual(['after', 'before']);
  expect((await listFiles(page, tmpPath)).sort()).toEqual(['sub', 'taken.prov']);
  const prov = await exportProvenance(page, `${tmpPath}/sub/Untitled.prov`);
  const runs = Object.values(prov.activity).filter(a => (a['prov:type'] as { $: string }).$ === 'provml:RunExecution');
  expect(runs.map(run => run['prov:label']).sort()).toEqual(['after', 'before']);
});
