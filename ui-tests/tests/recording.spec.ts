import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { journalRecords, listFiles, nbprovSettings, readText } from './helpers';

/** Longer than the page's journal flush (400 ms) and the kernel's (200 ms), with margin. */
const QUIET_MS = 2500;

function notebook(...sources: string[]): string {
  return JSON.stringify({
    cells: sources.map((source, i) => ({
      cell_type: 'code',
      id: `c-${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source
    })),
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

async function open(page: IJupyterLabPageFixture, tmpPath: string, name: string, ...sources: string[]): Promise<void> {
  await page.contents.uploadContent(notebook(...sources), 'text', `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  await page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').filter({ visible: true }).waitFor();
}

/** The toolbar toggle of the current notebook. */
const toggle = (page: IJupyterLabPageFixture) => page.locator('.jp-nbprov-RecordingToggle').filter({ visible: true });
const status = (page: IJupyterLabPageFixture) => page.locator('.jp-nbprov-RecordingStatus');

/** The states of the journaled recording switches, in time order (page segments are named by random page ids). */
async function recordingSwitches(page: IJupyterLabPageFixture, folder: string): Promise<unknown[]> {
  const switches = (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'recording');
  return switches.sort((a, b) => String(a.t).localeCompare(String(b.t))).map(r => r.state);
}

async function provFolders(page: IJupyterLabPageFixture, tmpPath: string): Promise<string[]> {
  return (await listFiles(page, tmpPath)).filter(name => name.endsWith('.prov'));
}

/** Whether the kernel of the current notebook has nbprov loaded and tracking. */
async function kernelTracks(page: IJupyterLabPageFixture): Promise<string> {
  await page.notebook.addCell(
    'code',
    'import sys; print("tracking" if getattr(sys.modules.get("nbprov"), "_tracking", None) else "idle")'
  );
  const cell = (await page.notebook.getCellCount()) - 1;
  await page.notebook.runCell(cell);
  return (await page.notebook.getCellTextOutput(cell))?.join('').trim() ?? '';
}

test.describe('record: tracked', () => {
  test.use({ mockSettings: nbprovSettings({ record: 'tracked' }) });

  test('an unrelated notebook leaves no .prov folder; one that runs %load_ext nbprov does', async ({ page, tmpPath }) => {
    await open(page, tmpPath, 'unrelated.ipynb', 'secret_token = "ghp_" + "x" * 36\nprint("hello", secret_token)');
    await page.notebook.runCell(0);
    await expect(toggle(page)).toHaveAttribute('aria-label', 'Provenance: Off');
    await expect(status(page)).toHaveText('nbprov: Off');
    expect(await kernelTracks(page)).toBe('idle');
    await page.waitForTimeout(QUIET_MS);
    expect(await provFolders(page, tmpPath)).toEqual([]);
    // The notebook itself is untouched: no id, no choice in its metadata.
    expect(JSON.parse(await readText(page, `${tmpPath}/unrelated.ipynb`)).metadata.nbprov).toBeUndefined();

    await open(page, tmpPath, 'opted.ipynb', '%load_ext nbprov', 'print("recorded")');
    await page.notebook.runCell(0);
    await page.notebook.runCell(1);
    await expect(toggle(page)).toHaveAttribute('aria-label', 'Provenance: Recorded');
    await expect(status(page)).toHaveText('nbprov: Recorded');
    await expect
      .poll(
        async () => (await journalRecords(page, `${tmpPath}/opted.prov`, 'f-')).filter(r => r.type === 'exec_output').length,
        { timeout: 15000 }
      )
      .toBe(2);
    const page_ = await journalRecords(page, `${tmpPath}/opted.prov`, 'f-');
    expect(page_.find(r => r.type === 'recording')).toMatchObject({
      state: 'recorded',
      reason: expect.stringContaining('loads nbprov')
    });
    await expect
      .poll(
        async () =>
          (await journalRecords(page, `${tmpPath}/opted.prov`, 'k-')).some(
            r => r.type === 'exec_start' && r.source === 'print("recorded")'
          ),
        { timeout: 15000 }
      )
      .toBe(true);
    expect(await provFolders(page, tmpPath)).toEqual(['opted.prov']);
  });

  test('the toggle and the status bar switch one notebook and show its state', async ({ page, tmpPath }) => {
    await open(page, tmpPath, 'other.ipynb', 'print("other")');
    await open(page, tmpPath, 'mine.ipynb', 'print("before")', 'print("while paused")');
    await expect(toggle(page)).toHaveAttribute('aria-label', 'Provenance: Off');
    await toggle(page).click();
    await expect(toggle(page)).toHaveAttribute('aria-label', 'Provenance: Recorded');
    await expect(status(page)).toHaveText('nbprov: Recorded');
    await page.notebook.runCell(0);
    const folder = `${tmpPath}/mine.prov`;
    const outputs = async () => (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'exec_output').length;
    await expect.poll(outputs, { timeout: 15000 }).toBe(1);
    await expect
      .poll(async () => (await journalRecords(page, folder, 'k-')).some(r => r.type === 'exec_start'), { timeout: 15000 })
      .toBe(true);

    // The status bar pauses the current notebook; the switch is journaled and the kernel stops.
    await status(page).click();
    await expect(status(page)).toHaveText('nbprov: Paused');
    await expect(toggle(page)).toHaveAttribute('aria-label', 'Provenance: Paused');
    await expect.poll(async () => recordingSwitches(page, folder), { timeout: 15000 }).toEqual(['recorded', 'paused']);
    await page.notebook.runCell(1);
    expect(await kernelTracks(page)).toBe('idle');
    const kernelRecords = (await journalRecords(page, folder, 'k-')).length;
    await page.waitForTimeout(QUIET_MS);
    expect(await outputs()).toBe(1);
    expect((await journalRecords(page, folder, 'k-')).length).toBe(kernelRecords);
    const metadata = await page.evaluate(() => {
      const widget = window.jupyterapp.shell.currentWidget as unknown as {
        content: { model: { getMetadata(k: string): unknown } };
      };
      return widget.content.model.getMetadata('nbprov');
    });
    expect(metadata).toMatchObject({ record: 'paused', id: expect.stringMatching(/^[0-9a-f]{32}$/) });

    // The other notebook was never switched.
    await page.notebook.activate('other.ipynb');
    await expect(status(page)).toHaveText('nbprov: Off');
    await expect(toggle(page)).toHaveAttribute('aria-label', 'Provenance: Off');
    expect(await provFolders(page, tmpPath)).toEqual(['mine.prov']);

    // Switched on again: a new page segment starts with the switch.
    await page.notebook.activate('mine.ipynb');
    await toggle(page).click();
    await expect(status(page)).toHaveText('nbprov: Recorded');
    await expect
      .poll(async () => recordingSwitches(page, folder), { timeout: 15000 })
      .toEqual(['recorded', 'paused', 'recorded']);
  });
});

test.describe('record: off', () => {
  test.use({ mockSettings: nbprovSettings({ record: 'off', exclude: ['**/scratch/**', '[bad'] }) });

  test('nothing is written; the setting applies live; exclude patterns keep a notebook off', async ({ page, tmpPath }) => {
    await open(page, tmpPath, 'quiet.ipynb', 'print("nothing")');
    // The invalid pattern is reported and the valid one kept.
    await expect(page.locator('.Toastify__toast').filter({ hasText: '"[bad" is not a valid glob' })).toBeVisible({
      timeout: 15000
    });
    await page.notebook.runCell(0);
    await toggle(page).click(); // refused: the settings keep it off
    await expect(page.locator('.Toastify__toast').filter({ hasText: 'recording is off in the settings' })).toBeVisible();
    await expect(toggle(page)).toHaveAttribute('aria-label', 'Provenance: Off');
    expect(await kernelTracks(page)).toBe('idle');
    await page.waitForTimeout(QUIET_MS);
    expect(await provFolders(page, tmpPath)).toEqual([]);

    await page.contents.createDirectory(`${tmpPath}/scratch`);
    await open(page, tmpPath, 'scratch/draft.ipynb', 'print("draft")');
    await page.notebook.activate('quiet.ipynb');

    // record: all, live: the open notebook is recorded now, without a reload; the excluded one is not.
    await page.evaluate(async () => {
      const registry = (await window.galata.getPlugin('@jupyterlab/apputils-extension:settings')) as {
        set(plugin: string, key: string, value: unknown): Promise<void>;
      };
      await registry.set('nbprov:plugin', 'record', 'all');
    });
    await expect(toggle(page)).toHaveAttribute('aria-label', 'Provenance: Recorded');
    await expect.poll(async () => await kernelTracks(page), { timeout: 15000 }).toBe('tracking');
    await expect
      .poll(async () => (await journalRecords(page, `${tmpPath}/quiet.prov`, 'f-')).find(r => r.type === 'recording'), {
        timeout: 15000
      })
      .toMatchObject({ state: 'recorded', reason: expect.stringContaining('settings changed') });
    await page.notebook.activate('draft.ipynb');
    await expect(status(page)).toHaveText('nbprov: Off');
    await page.notebook.runCell(0);
    await page.waitForTimeout(QUIET_MS);
    expect(await listFiles(page, `${tmpPath}/scratch`)).toEqual(['draft.ipynb']);
  });
});

test.describe('forget', () => {
  test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

  test('nbprov:forget-history removes the history after confirmation, and recording goes on', async ({ page, tmpPath }) => {
    await open(page, tmpPath, 'leaky.ipynb', 'print("tok-" + "12345")', 'print("after forget")');
    await page.notebook.runCell(0);
    const folder = `${tmpPath}/leaky.prov`;
    const everything = async () => {
      const names = (await listFiles(page, `${folder}/journal`)).sort();
      return Promise.all(names.map(async name => readText(page, `${folder}/journal/${name}`))).then(texts => texts.join(''));
    };
    await expect.poll(everything, { timeout: 15000 }).toContain('tok-12345');
    await expect
      .poll(
        async () =>
          (await journalRecords(page, folder, 'k-')).some(
            r => r.type === 'kernel_output' && JSON.stringify(r).includes('tok-12345')
          ),
        { timeout: 15000 }
      )
      .toBe(true);

    // Cancel first: nothing goes.
    let result = page.evaluate(() => window.jupyterapp.commands.execute('nbprov:forget-history'));
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('Forget the recorded history of leaky.ipynb?');
    await expect(dialog).toContainText(/Forget everything: history: \d+ journal files?/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await result).toBe('cancelled');
    expect(await everything()).toContain('tok-12345');

    result = page.evaluate(() => window.jupyterapp.commands.execute('nbprov:forget-history'));
    await dialog.getByRole('button', { name: 'Forget everything' }).click();
    expect(await result).toMatch(/^nbprov: removed from .*leaky\.prov: history: \d+ journal files?, \d+ records/);
    expect(await everything()).not.toContain('tok-12345');

    // The page and the kernel keep recording, into new files, without the forgotten lines.
    await page.notebook.runCell(1);
    await expect.poll(everything, { timeout: 15000 }).toContain('after forget');
    await expect
      .poll(
        async () =>
          (await journalRecords(page, folder, 'k-')).some(r => r.type === 'exec_start' && r.source === 'print("after forget")'),
        { timeout: 15000 }
      )
      .toBe(true);
    expect(await everything()).not.toContain('tok-12345');
  });
});

test.describe('forget without a recording kernel', () => {
  test.use({ mockSettings: nbprovSettings({ record: 'all', autoload: false }) });

  test('nbprov:forget-history outputs only, through the Contents API: sources stay, outputs go', async ({ page, tmpPath }) => {
    await open(page, tmpPath, 'pageonly.ipynb', 'print("tok-" + "67890")');
    await page.notebook.runCell(0);
    const folder = `${tmpPath}/pageonly.prov`;
    const outputs = async () => (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'exec_output');
    await expect.poll(async () => JSON.stringify(await outputs()), { timeout: 15000 }).toContain('tok-67890');
    expect(await listFiles(page, `${folder}/journal`)).not.toContainEqual(expect.stringMatching(/^k-/));

    const result = page.evaluate(() => window.jupyterapp.commands.execute('nbprov:forget-history'));
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Forget outputs only' }).click();
    expect(await result).toMatch(/removed from .*pageonly\.prov: outputs: 1 output/);
    const records = await journalRecords(page, folder, 'f-');
    expect(JSON.stringify(records)).not.toContain('tok-67890');
    expect(records.filter(r => r.type === 'exec_output').map(r => r.outputs)).toEqual([[]]);
    expect(records.some(r => r.type === 'source' && String(r.source).includes('"tok-" + "67890"'))).toBe(true);

    // The page's next write starts a new segment instead of writing the old lines back.
    await page.notebook.runCell(0);
    await expect.poll(async () => (await outputs()).length, { timeout: 15000 }).toBe(2);
    const texts = await Promise.all(
      (await listFiles(page, `${folder}/journal`)).map(name => readText(page, `${folder}/journal/${name}`))
    );
    expect(texts.join('').match(/tok-67890/g)).toHaveLength(1); // the new output only
  });
});
