import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  executionsOf,
  exportProvenance,
  journalRecords,
  listFiles,
  nbprovSettings,
  openFixture,
  ProvNodes,
  reloadAndReopen
} from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

const NOTEBOOK = 'outputs.ipynb';
const PRINTED = Array.from({ length: 300 }, (_, i) => `line ${i}\n`).join('') + 'done\n';

/** Output entities of one execution, in item order. */
function outputsOf(prov: Record<string, ProvNodes>, execution: string): Record<string, unknown>[] {
  const generated = Object.values(prov.wasGeneratedBy ?? {})
    .filter(r => r['prov:activity'] === execution && String(r['prov:entity']).startsWith('nbprov:output.'))
    .map(r => String(r['prov:entity']));
  return generated.sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop())).map(id => prov.entity[id]);
}

function executionOfCell(prov: Record<string, ProvNodes>, cell: string): string {
  const found = executionsOf(prov).filter(([, a]) => a['nbprov:cell'] === cell);
  expect(found).toHaveLength(1);
  return found[0][0];
}

test('A reload while a printing cell runs: its output is in the export.', async ({ page, tmpPath }) => {
  const folder = `${tmpPath}/outputs.prov`;
  await openFixture(page, tmpPath, NOTEBOOK);
  await page.notebook.selectCells(0);
  await page.evaluate(() => {
    void window.jupyterapp.commands.execute('notebook:run-cell');
  });
  await page.locator('.jp-OutputArea-output').first().getByText('line 10').waitFor();
  await reloadAndReopen(page, `${tmpPath}/${NOTEBOOK}`);
  // The cell keeps running in the kernel and ends about 6 s after it started.
  await expect
    .poll(async () => (await journalRecords(page, folder, 'k-')).some(r => r.type === 'exec_end'), { timeout: 30000 })
    .toBe(true);

  // Neither page recorded this execution's outputs: the first was gone before it ended.
  const pageOutputs = (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'exec_output' && r.cell === 'c-print');
  expect(pageOutputs).toEqual([]);
  const prov = await exportProvenance(page, folder);
  const execution = executionOfCell(prov, 'c-print');
  expect(prov.activity[execution]).toMatchObject({ 'nbprov:outputs_recorded_by': 'kernel', 'nbprov:outputs_complete': true });
  const outputs = outputsOf(prov, execution);
  // The reloaded page's widget manager talks to comms over a subshell while the cell runs, and the
  // kernel logs "No such comm" to the cell's stderr: the kernel recorded what the cell showed. Every
  // printed line must be kept, in order, and nothing else may appear.
  const [stdout, others] = [
    outputs.filter(o => o['nbprov:name'] === 'stdout'),
    outputs.filter(o => o['nbprov:name'] !== 'stdout')
  ];
  expect(stdout.every(o => o['nbprov:output_type'] === 'stream')).toBe(true);
  expect(stdout.map(o => o['nbprov:text']).join('')).toEqual(PRINTED);
  expect(stdout.reduce((size, o) => size + Number(o['nbprov:size']), 0)).toBe(PRINTED.length);
  for (const other of others) {
    expect([other['nbprov:output_type'], other['nbprov:name']]).toEqual(['stream', 'stderr']);
    expect(String(other['nbprov:text'])).toMatch(/^(No such comm[^\n]*\n)+$/);
  }
});

test('A read-only blobs/ folder: the text outputs are kept.', async ({ page, tmpPath }) => {
  const folder = `${tmpPath}/outputs.prov`;
  await openFixture(page, tmpPath, NOTEBOOK);
  const serverRoot = await page.evaluate(() => document.getElementById('jupyter-config-data')!.textContent!);
  const root = (JSON.parse(serverRoot) as { serverRoot: string }).serverRoot.replace(/^~/, process.env.HOME ?? '~');
  const blobs = path.join(root, folder, 'blobs');
  fs.mkdirSync(blobs, { recursive: true });
  execFileSync('mount', ['--bind', blobs, blobs]);
  let mounted = true;
  const unmount = () => {
    if (mounted) {
      execFileSync('umount', [blobs]);
      mounted = false;
    }
  };
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', blobs]);
    await page.notebook.runCell(1);
    await expect
      .poll(
        async () =>
          (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'exec_output' && r.cell === 'c-image').length,
        { timeout: 15000 }
      )
      .toBe(1);
    expect(await listFiles(page, `${folder}/blobs`)).toEqual([]);

    const prov = await exportProvenance(page, folder);
    const execution = executionOfCell(prov, 'c-image');
    expect(prov.activity[execution]['nbprov:outputs_recorded_by']).toBe('page');
    const outputs = outputsOf(prov, execution);
    const texts = outputs.filter(o => o['nbprov:output_type'] === 'stream').map(o => o['nbprov:text']);
    expect(texts.join('')).toContain('text before the image\n');
    expect(texts.join('')).toContain('text after the image\n');
    const image = outputs.find(o => o['nbprov:mime'] === 'image/png')!;
    expect(image).toMatchObject({ 'nbprov:blob_missing': true });
    expect(image['nbprov:blob']).toBeUndefined();
    // No entity anywhere names a blob that is not there.
    expect(Object.values(prov.entity).filter(e => e['nbprov:blob'] !== undefined)).toEqual([]);

    // Once the folder is writable again the blob is written, and the export refers to it.
    unmount();
    const sha = String(image['nbprov:sha256']);
    await expect.poll(async () => listFiles(page, `${folder}/blobs`), { timeout: 15000 }).toContain(sha);
    const again = await exportProvenance(page, folder);
    const imageAgain = outputsOf(again, executionOfCell(again, 'c-image')).find(o => o['nbprov:mime'] === 'image/png')!;
    expect(imageAgain['nbprov:blob']).toBe(`blobs/${sha}`);
    expect(imageAgain['nbprov:blob_missing']).toBeUndefined();
  } finally {
    unmount();
  }
});
