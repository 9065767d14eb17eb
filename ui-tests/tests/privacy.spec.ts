import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';
import { exportProvenance, journalRecords, listFiles, nbprovSettings, readText } from './helpers';

// Redaction of what is recorded: every notebook is recorded here, from its first cell.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

// Built at run time so that no token-shaped string sits in the repository.
const TOKEN = ['ghp', '_', 'Zq9x'.repeat(9)].join('');
const NOTEBOOK = 'privacy.ipynb';

function notebookWithToken(): string {
  const cell = (id: string, source: string) => ({
    cell_type: 'code',
    id,
    metadata: {},
    source,
    outputs: [],
    execution_count: null
  });
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      cell('c-source', `TOKEN = '${TOKEN}'`),
      cell('c-print', "print('hello', TOKEN)"),
      cell(
        'c-run',
        "import nbprov\nwith nbprov.run(name='tok ' + TOKEN, params={'key': TOKEN}, tags={'t': TOKEN}) as run:\n" +
          "    run.log_metric('loss', 0.5)\nrun"
      )
    ]
  });
}

test('a token in a cell source, its output, a run name, a param and a tag appears neither in the journal, the export, nor the widget', async ({
  page,
  tmpPath
}) => {
  const folder = `${tmpPath}/privacy.prov`;
  await page.contents.uploadContent(notebookWithToken(), 'text', `${tmpPath}/${NOTEBOOK}`);
  await page.notebook.openByPath(`${tmpPath}/${NOTEBOOK}`);
  await page.notebook.activate(NOTEBOOK);
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
  await page.notebook.runCellByCell();
  await expect(page.locator('.jp-OutputArea-output').getByText(`hello ${TOKEN}`)).toBeVisible(); // the notebook itself shows it
  const widget = page.locator('.jp-OutputArea .nbprov-widget');
  await expect(widget.locator('.nbprov-row')).toHaveCount(1);
  await expect(widget.locator('.nbprov-row')).toContainText('tok [redacted:github_token]');

  // Every journal file: the page's and the kernel's.
  await expect
    .poll(async () => (await journalRecords(page, folder, 'f-')).some(r => r.type === 'exec_output' && r.cell === 'c-run'), {
      timeout: 20000
    })
    .toBe(true);
  const journalNames = await listFiles(page, `${folder}/journal`);
  expect(journalNames.some(n => n.startsWith('k-')) && journalNames.some(n => n.startsWith('f-'))).toBe(true);
  const journal = (await Promise.all(journalNames.map(n => readText(page, `${folder}/journal/${n}`)))).join('\n');
  expect(journal).not.toContain(TOKEN);
  expect(journal).not.toContain(TOKEN.slice(4, 20));
  const records = [...(await journalRecords(page, folder, 'f-')), ...(await journalRecords(page, folder, 'k-'))];
  const source = records.find(r => r.type === 'source' && r.cell === 'c-source')!;
  expect(source).toMatchObject({ source: "TOKEN = '[redacted:github_token]'", redacted: 1 });
  const printed = records.find(r => r.type === 'exec_output' && r.cell === 'c-print')!;
  expect(JSON.stringify(printed.outputs)).toContain('hello [redacted:github_token]');
  expect(records.find(r => r.type === 'param')).toMatchObject({ key: 'key', value: '[redacted:github_token]' });
  expect(records.find(r => r.type === 'kernel_output' && JSON.stringify(r).includes('hello'))).toBeTruthy();

  // The export, and the folder's .gitignore (a folder the page or the kernel created).
  const prov = await exportProvenance(page, folder);
  const exported = JSON.stringify(prov) + (await readText(page, `${folder}/ro-crate-metadata.json`));
  expect(exported).not.toContain(TOKEN);
  expect(exported).toContain('[redacted:github_token]');
  // A hidden file: the Contents API does not serve it, so read it from the server's disk.
  const config = await page.evaluate(() => document.getElementById('jupyter-config-data')!.textContent!);
  const root = (JSON.parse(config) as { serverRoot: string }).serverRoot.replace(/^~/, process.env.HOME ?? '~');
  expect(fs.readFileSync(path.join(root, folder, '.gitignore'), 'utf-8')).toMatch(/^journal\/\nblobs\/\n$/m);

  // The widget in the output and the side panel.
  await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:open-runs'));
  const panel = page.locator('#nbprov-runs-panel');
  await expect(panel.locator('.nbprov-row')).toHaveCount(1);
  await panel.locator('.nbprov-row').first().click();
  for (const view of [widget, panel]) {
    const html = await view.evaluate(element => element.innerHTML + element.textContent);
    expect(html).not.toContain(TOKEN);
  }
});

test.describe('a pattern of the redact setting', () => {
  test.use({
    mockSettings: nbprovSettings({ record: 'all', redact: [{ kind: 'project', pattern: 'PRJ-[0-9]{6}' }] })
  });

  test('redacts what the kernel records as well as what the page records', async ({ page, tmpPath }) => {
    const folder = `${tmpPath}/codes.prov`;
    const code = ['PRJ', '-', '424242'].join('');
    const notebook = JSON.parse(notebookWithToken());
    notebook.cells = [
      {
        cell_type: 'code',
        id: 'c-code',
        metadata: {},
        outputs: [],
        execution_count: null,
        source: `import nbprov\nprint('project', '${code.slice(0, 4)}' + '${code.slice(4)}')\nwith nbprov.run(name='for ' + '${code.slice(0, 4)}' + '${code.slice(4)}') as run:\n    run.log_metric('loss', 1.0)`
      }
    ];
    await page.contents.uploadContent(JSON.stringify(notebook), 'text', `${tmpPath}/codes.ipynb`);
    await page.notebook.openByPath(`${tmpPath}/codes.ipynb`);
    await page.notebook.activate('codes.ipynb');
    await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
    await page.notebook.runCell(0);
    await expect(page.locator('.jp-OutputArea-output').getByText(`project ${code}`)).toBeVisible();
    // The kernel's own records: its capture of the print, and the run it started.
    await expect
      .poll(async () => (await journalRecords(page, folder, 'k-')).some(r => r.type === 'kernel_output' && r.final), {
        timeout: 20000
      })
      .toBe(true);
    const kernelRecords = await journalRecords(page, folder, 'k-');
    expect(JSON.stringify(kernelRecords)).not.toContain(code);
    const printed = kernelRecords.find(r => r.type === 'kernel_output' && JSON.stringify(r).includes('project'));
    expect(JSON.stringify(printed)).toContain('project [redacted:project]');
    expect(kernelRecords.find(r => r.type === 'run_start')).toMatchObject({ name: 'for [redacted:project]' });
    expect(JSON.stringify(await journalRecords(page, folder, 'f-'))).not.toContain(code);
  });
});
