import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { RUN, sampleJournal, series, T } from '../../core/__tests__/fixtures';
import { main } from '../main';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk, ...rest: unknown[]) => {
    stdout += String(chunk);
    (rest.find(arg => typeof arg === 'function') as (() => void) | undefined)?.();
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(chunk => ((stderr += String(chunk)), true));
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let root: string;
const OTHER = 'fedcba9876543210fedcba9876543210';

/** `<dir>/<stem>.prov/journal/` with the sample journal, the run renamed and given `lr`. */
async function provFolder(dir: string, stem: string, runId: string, lr: number): Promise<string> {
  const folder = path.join(root, dir, `${stem}.prov`);
  await fs.mkdir(path.join(folder, 'journal'), { recursive: true });
  const extra = [
    { type: 'param', t: T(4), run: RUN, key: 'lr', value: lr, value_type: 'float', role: 'input' },
    { type: 'run_end', t: T(9), run: RUN, status: 'finished' }
  ];
  for (const file of sampleJournal(extra)) {
    await fs.writeFile(path.join(folder, 'journal', file.name), file.text.split(RUN).join(runId));
  }
  return folder;
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'nbprov-runs-'));
  process.env.NBPROV_CACHE_DIR = path.join(root, '.cache');
});

afterEach(async () => {
  delete process.env.NBPROV_CACHE_DIR;
  await fs.rm(root, { recursive: true, force: true });
});

const json = (stdout: string) =>
  JSON.parse(stdout) as { columns: string[]; rows: Record<string, unknown>[]; warnings: unknown[] };

describe('nbprov runs', () => {
  it('reads every .prov folder below a folder and skips, naming them, the corrupt and missing ones', async () => {
    await provFolder('', 'train', RUN, 0.1);
    await provFolder('sub/deeper', 'train_v2', OTHER, 0.01);
    await fs.mkdir(path.join(root, 'empty.prov', 'journal'), { recursive: true });
    await fs.mkdir(path.join(root, 'sub', 'garbage.prov', 'journal'), { recursive: true });
    await fs.writeFile(path.join(root, 'sub', 'garbage.prov', 'journal', 'k-x.jsonl'), '{not json\n\u0000\u0001\n');
    await fs.symlink(path.join(root, 'nowhere'), path.join(root, 'sub', 'dangling.prov'));
    await fs.mkdir(path.join(root, '.hidden', 'x.prov', 'journal'), { recursive: true }); // never scanned

    const flat = await cli('runs', root, '--format', 'json');
    expect(flat.code).toBe(0);
    expect(json(flat.stdout).rows.map(row => row.id)).toEqual([RUN]);

    const result = await cli('runs', root, '--recursive', '--format', 'json');
    expect(result.code).toBe(0);
    const table = json(result.stdout);
    expect(table.rows.map(row => [row.id, row.notebook, row.folder, row['params.lr']])).toEqual([
      [OTHER, 'sub/deeper/n.ipynb', 'sub/deeper/train_v2.prov', 0.01],
      [RUN, 'n.ipynb', 'train.prov', 0.1]
    ]);
    expect(table.warnings).toEqual([
      { folder: 'empty.prov', reason: 'skipped: journal/ holds no .jsonl files' },
      { folder: 'sub/dangling.prov', reason: 'skipped: missing (a broken link or not a folder)' },
      { folder: 'sub/garbage.prov', reason: 'skipped: its journal holds no readable record (2 lines skipped)' }
    ]);
    expect(result.stderr).toContain('nbprov runs: warning: sub/garbage.prov: skipped');

    const filtered = await cli('runs', root, '-r', '--format', 'csv', '--filter', 'params.lr < 0.05');
    expect(filtered.stdout.split('\r\n')[1]).toMatch(new RegExp(`^${OTHER},`));
    const bad = await cli('runs', root, '-r', '--filter', 'params.lrr < 0.05');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown field "params.lrr"[^]*available columns: .*params.lr/);
  });

  it('names a single unreadable folder as an error, and a missing path', async () => {
    await fs.mkdir(path.join(root, 'x.prov'));
    expect(await cli('runs', path.join(root, 'x.prov'))).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no journal/ folder')
    });
    expect(await cli('runs', path.join(root, 'absent'))).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no such file')
    });
    expect(await cli('runs', root, '--format', 'xml')).toMatchObject({ code: 1, stderr: expect.stringContaining('--format') });
  });

  it('serves unchanged folders from the cache and reads a folder again when a journal file changes', async () => {
    const folder = await provFolder('', 'train', RUN, 0.1);
    await cli('runs', root, '--format', 'json');
    const [cacheFile] = await fs.readdir(path.join(root, '.cache', 'runs'));
    const cachePath = path.join(root, '.cache', 'runs', cacheFile);
    // Proof that a hit reads the cache: a value only the cache holds comes back.
    const entry = JSON.parse(await fs.readFile(cachePath, 'utf8'));
    entry.rows[0].cells.name = 'from the cache';
    await fs.writeFile(cachePath, JSON.stringify(entry));
    expect(json((await cli('runs', root, '--format', 'json')).stdout).rows[0].name).toBe('from the cache');
    expect(json((await cli('runs', root, '--format', 'json', '--no-cache')).stdout).rows[0].name).toBe('train');
    // A new record changes the file's size: the journal is read again.
    await fs.appendFile(
      path.join(folder, 'journal', 'k-s1.jsonl'),
      JSON.stringify({ type: 'metrics', t: T(9), run: RUN, batch: 9, series: [series('acc', null, [0.75])] }) + '\n'
    );
    const fresh = json((await cli('runs', root, '--format', 'json')).stdout).rows[0];
    expect([fresh.name, fresh['metrics.acc']]).toEqual(['train', 0.75]);
  });

  it('applies live sessions to cached rows: an open run of a live kernel is running', async () => {
    const folder = path.join(root, 'open.prov', 'journal');
    await fs.mkdir(folder, { recursive: true });
    for (const file of sampleJournal()) {
      await fs.writeFile(path.join(folder, file.name), file.text);
    }
    const status = async (...extra: string[]) =>
      json((await cli('runs', root, '--format', 'json', ...extra)).stdout).rows.map(row => row.status);
    expect(await status()).toEqual(['crashed']);
    expect(await status('--live-session', 's1')).toEqual(['running']); // from the cache built without it
    expect(await fs.readdir(path.join(root, '.cache', 'runs'))).toHaveLength(1);
    expect(await status('--live-session', 'another')).toEqual(['crashed']);
  });

  it('prints one metric as little-endian arrays, found by a run id prefix', async () => {
    await provFolder('a', 'train', RUN, 0.1);
    const result = await cli('metric', root, '-r', '--run', RUN.slice(0, 6), '--metric', 'loss');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output.series).toHaveLength(1);
    expect(output.series[0].context).toBe('training');
    const values = Buffer.from(output.series[0].values, 'base64');
    expect(Array.from(new Float64Array(values.buffer, values.byteOffset, values.byteLength / 8))).toEqual([2, 1, 0.5, 0.25]);
    const missing = await cli('metric', root, '-r', '--run', RUN, '--metric', 'nope');
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('it logged: loss (context "training")') });
    expect((await cli('metric', root, '--run', RUN, '--metric', 'loss')).stderr).toContain('no run');
  });
});
