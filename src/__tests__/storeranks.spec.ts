import { RunStore } from '../store';
import { IRawRecord, validated } from './records';

const T = '2026-11-25T10:00:00.000+00:00';
const RUN = 'a'.repeat(32);

function metrics(seq: number, batch: number, values: number[], ctx: number | null = null, run = RUN): IRawRecord {
  return {
    type: 'metrics',
    t: T,
    seq,
    run,
    batch,
    series: [
      {
        metric: 'loss',
        ctx,
        steps: BigInt64Array.from(values.map((_, i) => BigInt(i))),
        values: Float64Array.from(values),
        timestamps: BigInt64Array.from(values.map((_, i) => BigInt(1_700_000_000_000 + i))),
        epochs: Int32Array.from(values.map(() => -1))
      }
    ]
  };
}

function rankStart(session: string, rank: number, run = RUN): IRawRecord {
  return { type: 'kernel_start', t: T, seq: 1, session, hostname: 'h', rank: { run, rank, world_size: 2, parent_session: 'k' } };
}

describe('the run store and rank processes (live)', () => {
  it('keeps each rank series apart from the kernel and from each other, on one run', () => {
    const store = new RunStore();
    store.apply(
      'k',
      validated([
        { type: 'kernel_start', t: T, seq: 1, session: 'k' },
        { type: 'run_start', t: T, seq: 2, run: RUN, name: 'ddp', experiment: 'e', exec: null },
        { type: 'param', t: T, seq: 3, run: RUN, key: 'lr', value: 0.1, role: 'input' },
        metrics(4, 1, [9])
      ])
    );
    // Each rank numbers its batches and contexts from 1, as the kernel does.
    store.apply(
      'r0',
      validated([
        rankStart('r0', 0),
        { type: 'context_start', t: T, seq: 2, run: RUN, ctx: 1, name: 'training', epoch: null, parent: null },
        metrics(3, 1, [1, 0.5], 1),
        { type: 'param', t: T, seq: 4, run: RUN, key: 'lr', value: 0.9, role: 'input' }
      ])
    );
    store.apply(
      'r1',
      validated([
        rankStart('r1', 1),
        metrics(2, 1, [2, 1.5, 1]),
        { type: 'rank_end', t: T, seq: 3, run: RUN, status: 'failed', ename: 'E', evalue: 'x' }
      ])
    );
    // A rank of another run adds nothing to this one.
    store.apply('x0', validated([rankStart('x0', 0, 'b'.repeat(32)), metrics(2, 1, [7, 7, 7, 7], null, 'b'.repeat(32))]));
    const run = store.runs.get(RUN)!;
    const series = [...run.series.values()].map(s => [s.rank, s.length, s.ctx === null ? null : run.contexts.get(s.ctx)?.name]);
    expect(series).toEqual([
      [undefined, 1, null],
      [0, 2, 'training'],
      [1, 3, null]
    ]);
    expect(run.params.get('lr')?.value).toBe(0.1); // the rank's other value does not replace the run's
    expect(run.status).toBe('failed');
    store.apply('k', validated([{ type: 'run_end', t: T, seq: 5, run: RUN, status: 'finished' }]));
    expect(run.status).toBe('failed'); // the worst of the kernel and its ranks
    expect(store.runs.size).toBe(1);
  });
});
