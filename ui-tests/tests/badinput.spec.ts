import { expect, test } from '@jupyterlab/galata';
import { createHash } from 'crypto';
import { journalRecords, nbprovSettings, readText } from './helpers';

// Written before recording became opt-in: these tests record every notebook.
test.use({ mockSettings: nbprovSettings({ record: 'all' }) });

const T = '2026-11-25T10:00:00.000+00:00';

/** A notebook of `n` cells whose first ones produce large, odd and binary outputs. */
function bigNotebook(n: number): string {
  const code = (id: string, source: string) => ({
    cell_type: 'code',
    id,
    metadata: {},
    execution_count: null,
    outputs: [],
    source
  });
  const cells = [
    // A result, not a print: the server's default iopub_data_rate_limit counts stream output only.
    code('c-large', "'x' * 10_000_000"),
    // 2 MB of stream output stays under the default limit (1 MB/s over 3 s).
    code('c-print', "print('y' * 2_000_000)"),
    code('c-odd', "import sys\nsys.stdout.write(bytes(range(256)).decode('latin-1'))"),
    ...Array.from({ length: n - 3 }, (_, i) => code(`c-${i}`, `# cell ${i}`))
  ];
  return JSON.stringify({
    cells,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

test('5,000 cells, a 10 MB result and a 2 MB print are recorded, truncated and hashed, without loss', async ({
  page,
  tmpPath
}) => {
  const folder = `${tmpPath}/big.prov`;
  await page.contents.uploadContent(bigNotebook(5000), 'text', `${tmpPath}/big.ipynb`);
  await page.notebook.openByPath(`${tmpPath}/big.ipynb`);
  await page.notebook.activate('big.ipynb');
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
  await page.notebook.runCell(0);
  await page.notebook.runCell(1);
  await page.notebook.runCell(2);

  await expect
    .poll(async () => (await journalRecords(page, folder, 'f-')).filter(r => r.type === 'exec_output').length, {
      timeout: 30000
    })
    .toBe(3);
  const records = await journalRecords(page, folder, 'f-');
  expect(records.filter(r => r.type === 'source')).toHaveLength(5000);
  const [large, printed, odd] = records.filter(r => r.type === 'exec_output') as { outputs: Record<string, unknown>[] }[];
  expect(large.outputs[0]).toMatchObject({
    output_type: 'execute_result',
    mime: 'text/plain',
    truncated: true,
    size: 10_000_002
  });
  expect(printed.outputs[0]).toMatchObject({ output_type: 'stream', truncated: true, size: 2_000_001 });
  // The whole text is hashed, not the part kept.
  for (const [item, text] of [
    [large.outputs[0], `'${'x'.repeat(10_000_000)}'`],
    [printed.outputs[0], `${'y'.repeat(2_000_000)}\n`]
  ] as const) {
    expect((item.text as string).length).toBe(64 * 1024);
    expect(item.sha256).toBe(createHash('sha256').update(text).digest('hex'));
  }
  expect(odd.outputs[0]).toMatchObject({ output_type: 'stream', truncated: false });
  // Bytes that are not UTF-8 reach the page decoded (JupyterLab applies \r and \b to streams).
  expect(odd.outputs[0].text).toContain('\u00e9\u00ea\u00eb');
  // The kernel recorded both executions too.
  const kernel = await journalRecords(page, folder, 'k-');
  expect(kernel.filter(r => r.type === 'exec_end').map(r => r.status)).toEqual(['ok', 'ok', 'ok']);
});

test('a damaged journal line is reported and every other record is recovered', async ({ page, tmpPath }) => {
  const lines = [
    {
      type: 'kernel_start',
      t: T,
      seq: 1,
      session: 'deadbeef',
      kernel_id: null,
      pid: 1,
      hostname: 'h',
      python: '3',
      nbprov_version: '0.1.0',
      notebook: 'old.ipynb',
      user: 'u'
    },
    {
      type: 'run_start',
      t: T,
      seq: 2,
      run: 'a'.repeat(32),
      name: 'survivor',
      experiment: 'default',
      exec: null,
      code: null,
      energy: false
    },
    '{"type": "param", "t": "2026-11-25T10:00:00.000+00:00", "seq": 3, "run": "aaaa',
    { type: 'param', t: T, seq: 4, run: 'a'.repeat(32), key: 'lr', value: 0.1, role: 'input' },
    { type: 'run_end', t: T, seq: 5, run: 'a'.repeat(32), status: 'finished' }
  ].map(line => (typeof line === 'string' ? line : JSON.stringify(line)));
  await page.contents.uploadContent(lines.join('\n') + '\n', 'text', `${tmpPath}/old.prov/journal/k-deadbeef.jsonl`);
  await page.contents.uploadContent(
    JSON.stringify({
      cells: [{ cell_type: 'code', id: 'c-1', metadata: {}, execution_count: null, outputs: [], source: '1 + 1' }],
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      nbformat: 4,
      nbformat_minor: 5
    }),
    'text',
    `${tmpPath}/old.ipynb`
  );
  await page.notebook.openByPath(`${tmpPath}/old.ipynb`);
  await page.notebook.activate('old.ipynb');

  await expect(page.locator('.Toastify__toast').filter({ hasText: 'damaged journal line' })).toBeVisible({ timeout: 15000 });
  const runs = (await page.evaluate(() => window.jupyterapp.commands.execute('nbprov:runs'))) as {
    name: string;
    status: string;
    params: Record<string, unknown>;
  }[];
  expect(runs).toEqual([expect.objectContaining({ name: 'survivor', status: 'finished', params: { lr: 0.1 } })]);
  // Nothing was rewritten: the damaged file is left as it was.
  expect(await readText(page, `${tmpPath}/old.prov/journal/k-deadbeef.jsonl`)).toBe(lines.join('\n') + '\n');
});
