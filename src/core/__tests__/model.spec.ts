/**
 * The one reducer, checked as UI-equals-export: the same record sequences go to the page's run store
 * (live over the comm, and replayed from the journal after a reload) and to the export's
 * `buildSession`, and every view of the runs must agree. Then the bad input the reducer must survive.
 */
import { decodeKernelMessage } from '../../comm';
import { RunStore } from '../../store';
import { runDisplayName } from '../model';
import { buildProvDocument } from '../prov';
import { foldJournals, type IJournalStream, parseJournal } from '../reader';
import { kernelSessionOf } from '../records';
import { buildSession, finalizeSession, type ISession, newSessionModel } from '../session';
import { highestSeq, kernelStart as kernelStartOf, lines, series, T } from './fixtures';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const NOTEBOOK_ID = 'e'.repeat(32);

const kernelStart = (session: string, notebookId: string | null = NOTEBOOK_ID) => kernelStartOf(session, notebookId);

/** One kernel session: an unnamed run with an input and an output `lr`, a failed named run, one left open. */
function sessionRecords(session = 's1'): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [
    kernelStart(session),
    { type: 'exec_start', t: T(1), exec: `${session}-1`, msg_id: 'm1', cell: 'c1', count: 1, source: 'train()' },
    {
      type: 'run_start',
      t: T(2),
      run: A,
      name: '',
      experiment: 'e',
      exec: `${session}-1`,
      code: null,
      energy: false,
      parent: null
    },
    { type: 'param', t: T(2), run: A, key: 'lr', value: 0.1, value_type: 'float', role: 'input' },
    { type: 'param', t: T(3), run: A, key: 'lr', value: 0.5, value_type: 'float', role: 'output' },
    { type: 'param', t: T(3), run: A, key: 'seed', value: 1, value_type: 'int', role: 'input' },
    { type: 'param', t: T(4), run: A, key: 'seed', value: 2, value_type: 'int', role: 'input' },
    { type: 'tag', t: T(4), run: A, key: 'kind', value: 'base' },
    { type: 'context_start', t: T(4), run: A, ctx: 1, name: 'training', epoch: 0, parent: null },
    { type: 'metrics', t: T(5), run: A, batch: 1, series: [series('loss', 1, [2, 1]), series('acc', null, [0.1])] },
    { type: 'metrics', t: T(6), run: A, batch: 2, series: [series('loss', 1, [0.5, 0.25], 2)] },
    { type: 'metrics', t: T(6), run: A, batch: 1, series: [series('loss', 1, [2, 1])] }, // re-sent: folded once
    { type: 'context_end', t: T(7), run: A, ctx: 1 },
    { type: 'artifact', t: T(7), run: A, path: 'm.pt', name: 'm.pt', sha256: 'd'.repeat(64), size: 9, role: 'output' },
    { type: 'run_end', t: T(8), run: A, status: 'finished', ename: null, evalue: null },
    {
      type: 'run_start',
      t: T(9),
      run: B,
      name: 'bad',
      experiment: 'e',
      exec: `${session}-1`,
      code: null,
      energy: false,
      parent: A
    },
    { type: 'metrics', t: T(10), run: B, batch: 1, series: [series('loss', null, [9])] },
    { type: 'run_end', t: T(11), run: B, status: 'failed', ename: 'ValueError', evalue: 'boom' },
    {
      type: 'run_start',
      t: T(12),
      run: C,
      name: 'open',
      experiment: 'e',
      exec: `${session}-1`,
      code: null,
      energy: false,
      parent: null
    },
    { type: 'metrics', t: T(13), run: C, batch: 1, series: [series('loss', null, [3, 2, 1])] },
    { type: 'exec_end', t: T(14), exec: `${session}-1`, status: 'ok' }
  ];
  return records.map((record, i) => ({ ...record, seq: i + 1 }));
}

/** A comparable view of the runs: what the widget shows and what the export writes. */
interface IRunView {
  id: string;
  name: string;
  experiment: string;
  status: string;
  parent: string | null;
  params: [string, string, unknown][];
  tags: [string, string][];
  artifacts: string[];
  series: { metric: string; ctx: number | null; steps: number[]; values: number[] }[];
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : 1);
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : 1);

function storeView(store: RunStore): IRunView[] {
  return Array.from(store.runs.values(), run => ({
    id: run.id,
    name: run.name,
    experiment: run.experiment,
    status: run.status,
    parent: run.parent,
    params: Array.from(run.params.values(), p => [p.key, p.role, p.value] as [string, string, unknown]).sort(),
    tags: Array.from(run.tags),
    artifacts: run.artifacts.map(a => a.sha256),
    series: Array.from(run.series.values(), s => {
      const { steps, values } = s.slice(0, s.length);
      return { metric: s.metric, ctx: s.ctx, steps: Array.from(steps), values: Array.from(values) };
    })
  })).sort(byId);
}

function exportView(session: ISession): IRunView[] {
  return session.runs
    .map(run => ({
      id: run.id,
      name: runDisplayName(run),
      experiment: run.experiment,
      status: run.status,
      parent: run.parent,
      params: run.params.map(p => [p.key, p.role, p.value] as [string, string, unknown]).sort(),
      tags: Object.entries(run.tags),
      artifacts: run.artifacts.map(a => a.sha256),
      series: run.metrics.map(m => ({
        metric: m.metric,
        ctx: m.ctx,
        steps: Array.from(m.steps, Number),
        values: Array.from(m.values)
      }))
    }))
    .sort(byId);
}

/** The records as the kernel streams them: one message, metric arrays as binary buffers. */
function commMessage(session: string, records: Record<string, unknown>[]): { data: unknown; buffers: Uint8Array[] } {
  const buffers: Uint8Array[] = [];
  const sent = records.map(record => {
    if (record.type !== 'metrics') {
      return record;
    }
    return {
      ...record,
      series: (record.series as Record<string, unknown>[]).map(s => {
        const out: Record<string, unknown> = { ...s };
        for (const field of ['steps', 'values', 'timestamps', 'epochs']) {
          out[field] = buffers.length;
          buffers.push(Uint8Array.from(Buffer.from(s[field] as string, 'base64')));
        }
        return out;
      })
    };
  });
  return { data: { session, records: sent }, buffers };
}

function liveStore(session: string, records: Record<string, unknown>[]): RunStore {
  const { data, buffers } = commMessage(session, records);
  const decoded = decodeKernelMessage(data, buffers);
  if (decoded?.kind !== 'records') {
    throw new Error('not records');
  }
  expect(decoded.rejected).toEqual([]);
  const store = new RunStore();
  store.apply(session, decoded.records);
  return store;
}

function reloadedStore(text: string, name: string): RunStore {
  const store = new RunStore();
  const parsed = parseJournal([{ name, text }]);
  expect(parsed.warnings).toEqual([]);
  const records = parsed.records.map(r => r.record);
  store.apply(kernelSessionOf(name)!, records, highestSeq(records));
  return store;
}

describe('one reducer: UI equals export', () => {
  const records = sessionRecords();
  const text = lines(records);

  it('shows the same runs, params by key and role, names, statuses and series live, after a reload and in the export', () => {
    const live = storeView(liveStore('s1', records));
    const reloaded = storeView(reloadedStore(text, 'k-s1.jsonl'));
    const exported = exportView(buildSession(parseJournal([{ name: 'k-s1.jsonl', text }]).records, [], ['s1']));
    expect(reloaded).toEqual(live);
    expect(exported).toEqual(live);
    // What they agree on is what the journal says.
    const [a, b, c] = live;
    expect(a.name).toBe(A.slice(0, 8)); // unnamed: the id's prefix, live and after a reload alike
    expect(a.params).toEqual([
      ['lr', 'input', 0.1],
      ['lr', 'output', 0.5],
      ['seed', 'input', 2]
    ]);
    expect(a.series).toEqual([
      { metric: 'loss', ctx: 1, steps: [0, 1, 2, 3], values: [2, 1, 0.5, 0.25] },
      { metric: 'acc', ctx: null, steps: [0], values: [0.1] }
    ]);
    expect(a.artifacts).toHaveLength(1);
    expect([a.status, b.status, c.status]).toEqual(['finished', 'failed', 'running']);
    expect(b.parent).toBe(A);
  });

  it('agrees on a dead kernel: its open run is crashed in the store and in the export', () => {
    const store = reloadedStore(text, 'k-s1.jsonl');
    store.markCrashed(new Set());
    const exported = exportView(buildSession(parseJournal([{ name: 'k-s1.jsonl', text }]).records, [], []));
    expect(storeView(store)).toEqual(exported);
    expect(exported.map(run => run.status)).toEqual(['finished', 'failed', 'crashed']);
  });

  it('labels the unnamed run in PROV as the widget names it', () => {
    const session = buildSession(parseJournal([{ name: 'k-s1.jsonl', text }]).records, [], []);
    const doc = buildProvDocument(session, { notebook: 'n.ipynb', nbprovVersion: '0' });
    expect(doc.entity?.[`nbprov:run.${A}`]?.['prov:label'] ?? doc.activity?.[`nbprov:run.${A}`]?.['prov:label']).toBe(
      A.slice(0, 8)
    );
  });
});

/** A kernel session's run A that two rank processes join: rank 1 fails, both measure the node's CPU. */
function rankRecords(): { kernel: Record<string, unknown>[]; ranks: [string, number, Record<string, unknown>[]][] } {
  const energy = (joules: number) => ({
    type: 'energy',
    t: T(9),
    run: A,
    scope: 'run',
    ref: A,
    ctx: null,
    device: 'cpu:package-0',
    joules,
    method: 'rapl',
    reason: null
  });
  const kernel = [
    kernelStart('k1'),
    { type: 'run_start', t: T(2), run: A, name: 'ddp', experiment: 'e', exec: null, code: null, energy: true, parent: null },
    { type: 'param', t: T(2), run: A, key: 'lr', value: 0.1, value_type: 'float', role: 'input' },
    { type: 'metrics', t: T(5), run: A, batch: 1, series: [series('loss', null, [9, 8])] },
    energy(100),
    { type: 'run_end', t: T(10), run: A, status: 'finished', ename: null, evalue: null }
  ].map((record, i) => ({ ...record, seq: i + 1 }));
  const rank = (session: string, rank: number, extra: Record<string, unknown>[]): [string, number, Record<string, unknown>[]] => [
    session,
    rank,
    [
      {
        ...kernelStart(session),
        pid: 10 + rank,
        rank: { run: A, parent_session: 'k1', rank, local_rank: rank, world_size: 2, node_rank: 0, launcher: 'torch' }
      },
      { type: 'param', t: T(3), run: A, key: 'lr', value: 0.1 * (rank + 1), value_type: 'float', role: 'input' },
      { type: 'param', t: T(3), run: A, key: `only_rank${rank}`, value: rank, value_type: 'int', role: 'input' },
      { type: 'context_start', t: T(3), run: A, ctx: 1, name: 'training', epoch: 0, parent: null },
      {
        type: 'metrics',
        t: T(4),
        run: A,
        batch: 1,
        series: [series('loss', 1, [rank + 1, rank + 0.5]), series('loss', null, [rank])]
      },
      { type: 'context_end', t: T(6), run: A, ctx: 1 },
      energy(40 + rank),
      ...extra
    ].map((record, i) => ({ ...record, seq: i + 1 }))
  ];
  return {
    kernel,
    ranks: [
      rank('aa00', 0, [{ type: 'rank_end', t: T(8), run: A, status: 'finished', ename: null, evalue: null }]),
      rank('aa01', 1, [{ type: 'rank_end', t: T(8), run: A, status: 'failed', ename: 'RuntimeError', evalue: 'rank 1 died' }])
    ]
  };
}

interface IRankRunView {
  status: string;
  error: string | null;
  params: [string, unknown][];
  /** `<rank>/<metric>/<context name>` → values, sorted. */
  series: [string, number[]][];
  /** Run-scope joules per device: once per physical device, the shared CPU counted once. */
  energy: [string, number | null][];
}

const byKey = (a: [string, unknown], b: [string, unknown]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

function rankStoreView(store: RunStore): IRankRunView {
  const run = store.runs.get(A)!;
  return {
    status: run.status,
    error: run.error ? `${run.error.ename}: ${run.error.evalue}` : null,
    params: Array.from(run.params.values(), p => [p.key, p.value] as [string, unknown]).sort(byKey),
    series: Array.from(run.series.values(), s => {
      const context = s.ctx === null ? '' : (run.contexts.get(s.ctx)?.name ?? '?');
      return [`${s.rank ?? 'kernel'}/${s.metric}/${context}`, Array.from(s.slice(0, s.length).values)] as [string, number[]];
    }).sort(byKey),
    energy: run.energy.filter(e => e.scope === 'run').map(e => [e.device, e.joules] as [string, number | null])
  };
}

function rankExportView(session: ISession): IRankRunView {
  const run = session.runs.find(one => one.id === A)!;
  const contexts = new Map(run.contexts.map(c => [c.ctx, c.name]));
  return {
    status: run.status,
    error: run.ename ? `${run.ename}: ${run.evalue ?? ''}` : null,
    params: run.params.map(p => [p.key, p.value] as [string, unknown]).sort(byKey),
    series: run.metrics
      .map(m => {
        const context = m.ctx === null ? '' : (contexts.get(m.ctx) ?? '?');
        return [`${m.rank ?? 'kernel'}/${m.metric}/${context}`, Array.from(m.values)] as [string, number[]];
      })
      .sort(byKey),
    energy: run.energy.filter(e => e.scope === 'run').map(e => [e.device, e.joules] as [string, number | null])
  };
}

describe('one reducer: UI equals export, for a run that rank processes joined', () => {
  const { kernel, ranks } = rankRecords();
  const files = [
    { name: 'k-k1.jsonl', text: lines(kernel) },
    ...ranks.map(([session, rank, records]) => ({ name: `k-${session}-r${rank}.jsonl`, text: lines(records) }))
  ];

  it('folds the ranks the same live (forwarded with via), after a reload and in the export', () => {
    // Live: the kernel's records, then each rank's as the kernel forwards them (`via`: the kernel).
    const live = new RunStore();
    for (const [session, via, records] of [
      ['k1', null, kernel],
      ...ranks.map(([rankSession, , records]) => [rankSession, 'k1', records])
    ] as [string, string | null, Record<string, unknown>[]][]) {
      const { data, buffers } = commMessage(session, records);
      const decoded = decodeKernelMessage(via === null ? data : { ...(data as object), via }, buffers);
      if (decoded?.kind !== 'records') {
        throw new Error('not records');
      }
      expect([decoded.via, decoded.rejected]).toEqual([via, []]);
      live.apply(session, decoded.records);
    }
    // Reloaded: the journal folder read file by file, in name order (the ranks' sort before the kernel's).
    const reloaded = new RunStore();
    const parsed = parseJournal(files);
    expect(parsed.warnings).toEqual([]);
    for (const file of [...files].sort(byName)) {
      const records = parsed.records.filter(r => r.file === file.name).map(r => r.record);
      reloaded.apply(kernelSessionOf(file.name)!, records, highestSeq(records));
    }
    const session = buildSession(parsed.records, [], ['k1']);
    // Rank 1's other `lr` is reported, and the run keeps the first value.
    expect(session.warnings.map(w => [w.file, w.reason])).toEqual([
      ['k-aa01-r1.jsonl', 'a rank logged input parameter "lr" with another value than the run has: the first is kept']
    ]);
    const exported = rankExportView(session);
    expect(rankStoreView(live)).toEqual(exported);
    expect(rankStoreView(reloaded)).toEqual(exported);
    // What they agree on is what the journals say: the worst status, named; params once; series per rank.
    expect(exported.status).toBe('failed');
    expect(exported.error).toBe('RuntimeError: rank 1 died');
    expect(session.runs[0].statusRank).toBe(1);
    expect(exported.params).toEqual([
      ['lr', 0.1],
      ['only_rank0', 0],
      ['only_rank1', 1]
    ]);
    expect(exported.series).toEqual([
      ['0/loss/', [0]],
      ['0/loss/training', [1, 0.5]],
      ['1/loss/', [1]],
      ['1/loss/training', [2, 1.5]],
      ['kernel/loss/', [9, 8]]
    ]);
    // The node's CPU package, measured by three processes, counted once (the widest window).
    expect(exported.energy).toEqual([['h/cpu:package-0', 100]]);
    expect(session.runs[0].energyTotals?.total).toBe(100);
  });

  it('a rank journal of another run is left out with one warning, in the store and the export alike', () => {
    const stray = ranks[0][2].map(r =>
      r.type === 'kernel_start' ? { ...r, session: 'bb00', rank: { run: B, rank: 0 } } : 'run' in r ? { ...r, run: B } : r
    );
    const withStray = [...files, { name: 'k-bb00-r0.jsonl', text: lines(stray) }];
    const parsed = parseJournal(withStray);
    const session = buildSession(parsed.records, [], ['k1']);
    expect(session.runs.map(run => run.id)).toEqual([A]);
    const strayWarnings = session.warnings.filter(w => w.file === 'k-bb00-r0.jsonl').map(w => w.reason);
    expect(strayWarnings).toEqual([`rank journal of run ${B}, which no kernel journal here starts (another run's): ignored`]);
    expect(rankExportView(session)).toEqual(rankExportView(buildSession(parseJournal(files).records, [], ['k1'])));
  });
});

describe('one reducer: structure changes reach the PROV export', () => {
  it('exports each added, moved and removed cell as an activity on the notebook version it changed', () => {
    const page = [
      { type: 'page_start', t: T(0), page: 'p', notebook: 'n.ipynb', user: 'alice' },
      { type: 'notebook', t: T(1), cells: [['c1', 'x']] },
      { type: 'structure', t: T(2), op: 'add', cell: 'c2', from: null, to: 1 },
      {
        type: 'notebook',
        t: T(2),
        cells: [
          ['c1', 'x'],
          ['c2', 'y']
        ]
      },
      { type: 'structure', t: T(3), op: 'move', cell: 'c2', from: 1, to: 0 },
      { type: 'structure', t: T(4), op: 'remove', cell: 'c1', from: 1, to: null }
    ];
    const parsed = parseJournal([{ name: 'f-p-0000.jsonl', text: lines(page) }]);
    const doc = buildProvDocument(buildSession(parsed.records, parsed.warnings), { notebook: 'n.ipynb', nbprovVersion: '0' });
    const changes = Object.entries(doc.activity ?? {}).filter(([id]) => id.startsWith('nbprov:structure.'));
    expect(changes.map(([id, a]) => [id, a['nbprov:op'], a['nbprov:cell'], a['nbprov:from'], a['nbprov:to']])).toEqual([
      ['nbprov:structure.1', 'add', 'c2', undefined, 1],
      ['nbprov:structure.2', 'move', 'c2', 1, 0],
      ['nbprov:structure.3', 'remove', 'c1', 1, undefined]
    ]);
    const used = Object.values(doc.used ?? {}).filter(u => String(u['prov:activity']).startsWith('nbprov:structure.'));
    expect(used.map(u => [u['prov:activity'], u['prov:entity']])).toEqual([
      ['nbprov:structure.1', 'nbprov:notebook.v1'], // the snapshot at its own instant is the state it made
      ['nbprov:structure.2', 'nbprov:notebook.v2'],
      ['nbprov:structure.3', 'nbprov:notebook.v2']
    ]);
  });
});

const stream = (name: string, chunks: (Uint8Array | string)[]): IJournalStream => ({
  name,
  read: async function* () {
    yield* chunks;
  }
});

async function exportOf(files: { name: string; text: string }[], notebookId: string | null = NOTEBOOK_ID): Promise<ISession> {
  const model = newSessionModel(notebookId);
  await foldJournals(model, files);
  return finalizeSession(model, []);
}

describe('one reducer: bad input', () => {
  it('reports a journal copied in from another notebook and leaves it out', async () => {
    const ours = lines(sessionRecords('s1'));
    const theirs = lines([
      kernelStart('s9', 'f'.repeat(32)),
      { type: 'run_start', t: T(2), run: '9'.repeat(32), name: 'x', experiment: 'e', exec: null, code: null, energy: false }
    ]);
    const session = await exportOf([
      { name: 'k-s1.jsonl', text: ours },
      { name: 'k-s9.jsonl', text: theirs }
    ]);
    expect(session.runs.map(run => run.id)).toEqual([A, B, C]);
    expect(session.kernelSessions.map(k => k.id)).toEqual(['s1']);
    expect(session.warnings).toEqual([
      {
        file: 'k-s9.jsonl',
        line: 1,
        reason: `file left out: it is the journal of another notebook (n.ipynb, id ${'f'.repeat(32)})`
      }
    ]);
    // Without a known identity nothing is judged foreign.
    expect((await exportOf([{ name: 'k-s9.jsonl', text: theirs }], null)).runs).toHaveLength(1);
  });

  it('leaves out every segment of a page journal copied from another notebook', async () => {
    const foreign = 'f'.repeat(32);
    const segment0 = lines([
      { type: 'page_start', t: T(0), page: 'px', notebook: 'other.ipynb', notebook_id: foreign, user: 'bob' },
      { type: 'source', t: T(1), cell: 'theirs', cell_type: 'code', sha256: 'a'.repeat(64), source: 'x' }
    ]);
    const segment1 = lines([{ type: 'structure', t: T(2), op: 'add', cell: 'theirs2', from: null, to: 1 }]);
    const ours = lines([
      { type: 'page_start', t: T(0), page: 'p1', notebook: 'n.ipynb', notebook_id: NOTEBOOK_ID, user: 'alice' },
      { type: 'structure', t: T(3), op: 'add', cell: 'mine', from: null, to: 0 }
    ]);
    const session = await exportOf([
      { name: 'f-px-0000.jsonl', text: segment0 },
      { name: 'f-px-0001.jsonl', text: segment1 },
      { name: 'f-p1-0000.jsonl', text: ours }
    ]);
    expect(session.structure.map(change => change.cell)).toEqual(['mine']);
    expect([...session.cells.keys()]).toEqual([]);
    expect(session.users).toEqual(['alice']);
    expect(session.warnings.map(w => [w.file, w.line])).toEqual([
      ['f-px-0000.jsonl', 1],
      ['f-px-0001.jsonl', 1]
    ]);
  });

  it('folds a duplicated journal file once: points, artifacts and executions are not doubled', async () => {
    const text = lines(sessionRecords('s1'));
    const once = await exportOf([{ name: 'k-s1.jsonl', text }]);
    const twice = await exportOf([
      { name: 'k-s1.jsonl', text },
      { name: 'k-s1-copy.jsonl', text }
    ]);
    expect(exportView(twice)).toEqual(exportView(once));
    expect(twice.executions).toHaveLength(once.executions.length);
    expect(twice.runs[0].artifacts).toHaveLength(1);
    expect(twice.runs[0].metrics[0].values).toHaveLength(4);
    expect(twice.warnings.map(w => w.reason)).toEqual([
      'file left out: it repeats kernel session s1, already read from k-s1-copy.jsonl'
    ]);
  });

  it('replaces bytes that are not UTF-8 with a warning naming the file and line, and keeps the record', async () => {
    const good = Buffer.from(lines([kernelStart('s1')]));
    const run = Buffer.from(
      JSON.stringify({
        type: 'run_start',
        t: T(2),
        run: A,
        name: 'caf\u00e9',
        experiment: 'e',
        exec: null,
        code: null,
        energy: false
      }) + '\n'
    );
    const broken = Buffer.from(run);
    const at = broken.indexOf(Buffer.from('caf')) + 3;
    broken[at] = 0xff; // the first byte of 'é' (0xc3 0xa9) becomes invalid
    const model = newSessionModel(null);
    await foldJournals(model, [stream('k-s1.jsonl', [good, broken])]);
    const session = finalizeSession(model, []);
    expect(session.warnings).toEqual([
      { file: 'k-s1.jsonl', line: 2, reason: 'bytes that are not UTF-8 were replaced with U+FFFD' }
    ]);
    expect(session.runs[0].name).toBe('caf\ufffd\ufffd');
  });

  it('places a crash-recovery run_end that sorts before its run_start', async () => {
    const first = lines(sessionRecords('s1').slice(0, 3)); // kernel_start, exec_start, run_start of A (never ended)
    const recovery = lines([
      kernelStart('a0'),
      { type: 'run_end', t: T(30), run: A, status: 'crashed', ename: null, evalue: null }
    ]);
    // k-a0.jsonl sorts before k-s1.jsonl: the run_end is read before the run it ends.
    const session = await exportOf([
      { name: 'k-s1.jsonl', text: first },
      { name: 'k-a0.jsonl', text: recovery }
    ]);
    expect(session.warnings).toEqual([]);
    expect(session.runs.map(run => [run.id, run.status, run.ended])).toEqual([[A, 'crashed', T(30)]]);
    // A record of a run that never started is still reported, once the last journal is read.
    const orphan = await exportOf([{ name: 'k-a0.jsonl', text: recovery }]);
    expect(orphan.warnings.map(w => w.reason)).toEqual([`run_end for unknown run ${A}`]);
  });
});
