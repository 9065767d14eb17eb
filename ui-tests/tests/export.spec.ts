import { expect, test } from '@jupyterlab/galata';
import { listFiles, nbprovSettings, openFixture } from './helpers';

test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

const NOTEBOOK = 'export-large.ipynb';
const POINTS = 3_000_000;

interface IReadBack {
  points: number;
  declared: number;
  exact: boolean;
  leftovers: string[];
}

test('in-page export of a 3 M-point series succeeds twice in a row, also after its folder is deleted outside', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(15 * 60 * 1000);
  await openFixture(page, tmpPath, NOTEBOOK);
  const folder = `${tmpPath}/export-large.prov`;
  await page.notebook.runCell(0);
  expect((await page.notebook.getCellTextOutput(0))?.join('')).toContain(`logged ${POINTS}`);

  const readBack = async (): Promise<IReadBack> => {
    await page.notebook.runCell(1);
    const text = (await page.notebook.getCellTextOutput(1))?.join('') ?? '';
    return JSON.parse(text.trim().split('\n').pop()!);
  };
  const exportWithProgress = async (): Promise<number> => {
    const started = Date.now();
    await page.evaluate(() => {
      (window as unknown as { nbprovExport: Promise<unknown> }).nbprovExport =
        window.jupyterapp.commands.execute('nbprov:export');
    });
    // The notification reports the step and the bytes written while the export runs.
    await expect(
      page
        .locator('.Toastify__toast')
        .filter({ hasText: /step \d+ of \d+, [\d.]+ MB written/ })
        .first()
    ).toBeVisible({
      timeout: 120000
    });
    const exported = await page.evaluate(() => (window as unknown as { nbprovExport: Promise<unknown> }).nbprovExport);
    expect(exported).toBe(`${folder}/prov.json`);
    return Date.now() - started;
  };

  // The points wait on the server's disk, not in the page: uploaded to a scratch file in the
  // staging folder, then read back by byte ranges as each Zarr chunk is filled.
  const scratchReads: string[] = [];
  page.on('request', request => {
    const range = request.headers()['range'];
    if (range !== undefined && /\/files\/.*\/export-partial-[0-9a-f]+\/export-scratch(\?|$)/.test(request.url())) {
      scratchReads.push(range);
    }
  });
  const first = await exportWithProgress();
  expect(await readBack()).toEqual({ points: POINTS, declared: POINTS, exact: true, leftovers: [] });
  // Four columns of each spilled segment (about a million points each).
  expect(scratchReads.length).toBeGreaterThanOrEqual(4 * 3);
  const second = await exportWithProgress();
  expect(await readBack()).toEqual({ points: POINTS, declared: POINTS, exact: true, leftovers: [] });

  await page.notebook.runCell(2);
  expect((await page.notebook.getCellTextOutput(2))?.join('')).toContain('deleted');
  const third = await exportWithProgress();
  expect(await readBack()).toEqual({ points: POINTS, declared: POINTS, exact: true, leftovers: [] });
  expect((await listFiles(page, folder)).filter(name => name.startsWith('export-'))).toEqual([]);
  console.log(`export of ${POINTS} points in the page: ${first} ms, ${second} ms, ${third} ms after a deletion`);
});
