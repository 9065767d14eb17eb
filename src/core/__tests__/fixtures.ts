/** Journal lines built per the contract in ARCHITECTURE.md, shared by the core specs. */
import type { IJournalFile } from '../reader';

export const T = (second: number): string => `2025-01-02T03:04:${String(second).padStart(2, '0')}.000+00:00`;
export const RUN = '0123456789abcdef0123456789abcdef';

const le = (array: ArrayBufferView): string => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');

export function series(metric: string, ctx: number | null, values: number[], firstStep = 0): Record<string, unknown> {
  const steps = values.map((_, i) => BigInt(firstStep + i));
  return {
    metric,
    ctx,
    n: values.length,
    steps: le(new BigInt64Array(steps)),
    values: le(new Float64Array(values)),
    timestamps: le(new BigInt64Array(steps.map(s => 1_700_000_000_000n + s))),
    epochs: le(new Int32Array(values.length).fill(-1))
  };
}

export const lines = (records: Record<string, unknown>[]): string => records.map(r => JSON.stringify(r)).join('\n') + '\n';

/** A kernel session `s1` with two versions of cell `c1`, a run with one context and two batches. */
export function sampleJournal(extraKernel: Record<string, unknown>[] = []): IJournalFile[] {
  const kernel = [
    {
      type: 'kernel_start',
      t: T(0),
      session: 's1',
      kernel_id: null,
      pid: 1,
      hostname: 'h',
      python: '3.11',
      nbprov_version: '0.1.0',
      notebook: 'n.ipynb',
      user: 'alice'
    },
    { type: 'exec_start', t: T(1), exec: 's1-1', msg_id: 'm1', cell: 'c1', count: 1, source: 'a = 1\n' },
    { type: 'exec_end', t: T(2), exec: 's1-1', status: 'ok' },
    { type: 'exec_start', t: T(3), exec: 's1-2', msg_id: 'm2', cell: 'c1', count: 2, source: 'a = 2\n' },
    { type: 'run_start', t: T(4), run: RUN, name: 'train', experiment: 'e', exec: 's1-2', code: null, energy: false },
    { type: 'context_start', t: T(4), run: RUN, ctx: 1, name: 'training', epoch: null, parent: null },
    { type: 'metrics', t: T(5), run: RUN, batch: 1, series: [series('loss', 1, [2, 1])] },
    { type: 'metrics', t: T(5), run: RUN, batch: 2, series: [series('loss', 1, [0.5, 0.25], 2)] },
    { type: 'metrics', t: T(6), run: RUN, batch: 1, series: [series('loss', 1, [2, 1])] },
    { type: 'context_end', t: T(7), run: RUN, ctx: 1 },
    { type: 'exec_start', t: T(8), exec: 's1-3', msg_id: 'm3', cell: 'c1', count: 3, source: 'a = 2\n' },
    ...extraKernel
  ];
  const frontend = [
    { type: 'page_start', t: T(0), page: 'p', notebook: 'n.ipynb', user: 'alice' },
    { type: 'notebook', t: T(1), cells: [['c1', 'x']] },
    {
      type: 'exec_output',
      t: T(2),
      msg_id: 'm1',
      cell: 'c1',
      count: 1,
      status: 'ok',
      started: T(1),
      ended: T(2),
      outputs: [{ output_type: 'stream', name: 'stdout', text: 'hi', truncated: false, sha256: 'f'.repeat(64), size: 2 }]
    },
    { type: 'exec_output', t: T(9), msg_id: 'mf', cell: 'c2', count: 4, status: 'ok', started: T(9), ended: T(9), outputs: [] }
  ];
  return [
    { name: 'k-s1.jsonl', text: lines(kernel) },
    { name: 'f-p-0.jsonl', text: lines(frontend) }
  ];
}

/** The highest seq among records, as the page passes it for a journal file read to its end. */
export function highestSeq(records: readonly { seq?: number }[]): number {
  return records.reduce((highest, record) => Math.max(highest, record.seq ?? 0), 0);
}

/** A kernel session's first record. */
export const kernelStart = (session: string, notebookId: string | null = null): Record<string, unknown> => ({
  type: 'kernel_start',
  t: T(0),
  session,
  kernel_id: null,
  pid: 1,
  hostname: 'h',
  python: '3.12',
  nbprov_version: '0.1.0',
  notebook: 'n.ipynb',
  notebook_id: notebookId,
  user: 'alice'
});
