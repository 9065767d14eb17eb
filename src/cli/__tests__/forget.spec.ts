/**
 * `nbprov forget` on the filesystem reads journals as streams: files larger than one read chunk,
 * lines cut by chunk boundaries, a cut last line, multi-byte characters split between chunks.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { runForget } from '../forget';
import { READ_CHUNK_BYTES } from '../journalstream';

const OLD = '2026-11-01T10:00:00.000Z';
const NEW = '2026-12-05T10:00:00.000Z';

describe('nbprov forget, streamed', () => {
  let dir: string;
  let journal: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nbprov-forget-'));
    journal = path.join(dir, 'nb.prov', 'journal');
    await fs.mkdir(journal, { recursive: true });
    await fs.writeFile(path.join(dir, 'nb.ipynb'), '{}');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Page output records of odd sizes (so lines straddle chunk boundaries), with multi-byte text. */
  function pageRecords(count: number): Record<string, unknown>[] {
    return Array.from({ length: count }, (_, i) => ({
      type: 'exec_output',
      t: i % 3 === 0 ? OLD : NEW,
      cell: `c${i}`,
      count: i,
      status: 'ok',
      started: NEW,
      ended: NEW,
      outputs: [
        {
          output_type: 'stream',
          name: 'stdout',
          text: `é✓𝄞 ${i} `.repeat(50 + (i % 97)),
          truncated: false,
          sha256: 'a'.repeat(64),
          size: 1
        }
      ]
    }));
  }

  it('rewrites a page journal bigger than several chunks line for line, and drops a cut last line', async () => {
    const records = pageRecords(12_000);
    const lines = records.map(record => JSON.stringify(record));
    const file = path.join(journal, 'f-p-0000.jsonl');
    const cut = lines[5].slice(0, -10); // a kernel killed mid-write: no newline, invalid JSON
    await fs.writeFile(file, lines.join('\n') + '\n' + cut);
    expect((await fs.stat(file)).size).toBeGreaterThan(4 * READ_CHUNK_BYTES);

    const result = await runForget(path.join(dir, 'nb.ipynb'), { outputsOnly: false, before: new Date('2026-12-01T00:00:00Z') });
    const kept = lines.filter((_, i) => i % 3 !== 0);
    expect(result.message).toMatch(`${records.length - kept.length} records, 1 damaged journal line`);
    expect(await fs.readFile(file, 'utf8')).toBe(kept.join('\n') + '\n');
    expect((await fs.readdir(journal)).sort()).toEqual(['f-p-0000.jsonl']); // no temporary file left
  });

  it('empties the outputs of a kernel journal bigger than a chunk and keeps every other byte', async () => {
    const kernel = [
      JSON.stringify({ type: 'kernel_start', t: OLD, seq: 1, session: 's' }),
      ...pageRecords(3_000).map((record, i) =>
        JSON.stringify({
          type: 'kernel_output',
          t: NEW,
          seq: i + 2,
          exec: `s-${i}`,
          index: 0,
          outputs: record.outputs,
          final: true
        })
      ),
      JSON.stringify({ type: 'run_end', t: NEW, seq: 3_002, run: 'f'.repeat(32), status: 'finished' })
    ];
    const file = path.join(journal, 'k-s.jsonl');
    await fs.writeFile(file, kernel.join('\n') + '\n');
    expect((await fs.stat(file)).size).toBeGreaterThan(READ_CHUNK_BYTES);

    const result = await runForget(path.join(dir, 'nb.ipynb'), { outputsOnly: true, before: null });
    expect(result.message).toMatch('3000 outputs');
    const rewritten = (await fs.readFile(file, 'utf8')).split('\n');
    expect(rewritten.pop()).toBe('');
    expect(rewritten).toHaveLength(kernel.length);
    expect(rewritten[0]).toBe(kernel[0]);
    expect(rewritten[kernel.length - 1]).toBe(kernel[kernel.length - 1]);
    for (const [i, line] of rewritten.slice(1, -1).entries()) {
      expect(JSON.parse(line)).toEqual({ ...JSON.parse(kernel[i + 1]), outputs: [] });
    }
  });

  it('counts every record of a big journal it deletes whole, and leaves a file it need not change untouched', async () => {
    const lines = pageRecords(4_000).map(record => JSON.stringify({ ...record, t: NEW }));
    const file = path.join(journal, 'f-p-0000.jsonl');
    await fs.writeFile(file, lines.join('\n') + '\n');
    const before = await fs.stat(file);
    const nothing = await runForget(path.join(dir, 'nb.ipynb'), { outputsOnly: false, before: new Date(OLD) });
    expect(nothing.message).toMatch(/nothing to remove/);
    expect((await fs.stat(file)).mtimeMs).toBe(before.mtimeMs);
    expect(await fs.readdir(journal)).toEqual(['f-p-0000.jsonl']);

    const all = await runForget(path.join(dir, 'nb.ipynb'), { outputsOnly: false, before: null });
    expect(all.message).toMatch('1 journal file, 4000 records');
    expect(await fs.readdir(journal)).toEqual([]);
  });
});
