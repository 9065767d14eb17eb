import { expect, test } from '@jupyterlab/galata';
import { nbprovSettings, openFixture, reloadAndReopen } from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

const NOTEBOOK = 'training.ipynb';
const POINTS = 50000;

interface IDescribedRun {
  name: string;
  status: string;
  series: { metric: string; steps: number[]; values: number[] }[];
}

test('a page reloaded while a cell logs 50,000 points ends with exactly the logged values', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, NOTEBOOK);
  await page.notebook.selectCells(0);
  // Start the cell without waiting for it to finish.
  await page.evaluate(() => {
    void window.jupyterapp.commands.execute('notebook:run-cell');
  });
  // Reload while the training cell is still running.
  const describe = () => page.evaluate(() => window.jupyterapp.commands.execute('nbprov:runs')) as Promise<IDescribedRun[]>;
  await expect.poll(async () => (await describe()).length, { timeout: 15000 }).toBe(1);
  await reloadAndReopen(page, `${tmpPath}/${NOTEBOOK}`);

  // Within 2 s the history is back from the journal, and live points keep arriving mid-run.
  const points = async () => (await describe())[0]?.series.find(s => s.metric === 'loss')?.steps.length ?? 0;
  await expect.poll(points, { timeout: 2000, intervals: [100] }).toBeGreaterThan(0);
  const recovered = await points();
  await expect.poll(points, { timeout: 2000, intervals: [100] }).toBeGreaterThan(recovered);
  expect((await describe())[0].status).toBe('running');

  await expect.poll(async () => (await describe())[0]?.status, { timeout: 60000 }).toBe('finished');
  const [run] = await describe();
  expect(run.name).toBe('live');
  const loss = run.series.find(s => s.metric === 'loss')!;
  expect(loss.steps.length).toBe(POINTS);
  expect(loss.steps).toEqual(Array.from({ length: POINTS }, (_, i) => i));
  expect(loss.values).toEqual(Array.from({ length: POINTS }, (_, i) => 1.0 / (i + 1)));
});
