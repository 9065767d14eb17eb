/**
 * The bounded export (points spilled to a scratch file, a few at a time) against the in-memory
 * result (`buildSession`: every batch joined in memory) on journals that exercise every rule the
 * reducer applies to series: duplicated session files, re-sent batches, out-of-order steps, rank
 * journals, records read before their run_start, a cut last line, several files for one run.
 */

import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import type { AbsolutePath } from 'zarrita';

import { exportSession, type IFileSink, type IScratch, PROV_FILE } from '../../core/export';
import { buildProvDocument, stableStringify } from '../../core/prov';
import { type IJournalFile, parseJournal } from '../../core/reader';
import { buildSession, type IMetricSeries } from '../../core/session';
import { contextKey, METRICS_ROOT } from '../../core/zarr';
import { lines, RUN, series, T } from '../../core/__tests__/fixtures';
import { fileScratch } from '../scratch';

const RUN2 = 'a'.repeat(32);

class MemorySink implements IFileSink {
  readonly files = new Map<string, Uint8Array>();
  async write(relativePath: string, data: Uint8Array | string): Promise<void> {
    this.files.set(relativePath, typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }
}

const kernelStart = (session: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'kernel_start',
  t: T(0),
  session,
  kernel_id: null,
  pid: 1,
  hostname: 'node-a',
  python: '3.11',
  nbprov_version: '0',
  notebook: 'n.ipynb',
  user: 'u',
  ...extra
});

const ramp = (length: number, scale: number): number[] => Array.from({ length }, (_, i) => Math.sin(i) * scale);

function trickyJournal(): IJournalFile[] {
  const kernel = [
    kernelStart('k1'),
    { type: 'run_start', t: T(1), run: RUN, name: 'ddp', experiment: 'e', exec: null, code: null, energy: false },
    { type: 'context_start', t: T(1), run: RUN, ctx: 1, name: 'training', epoch: 0, parent: null },
    { type: 'metrics', t: T(2), run: RUN, batch: 1, series: [series('loss', 1, [9, 8, 7], 10), series('lr', null, [0.1])] },
    // Steps out of order, and a batch re-sent: kept in journal order, the copy folded once.
    { type: 'metrics', t: T(3), run: RUN, batch: 2, series: [series('loss', 1, [6, 5], 2), series('acc', 1, [0.5])] },
    { type: 'metrics', t: T(3), run: RUN, batch: 1, series: [series('loss', 1, [9, 8, 7], 10)] },
    // Long enough to cross a Zarr chunk (CHUNK_ELEMENTS) in many spilled segments.
    { type: 'metrics', t: T(4), run: RUN, batch: 3, series: [series('big', 1, ramp(600_000, 1), 0)] },
    {
      type: 'metrics',
      t: T(4),
      run: RUN,
      batch: 4,
      series: [series('big', 1, ramp(600_000, 2), 600_000), series('lr', null, [0.05])]
    },
    { type: 'context_end', t: T(5), run: RUN, ctx: 1 },
    { type: 'run_end', t: T(9), run: RUN, status: 'finished' }
  ];
  const rank = (session: string, rankNumber: number): IJournalFile => ({
    name: `k-${session}-r${rankNumber}.jsonl`,
    text: lines([
      kernelStart(session, {
        pid: 10 + rankNumber,
        rank: {
          run: RUN,
          parent_session: 'k1',
          rank: rankNumber,
          local_rank: rankNumber,
          world_size: 2,
          node_rank: 0,
          launcher: 'torch'
        }
      }),
      { type: 'context_start', t: T(3), run: RUN, ctx: 1, name: 'training', epoch: null, parent: null },
      {
        type: 'metrics',
        t: T(3),
        run: RUN,
        batch: 1,
        series: [series('loss', 1, [rankNumber + 1, rankNumber + 0.5]), series('lr', null, [0.1])]
      },
      { type: 'metrics', t: T(4), run: RUN, batch: 2, series: [series('loss', 1, [rankNumber], 7)] },
      { type: 'context_end', t: T(4), run: RUN, ctx: 1 },
      { type: 'rank_end', t: T(5), run: RUN, status: 'finished', ename: null, evalue: null }
    ])
  });
  // The second run: its first points are in a file that sorts before the one that starts it
  // (a later kernel's recovery), and the last line of its kernel's file is cut.
  const early = [kernelStart('a0'), { type: 'metrics', t: T(6), run: RUN2, batch: 7, series: [series('loss', null, [3, 2])] }];
  const late = lines([
    kernelStart('z9'),
    { type: 'run_start', t: T(5), run: RUN2, name: 'later', experiment: 'e', exec: null, code: null, energy: false },
    { type: 'metrics', t: T(6), run: RUN2, batch: 1, series: [series('loss', null, [1, 0], 5), series('gpu', null, [70])] },
    { type: 'metrics', t: T(7), run: RUN2, batch: 2, series: [series('gpu', null, [71, 72])] }
  ]);
  const cut = JSON.stringify({ type: 'metrics', t: T(8), run: RUN2, batch: 3, series: [series('gpu', null, [99])] });
  return [
    { name: 'k-k1.jsonl', text: lines(kernel) },
    // A copy of k1's journal under another name: left out whole, its points never counted twice.
    { name: 'k-k1copy.jsonl', text: lines(kernel) },
    rank('aa01', 0),
    rank('aa02', 1),
    { name: 'k-a0.jsonl', text: lines(early) },
    { name: 'k-z9.jsonl', text: late + cut.slice(0, cut.length / 2) }
  ];
}

/** A Zarr array's bytes, as the reader decodes them. */
async function readBytes(files: Map<string, Uint8Array>, key: string): Promise<Buffer> {
  const store = { get: async (at: AbsolutePath) => files.get(METRICS_ROOT + at) };
  const array = await zarr.open(zarr.root(store).resolve(key), { kind: 'array' });
  const data = (await zarr.get(array)).data as ArrayBufferView;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Typed arrays' bytes, one after another. */
const bytesOf = (arrays: ArrayBufferView[]): Buffer =>
  Buffer.concat(arrays.map(a => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));

const COLUMNS = ['values', 'steps', 'timestamps', 'epochs'] as const;

jest.setTimeout(120_000);

describe('bounded export', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'nbprov-bounded-'));
  });
  afterEach(async () => {
    await fs.rm(folder, { recursive: true, force: true });
  });

  const input = (journal: IJournalFile[]) => ({
    notebook: 'n.ipynb',
    journal,
    liveSessions: [],
    nbprovVersion: '0',
    datePublished: T(10)
  });

  it('writes what the in-memory fold joins: prov.json byte for byte, every Zarr column point for point', async () => {
    const journal = trickyJournal();
    const bounded = new MemorySink();
    const summary = await exportSession({ ...input(journal), scratch: fileScratch(folder), spillPoints: 3 }, bounded);

    const parsed = parseJournal(journal);
    const session = buildSession(parsed.records, parsed.warnings, []);
    const expectedProv = stableStringify(buildProvDocument(session, { notebook: 'n.ipynb', nbprovVersion: '0', blobs: [] }));
    expect(new TextDecoder().decode(bounded.files.get(PROV_FILE))).toBe(expectedProv);
    // (buildSession takes the parse warnings first, the streaming fold as it meets them.)
    const byPlace = (w: { file: string; line: number }): string => `${w.file}:${String(w.line).padStart(6, '0')}`;
    const sorted = (ws: typeof session.warnings) => [...ws].sort((a, b) => (byPlace(a) < byPlace(b) ? -1 : 1));
    expect(sorted(summary.warnings)).toEqual(sorted(session.warnings));
    expect(summary.warnings.map(w => w.reason)).toEqual(
      expect.arrayContaining([expect.stringContaining('it repeats kernel session k1'), 'truncated last line'])
    );

    // Every table: its series one after another, as the in-memory fold joined them.
    let tables = 0;
    for (const run of session.runs) {
      const byTable = new Map<string, IMetricSeries[]>();
      for (const metric of run.metrics) {
        byTable.set(contextKey(metric), [...(byTable.get(contextKey(metric)) ?? []), metric]);
      }
      for (const [key, table] of byTable) {
        tables++;
        for (const column of COLUMNS) {
          const expected = bytesOf(table.map(s => s[column]));
          expect((await readBytes(bounded.files, `${run.id}/${key}/${column}`)).equals(expected)).toBe(true);
        }
        const index = bytesOf(table.map((s, i) => new Int32Array(s.points).fill(i)));
        expect((await readBytes(bounded.files, `${run.id}/${key}/metric`)).equals(index)).toBe(true);
      }
    }
    // The kernel's run table, its ctx 1 table, each rank's run and ctx tables, the second run's.
    expect(tables).toBe(7);
    const big = session.runs[0].metrics.find(m => m.metric === 'big')!;
    expect(big.points).toBe(1_200_000);
    expect(session.runs[1].metrics.map(m => [m.metric, Array.from(m.values)])).toEqual([
      ['loss', [3, 2, 1, 0]],
      ['gpu', [70, 71, 72]]
    ]);

    // The same export with the points in memory writes the same bytes, file for file.
    const inMemory = new MemorySink();
    await exportSession(input(journal), inMemory);
    expect([...inMemory.files.keys()]).toEqual([...bounded.files.keys()]);
    for (const [key, bytes] of inMemory.files) {
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(bounded.files.get(key)!))).toBe(0);
    }
    // The scratch file was removed from the folder as soon as it was open.
    expect(await fs.readdir(folder)).toEqual([]);
  });

  /**
   * A scratch that stores each append a few ticks later, as the page's uploads do, and counts the
   * bytes taken but not yet stored whenever the fold asks it to settle.
   */
  function delayedScratch(failAfter = Infinity) {
    const stored: Uint8Array[] = [];
    let pending: Promise<void> = Promise.resolve();
    let waiting = 0;
    let appends = 0;
    const counts = { mostWaiting: 0, settles: 0 };
    const scratch: IScratch = {
      append: bytes => {
        const handle = appends++;
        waiting += bytes.byteLength;
        const failing = appends > failAfter;
        pending = pending.then(async () => {
          await new Promise(resolve => setTimeout(resolve, 1));
          if (failing) {
            throw new Error('507 Insufficient Storage');
          }
          stored[handle] = bytes.slice();
          waiting -= bytes.byteLength;
        });
        return handle;
      },
      settle: () => {
        counts.settles++;
        counts.mostWaiting = Math.max(counts.mostWaiting, waiting);
        return pending;
      },
      read: async (handle, offset, length) => {
        await pending;
        return stored[handle].subarray(offset, offset + length);
      },
      close: () => pending.catch(() => undefined)
    };
    return { scratch, counts };
  }

  /** The journal files as streams of `size`-byte chunks, as the page reads them from the server. */
  const streamed = (journal: IJournalFile[], size: number) =>
    journal.map(file => ({
      name: file.name,
      read: async function* () {
        const bytes = new TextEncoder().encode(file.text);
        for (let at = 0; at < bytes.length; at += size) {
          yield bytes.subarray(at, at + size);
        }
      }
    }));

  it('waits for an asynchronous scratch after each chunk, so what waits in memory stays bounded, and writes the same bytes', async () => {
    const journal = trickyJournal();
    const { scratch, counts } = delayedScratch();
    const bounded = new MemorySink();
    const spillPoints = 1000;
    await exportSession({ ...input(journal), journal: streamed(journal, 64 << 10), scratch, spillPoints }, bounded);
    expect(counts.settles).toBeGreaterThan(100);
    // One flush at most waits unstored: the limit, passed by less than one batch (the fixture's
    // largest holds 600,000 points); without the per-chunk wait both large batches would.
    expect(counts.mostWaiting).toBeLessThanOrEqual(28 * (spillPoints + 600_000));

    const inMemory = new MemorySink();
    await exportSession(input(journal), inMemory);
    expect([...bounded.files.keys()]).toEqual([...inMemory.files.keys()]);
    for (const [key, bytes] of inMemory.files) {
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(bounded.files.get(key)!))).toBe(0);
    }
  });

  it("fails with an asynchronous scratch's storage error and aborts the sink", async () => {
    const journal = trickyJournal();
    const { scratch } = delayedScratch(2);
    let aborted = false;
    let written = 0;
    const sink: IFileSink = { write: async () => void written++, abort: async () => void (aborted = true) };
    await expect(exportSession({ ...input(journal), scratch, spillPoints: 3 }, sink)).rejects.toThrow('507 Insufficient Storage');
    expect(aborted).toBe(true);
    expect(written).toBe(0);
  });

  it('fails with the disk error and leaves nothing when the scratch cannot be written', async () => {
    const journal = trickyJournal();
    const scratch = fileScratch(folder);
    const failing = {
      ...scratch,
      append: (): number => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
    };
    let aborted = false;
    const sink: IFileSink = { write: async () => undefined, abort: async () => void (aborted = true) };
    await expect(exportSession({ ...input(journal), scratch: failing, spillPoints: 3 }, sink)).rejects.toThrow('ENOSPC');
    expect(aborted).toBe(true);
    expect(await fs.readdir(folder)).toEqual([]);
  });
});
