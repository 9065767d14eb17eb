import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { foldJournals } from '../../core/reader';
import { finalizeSession, newSessionModel } from '../../core/session';
import { journalStream, READ_CHUNK_BYTES } from '../journalstream';

const T = '2025-01-02T03:04:05.000+00:00';
const RUN = 'a'.repeat(32);
const b64 = (view: ArrayBufferView): string => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');

describe('journal files read as streams', () => {
  it('folds a file larger than one read chunk, a line longer than a chunk, and a truncated last line', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nbprov-stream-'));
    const n = 100_000; // one metrics line of about 3.6 MB: several read chunks
    const values = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-3 + i);
    const steps = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    const line = (record: Record<string, unknown>): string => JSON.stringify(record) + '\n';
    const text =
      line({ type: 'run_start', t: T, seq: 1, run: RUN, name: 'big', experiment: 'e', exec: null, code: null, energy: false }) +
      line({
        type: 'metrics',
        t: T,
        seq: 2,
        run: RUN,
        batch: 1,
        series: [
          {
            metric: 'loss',
            ctx: null,
            n,
            steps: b64(steps),
            values: b64(values),
            timestamps: b64(steps),
            epochs: b64(new Int32Array(n).fill(-1))
          }
        ]
      }) +
      Array.from({ length: 2000 }, (_, i) =>
        line({ type: 'tag', t: T, seq: 3 + i, run: RUN, key: `k${i}`, value: 'v'.repeat(300) })
      ).join('') +
      '{"type": "run_end", "t": "2025-01-02T03:04:05.000+00:00", "run": "' +
      RUN.slice(0, 10);
    await fs.writeFile(path.join(dir, 'k-s1.jsonl'), text);
    expect(text.length).toBeGreaterThan(4 * READ_CHUNK_BYTES);

    const model = newSessionModel(null);
    await foldJournals(model, [journalStream(dir, 'k-s1.jsonl')]);
    const session = finalizeSession(model, ['s1']);
    expect(session.warnings).toEqual([{ file: 'k-s1.jsonl', line: 2003, reason: 'truncated last line' }]);
    const [run] = session.runs;
    expect(run.status).toBe('running');
    expect(Object.keys(run.tags)).toHaveLength(2000);
    // Bit-exact (compared as bytes: element-wise matchers are slow on 100k points).
    expect(Buffer.from(run.metrics[0].values.buffer).equals(Buffer.from(values.buffer))).toBe(true);
    expect(Buffer.from(run.metrics[0].steps.buffer).equals(Buffer.from(steps.buffer))).toBe(true);
    await fs.rm(dir, { recursive: true });
  }, 60_000);
});
