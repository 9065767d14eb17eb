import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';
import { exportProvenance, journalRecords, nbprovSettings, readText } from './helpers';

/**
 * Every setting of schema/plugin.json applies without a reload, changed through the settings
 * registry as the Settings editor changes it. (`record` and `exclude` are in recording.spec.ts;
 * `gitignore` is read whenever the page creates a `.prov` folder, but a default server refuses the
 * page's hidden files, so there the kernel writes the `.gitignore`: see privacy.spec.ts.)
 */
test.use({ mockSettings: nbprovSettings({ record: 'all', autoload: false, energy: true }) });

async function setSetting(page: IJupyterLabPageFixture, key: string, value: unknown): Promise<void> {
  await page.evaluate(
    async ({ key, value }) => {
      const registry = (await window.galata.getPlugin('@jupyterlab/apputils-extension:settings')) as {
        set(plugin: string, key: string, value: unknown): Promise<void>;
      };
      await registry.set('nbprov:plugin', key, value);
    },
    { key, value }
  );
}

/** Writes a one-cell notebook and opens it. */
async function openNotebook(page: IJupyterLabPageFixture, notebook: string, source: string): Promise<void> {
  const content = {
    cells: [{ cell_type: 'code', execution_count: null, id: 'only', metadata: {}, outputs: [], source }],
    metadata: { kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' } },
    nbformat: 4,
    nbformat_minor: 5
  };
  await page.contents.uploadContent(JSON.stringify(content), 'text', notebook);
  await page.notebook.openByPath(notebook);
  await page.notebook.activate(path.basename(notebook));
  // The shown notebook's indicator: a notebook in a background tab has one too, hidden.
  await page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]:visible').first().waitFor();
}

/** Runs code in a new last cell and returns what it printed. */
async function kernelPrints(page: IJupyterLabPageFixture, code: string): Promise<string> {
  await page.notebook.addCell('code', code);
  const cell = (await page.notebook.getCellCount()) - 1;
  await page.notebook.runCell(cell);
  return (await page.notebook.getCellTextOutput(cell))?.join('').trim() ?? '';
}

const KERNEL_STATE =
  'import sys; m = sys.modules.get("nbprov"); ' +
  'print(("tracking" if m._tracking else "idle") + " energy=" + str(m._settings["energy"]) if m else "not loaded")';

test('autoload, energy, redact and license apply at once, without a reload', async ({ page, tmpPath }) => {
  await openNotebook(page, `${tmpPath}/first.ipynb`, 'print("TICKET-1234 before")');
  await page.notebook.runCell(0);
  const folder = `${tmpPath}/first.prov`;
  // autoload (off): the kernel does not record.
  expect(await kernelPrints(page, KERNEL_STATE)).toBe('not loaded');

  // autoload on: the open notebook's kernel loads nbprov now, with the energy setting.
  await setSetting(page, 'autoload', true);
  await expect.poll(() => kernelPrints(page, KERNEL_STATE), { timeout: 15000 }).toBe('tracking energy=True');

  // energy off: the kernel measures no energy for the runs it starts from now on.
  await setSetting(page, 'energy', false);
  await expect.poll(() => kernelPrints(page, KERNEL_STATE), { timeout: 15000 }).toBe('tracking energy=False');
  await kernelPrints(page, 'import nbprov\nwith nbprov.run(name="cool"):\n    pass');
  await expect
    .poll(async () => (await journalRecords(page, folder, 'k-')).find(r => r.type === 'run_start' && r.name === 'cool'), {
      timeout: 15000
    })
    .toMatchObject({ energy: false });

  // redact: a pattern added now redacts the next source the page records, and what the kernel
  // records itself (the page tells the kernel).
  await setSetting(page, 'redact', [{ kind: 'ticket', pattern: 'TICKET-[0-9]+' }]);
  await kernelPrints(page, 'print("TICKET-5678 after")');
  await expect
    .poll(async () => (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'source').map(r => r.source), {
      timeout: 15000
    })
    .toContain('print("[redacted:ticket] after")');
  const pageRecords = JSON.stringify(await journalRecords(page, folder, 'f-'));
  expect(pageRecords).not.toContain('TICKET-5678');
  expect(pageRecords).toContain('TICKET-1234'); // recorded before the pattern existed
  await expect
    .poll(async () => JSON.stringify(await journalRecords(page, folder, 'k-')), { timeout: 15000 })
    .toContain('[redacted:ticket] after');
  expect(JSON.stringify(await journalRecords(page, folder, 'k-'))).not.toContain('TICKET-5678');

  // license: the next export declares it.
  const crateLicense = async (): Promise<unknown> => {
    await exportProvenance(page, folder);
    const crate = JSON.parse(await readText(page, `${folder}/ro-crate-metadata.json`)) as { '@graph': Record<string, unknown>[] };
    return crate['@graph'].find(entity => entity['@id'] === './')?.license;
  };
  expect(await crateLicense()).toEqual({ '@id': 'https://creativecommons.org/licenses/by/4.0/' });
  await setSetting(page, 'license', 'MIT');
  expect(await crateLicense()).toEqual({ '@id': 'https://spdx.org/licenses/MIT' });

  // autoload off again: a notebook opened now gets a kernel without nbprov.
  await setSetting(page, 'autoload', false);
  await openNotebook(page, `${tmpPath}/second.ipynb`, 'print("second")');
  await page.notebook.runCell(0);
  expect(await kernelPrints(page, KERNEL_STATE)).toBe('not loaded');
});
