import { expect, test } from '@jupyterlab/galata';
import { journalRecords, listFiles, nbprovSettings, openFixture } from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

const NOTEBOOK = 'restart.ipynb';

interface IDescribedRun {
  name: string;
  status: string;
}

test('a kernel that dies mid-run leaves the run crashed, and the restarted kernel is tracked again', async ({
  page,
  tmpPath
}) => {
  const folder = `${tmpPath}/restart.prov`;
  await openFixture(page, tmpPath, NOTEBOOK);
  await page.notebook.selectCells(0);
  await page.evaluate(() => {
    void window.jupyterapp.commands.execute('notebook:run-cell');
  });
  const describe = () => page.evaluate(() => window.jupyterapp.commands.execute('nbprov:runs')) as Promise<IDescribedRun[]>;
  await expect.poll(async () => (await describe())[0]?.status, { timeout: 15000 }).toBe('running');

  // The cell kills its kernel: JupyterLab restarts it and says so in a dialog.
  await expect.poll(async () => (await describe())[0]?.status, { timeout: 15000 }).toBe('crashed');
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');

  // The restarted kernel loads the extension again: a new journal, which also records the crash.
  await page.notebook.runCell(1);
  await expect
    .poll(async () => (await listFiles(page, `${folder}/journal`)).filter(name => name.startsWith('k-')).length, {
      timeout: 15000
    })
    .toBe(2);
  await expect
    .poll(
      async () => (await journalRecords(page, folder, 'k-')).filter(r => r.type === 'exec_start' && r.cell === 'c-after').length,
      { timeout: 15000 }
    )
    .toBe(1);
  const ends = (await journalRecords(page, folder, 'k-')).filter(r => r.type === 'run_end');
  expect(ends.map(r => r.status)).toEqual(['crashed']);
  expect((await describe())[0].status).toBe('crashed');
});
