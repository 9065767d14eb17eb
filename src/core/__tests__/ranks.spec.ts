import { parseJournal, type IJournalFile } from '../reader';
import { buildProvDocument } from '../prov';
import { distinctDeviceEnergy, isDefaultRankSeries, worseStatus } from '../ranks';
import { buildSession, type IRun } from '../session';
import { lines, RUN, series, T } from './fixtures';

const OTHER_RUN = 'f'.repeat(32);

function kernelJournal(extra: Record<string, unknown>[] = [], end: string | null = 'finished'): IJournalFile {
  const records = [
    {
      type: 'kernel_start',
      t: T(0),
      session: 'k1',
      kernel_id: null,
      pid: 1,
      hostname: 'node-a',
      python: '3.11',
      nbprov_version: '0',
      notebook: 'n.ipynb',
      user: 'u'
    },
    { type: 'run_start', t: T(1), run: RUN, name: 'ddp', experiment: 'e', exec: null, code: null, energy: true },
    { type: 'param', t: T(1), run: RUN, key: 'lr', value: 0.1, value_type: 'float', role: 'input' },
    { type: 'context_start', t: T(1), run: RUN, ctx: 1, name: 'training', epoch: null, parent: null },
    { type: 'metrics', t: T(2), run: RUN, batch: 1, series: [series('loss', 1, [9, 8])] },
    {
      type: 'energy',
      t: T(9),
      run: RUN,
      scope: 'run',
      ref: RUN,
      device: 'cpu:package-0',
      joules: 100,
      method: 'counter',
      reason: null,
      resolution_limited: false
    },
    ...extra,
    ...(end ? [{ type: 'run_end', t: T(9), run: RUN, status: end }] : [])
  ];
  return { name: 'k-k1.jsonl', text: lines(records) };
}

interface IRankOptions {
  session: string;
  rank: number;
  host?: string;
  run?: string;
  end?: Record<string, unknown> | null;
  records?: Record<string, unknown>[];
}

function rankJournal(o: IRankOptions): IJournalFile {
  const run = o.run ?? RUN;
  const records = [
    {
      type: 'kernel_start',
      t: T(2),
      session: o.session,
      kernel_id: null,
      pid: 10 + o.rank,
      hostname: o.host ?? 'node-a',
      python: '3.11',
      nbprov_version: '0',
      notebook: 'n.ipynb',
      user: 'u',
      rank: { run, parent_session: 'k1', rank: o.rank, local_rank: o.rank, world_size: 2, node_rank: 0, launcher: 'torch' }
    },
    ...(o.records ?? [
      { type: 'context_start', t: T(3), run, ctx: 1, name: 'training', epoch: null, parent: null },
      {
        type: 'metrics',
        t: T(3),
        run,
        batch: 1,
        series: [series('loss', 1, [o.rank + 1, o.rank + 0.5]), series('lr', null, [0.1])]
      },
      { type: 'context_end', t: T(4), run, ctx: 1 }
    ]),
    ...(o.end === null ? [] : [o.end ?? { type: 'rank_end', t: T(5), run, status: 'finished', ename: null, evalue: null }])
  ];
  return { name: `k-${o.session}-r${o.rank}.jsonl`, text: lines(records) };
}

function merged(files: IJournalFile[], live: string[] = []): { run: IRun; warnings: string[] } {
  const parsed = parseJournal(files);
  const session = buildSession(parsed.records, parsed.warnings, live);
  const run = session.runs.find(r => r.id === RUN)!;
  return { run, warnings: session.warnings.map(w => w.reason) };
}

describe('rank journals', () => {
  it('fold into the kernel run: one series per rank, contexts apart, params once', () => {
    const { run, warnings } = merged([
      kernelJournal(),
      rankJournal({ session: 'aa01', rank: 0, records: undefined }),
      rankJournal({
        session: 'aa02',
        rank: 1,
        end: null,
        records: [
          { type: 'param', t: T(3), run: RUN, key: 'lr', value: 0.1, value_type: 'float', role: 'input' },
          { type: 'param', t: T(3), run: RUN, key: 'seed', value: 1, value_type: 'int', role: 'input' },
          { type: 'context_start', t: T(3), run: RUN, ctx: 1, name: 'training', epoch: null, parent: null },
          { type: 'metrics', t: T(3), run: RUN, batch: 1, series: [series('loss', 1, [2, 1.5], 0)] }
        ]
      })
    ]);
    expect(warnings).toEqual([]);
    const loss = run.metrics.filter(m => m.metric === 'loss');
    expect(loss.map(m => [m.rank, Array.from(m.values)])).toEqual([
      [undefined, [9, 8]],
      [0, [1, 0.5]],
      [1, [2, 1.5]]
    ]);
    // Each rank's "training" is a context of its own, tagged with its rank.
    expect(run.contexts.map(c => [c.name, c.rank])).toEqual([
      ['training', undefined],
      ['training', 0],
      ['training', 1]
    ]);
    expect(new Set(run.contexts.map(c => c.ctx)).size).toBe(3);
    expect(new Set(loss.map(m => m.ctx)).size).toBe(3);
    expect(run.params.map(p => [p.key, p.value])).toEqual([
      ['lr', 0.1],
      ['seed', 1]
    ]);
    expect(run.ranks!.map(p => [p.rank, p.status, p.duplicate])).toEqual([
      [0, 'finished', false],
      [1, 'crashed', false] // no rank_end while the run has ended
    ]);
    expect(run.status).toBe('crashed');
    expect(run.statusRank).toBe(1);
    // The default view keeps the kernel's and rank 0's series.
    expect(run.metrics.filter(isDefaultRankSeries).map(m => [m.metric, m.rank])).toEqual([
      ['loss', undefined],
      ['loss', 0],
      ['lr', 0]
    ]);
  });

  it('a failed rank fails the run and is named; a running run keeps ranks without an end running', () => {
    const failing = merged([
      kernelJournal(),
      rankJournal({ session: 'aa01', rank: 0 }),
      rankJournal({
        session: 'aa02',
        rank: 1,
        end: { type: 'rank_end', t: T(5), run: RUN, status: 'failed', ename: 'RuntimeError', evalue: 'NCCL' }
      })
    ]).run;
    expect([failing.status, failing.statusRank, failing.ename, failing.evalue]).toEqual(['failed', 1, 'RuntimeError', 'NCCL']);

    const live = merged([kernelJournal([], null), rankJournal({ session: 'aa01', rank: 0, end: null })], ['k1']).run;
    expect([live.status, live.ranks![0].status, live.statusRank]).toEqual(['running', 'running', undefined]);
    expect(worseStatus('finished', 'interrupted')).toBe('interrupted');
    expect(worseStatus('failed', 'crashed')).toBe('failed');
  });

  it('two processes claiming one rank are both kept and flagged; a journal of another run is ignored', () => {
    const { run, warnings } = merged([
      kernelJournal(),
      rankJournal({ session: 'aa01', rank: 0 }),
      rankJournal({ session: 'aa02', rank: 0 }),
      rankJournal({ session: 'bb01', rank: 1, run: OTHER_RUN })
    ]);
    expect(run.ranks!.map(p => [p.session, p.rank, p.duplicate])).toEqual([
      ['aa01', 0, true],
      ['aa02', 0, true]
    ]);
    expect(run.metrics.filter(m => m.metric === 'loss' && m.rank === 0)).toHaveLength(2);
    expect(warnings).toEqual([
      `rank 0 of run ${RUN} is claimed by two processes: both kept`,
      `rank journal of run ${OTHER_RUN}, which no kernel journal here starts (another run's): ignored`
    ]);
  });

  it('counts a device shared by ranks once, sums distinct devices, per node', () => {
    const reading = (device: string, joules: number | null): Record<string, unknown> => ({
      type: 'energy',
      t: T(5),
      run: RUN,
      scope: 'run',
      ref: RUN,
      device,
      joules,
      method: 'counter',
      reason: joules === null ? 'permission' : null,
      resolution_limited: false
    });
    const files = [
      // The kernel on node-a measured the CPU package over the whole run: 100 J.
      kernelJournal(),
      // Two ranks on node-a share GPU 0000:01 and the package; one rank on node-b has its own GPU.
      rankJournal({
        session: 'aa01',
        rank: 0,
        records: [reading('nvidia:0000:01:00.0', 50), reading('cpu:package-0', 90)]
      }),
      rankJournal({
        session: 'aa02',
        rank: 1,
        records: [reading('nvidia:0000:01:00.0', 48), reading('cpu:package-0', 95)]
      }),
      rankJournal({
        session: 'bb01',
        rank: 2,
        host: 'node-b',
        records: [reading('nvidia:0000:01:00.0', 70), reading('cpu:package-0', null)]
      })
    ];
    const { run } = merged(files);
    expect(run.energyTotals).toEqual({
      devices: {
        'node-a/cpu:package-0': 100,
        'node-a/nvidia:0000:01:00.0': 50,
        'node-b/nvidia:0000:01:00.0': 70
      },
      nodes: { 'node-a': 150, 'node-b': 70 },
      total: 220
    });
    const parsed = parseJournal(files);
    const doc = buildProvDocument(buildSession(parsed.records, parsed.warnings), { notebook: 'n.ipynb', nbprovVersion: '0' });
    const activity = (doc.activity as Record<string, Record<string, unknown>>)[`nbprov:run.${RUN}`];
    expect(activity['provml:energy']).toBe(220);
    expect(JSON.parse(activity['nbprov:energy_nodes'] as string)).toEqual({ 'node-a': 150, 'node-b': 70 });
    expect(JSON.parse(activity['nbprov:energy_devices'] as string).map((d: { device: string }) => d.device)).toEqual([
      'node-a/cpu:package-0',
      'node-a/nvidia:0000:01:00.0',
      'node-b/nvidia:0000:01:00.0'
    ]);
    expect(activity['nbprov:world_size']).toBe(2);
    expect(JSON.parse(activity['nbprov:ranks'] as string).map((r: { rank: number; host: string }) => [r.rank, r.host])).toEqual([
      [0, 'node-a'],
      [1, 'node-a'],
      [2, 'node-b']
    ]);
    // Unreadable on one host and never read elsewhere: stays unavailable with its reason.
    const unavailable = distinctDeviceEnergy(
      [
        {
          scope: 'run',
          ref: RUN,
          ctx: null,
          device: 'cpu:package-0',
          joules: null,
          method: '',
          reason: 'permission',
          resolutionLimited: false,
          t: T(1),
          host: 'node-b'
        }
      ],
      'node-a'
    );
    expect(unavailable.map(r => [r.device, r.reason])).toEqual([['node-b/cpu:package-0', 'permission']]);
  });

  it('a malformed rank object fails its kernel_start line alone', () => {
    const bad = rankJournal({ session: 'aa01', rank: 0 });
    const text = bad.text.replace('"rank":0,', '"rank":-1,');
    const parsed = parseJournal([kernelJournal(), { name: bad.name, text }]);
    expect(parsed.warnings.map(w => [w.file, w.line])).toEqual([[bad.name, 1]]);
    const session = buildSession(parsed.records, parsed.warnings);
    // Its records are not taken for the kernel's: the run has the kernel's series alone.
    expect(session.runs[0].metrics.map(m => [m.metric, Array.from(m.values)])).toEqual([['loss', [9, 8]]]);
    expect(session.warnings.map(w => w.reason)).toContain('file left out: it is a rank journal without a readable kernel_start');
  });
});
