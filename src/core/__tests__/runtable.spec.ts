import { parseJournal } from '../reader';
import { columnKinds, formatCsv, formatTable, jsonCell, liveRow, sessionRows, tableColumns } from '../runtable';
import { buildSession } from '../session';
import { RUN, sampleJournal, series, T } from './fixtures';

const rowsOf = (extra: Record<string, unknown>[], live: string[] = []) => {
  const parsed = parseJournal(sampleJournal(extra));
  return sessionRows(buildSession(parsed.records, parsed.warnings, live), 'n.ipynb');
};

const nested = [
  { type: 'param', t: T(4), run: RUN, key: 'lr', value: 0.1, value_type: 'float', role: 'input' },
  { type: 'param', t: T(4), run: RUN, key: 'big', value: '1152921504606846977', value_type: 'int', role: 'input' },
  { type: 'param', t: T(4), run: RUN, key: 'gamma', value: 'nan', value_type: 'float', role: 'input' },
  { type: 'param', t: T(4), run: RUN, key: 'score', value: 3, value_type: 'int', role: 'output' },
  { type: 'tag', t: T(4), run: RUN, key: 'team', value: 'a,"b"' },
  { type: 'context_start', t: T(8), run: RUN, ctx: 2, name: 'batch', epoch: null, parent: 1 },
  { type: 'metrics', t: T(8), run: RUN, batch: 3, series: [series('acc', null, [0.1, NaN, 0.3]), series('g', 2, [NaN, NaN])] },
  {
    type: 'energy',
    t: T(9),
    run: RUN,
    scope: 'run',
    ref: null,
    ctx: null,
    device: 'gpu0',
    joules: 12.5,
    method: 'nvml'
  },
  {
    type: 'energy',
    t: T(9),
    run: RUN,
    scope: 'run',
    ref: null,
    ctx: null,
    device: 'cpu',
    joules: null,
    method: 'rapl',
    reason: 'no access'
  },
  { type: 'run_end', t: T(10), run: RUN, status: 'finished' }
];

describe('run rows', () => {
  it('holds the run, its cell, params by role, tags, and last/min/max per metric named by context path', () => {
    const [row] = rowsOf(nested);
    expect(row).toMatchObject({
      id: RUN,
      name: 'train',
      experiment: 'e',
      status: 'finished',
      start: T(4),
      end: T(10),
      duration: 6,
      notebook: 'n.ipynb',
      cell: 'c1',
      exec: 's1-2',
      kernel_session: 's1',
      'params.lr': 0.1,
      'params.big': 1152921504606846977n,
      'outputs.score': 3,
      'tags.team': 'a,"b"',
      'metrics.training/loss': 0.25,
      'metrics.training/loss.min': 0.25,
      'metrics.training/loss.max': 2,
      'metrics.acc': 0.3,
      'metrics.acc.min': 0.1,
      'metrics.acc.max': 0.3,
      energy: 12.5,
      'energy.reason': 'partial: cpu: no access'
    });
    expect(row['params.gamma']).toBeNaN();
    expect(row['metrics.training/batch/g']).toBeNaN();
    expect(row['metrics.training/batch/g.min']).toBeNaN(); // all NaN: no minimum, never 0
  });

  it('says why energy is missing and leaves end and duration empty while a run is open', () => {
    const [crashed] = rowsOf([]);
    expect(crashed).toMatchObject({ status: 'crashed', end: null, duration: null, energy: null });
    expect(crashed['energy.reason']).toBe('energy was not measured for this run');
    expect(rowsOf([], ['s1'])[0]).toMatchObject({ status: 'running', 'energy.reason': 'measured when the run ends' });
    // Rows built without live sessions (as cached) and made live later are the rows built live.
    expect(liveRow(crashed, new Set(['s1']))).toEqual(rowsOf([], ['s1'])[0]);
    expect(liveRow(crashed, new Set(['other']))).toBe(crashed);
    const [ended] = rowsOf([{ type: 'run_end', t: T(9), run: RUN, status: 'crashed' }]);
    expect(liveRow(ended, new Set(['s1'])).status).toBe('crashed'); // ended as crashed: stays so
  });

  it('orders columns: fixed ones, then tags, params, outputs, metrics', () => {
    const columns = tableColumns(rowsOf(nested));
    expect(columns.slice(0, 4)).toEqual(['id', 'name', 'experiment', 'status']);
    const rest = columns.slice(columns.indexOf('lost_points') + 1);
    expect(rest[0]).toBe('tags.team');
    expect(rest.filter(c => c.startsWith('params.'))).toEqual(['params.big', 'params.gamma', 'params.lr']);
    expect(rest.indexOf('outputs.score')).toBeLessThan(rest.indexOf('metrics.acc'));
  });

  it('writes exact JSON cells, kinds, CSV and a text table', () => {
    const rows = rowsOf(nested);
    const columns = tableColumns(rows);
    expect([jsonCell(1n << 60n), jsonCell(NaN), jsonCell(-Infinity), jsonCell(-0), jsonCell(0.5)]).toEqual([
      '1152921504606846976',
      'nan',
      '-inf',
      '-0.0',
      0.5
    ]);
    const kinds = columnKinds(rows, columns);
    expect(kinds).toMatchObject({
      'params.big': 'int',
      'params.gamma': 'float',
      'outputs.score': 'int',
      'metrics.acc.max': 'float',
      duration: 'float',
      'tags.team': 'string',
      parent: 'null'
    });
    expect(columnKinds([{ x: 1 }, { x: 'a' }], ['x'])).toEqual({ x: 'mixed' });
    const csv = formatCsv(rows, ['id', 'tags.team', 'params.big', 'params.gamma', 'parent']);
    expect(csv).toBe(`id,tags.team,params.big,params.gamma,parent\r\n${RUN},"a,""b""",1152921504606846977,nan,\r\n`);
    const table = formatTable([{ name: 'x\n<b>y</b>' + 'z'.repeat(60) }], ['name'], 20);
    expect(table.split('\n')[1]).toBe('x\\n<b>y</b>zzzzzzzz…');
  });
});
