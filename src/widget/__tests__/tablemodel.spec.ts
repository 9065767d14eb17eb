import { RunStore } from '../../store';
import { IRawRecord, iso, T0, validated } from '../../__tests__/records';
import { IRun } from '../../tokens';
import {
  artifactRows,
  buildTable,
  fitColumns,
  formatDuration,
  formatTime,
  lowerIsBetter,
  MetricSummaries,
  nextSort,
  runEnergy,
  statusCell
} from '../tablemodel';
import { compareCode, compareMetrics, compareParams } from '../compare';
import { buildTimeline } from '../timeline';
import { IExecution } from '../../tokens';

function runRecords(
  id: string,
  name: string,
  options: { lr: number; loss: number[]; acc?: number[]; end?: string; energy?: (number | null)[]; exec?: string }
): IRawRecord[] {
  const records: IRawRecord[] = [
    { type: 'run_start', t: iso(0), run: id, name, experiment: 'mnist', exec: options.exec ?? null, code: null, energy: true },
    { type: 'param', t: iso(1), run: id, key: 'lr', value: options.lr, role: 'input' },
    { type: 'context_start', t: iso(2), run: id, ctx: 1, name: 'training', epoch: null, parent: null }
  ];
  const n = options.loss.length;
  const series = [
    {
      metric: 'loss',
      ctx: 1,
      steps: Array.from({ length: n }, (_, i) => i),
      values: options.loss,
      timestamps: Array.from({ length: n }, (_, i) => T0 + 10 + i),
      epochs: Array.from({ length: n }, () => -1)
    }
  ];
  if (options.acc) {
    series.push({
      metric: 'accuracy',
      ctx: 1,
      steps: options.acc.map((_, i) => i),
      values: options.acc,
      timestamps: options.acc.map((_, i) => T0 + 10 + i),
      epochs: options.acc.map(() => -1)
    });
  }
  records.push({ type: 'metrics', t: iso(3), run: id, batch: 1, series });
  for (const [index, joules] of (options.energy ?? []).entries()) {
    records.push({
      type: 'energy',
      t: iso(4),
      run: id,
      scope: 'run',
      ref: null,
      device: `gpu${index}`,
      joules,
      method: joules === null ? null : 'nvml-energy-counter',
      reason: joules === null ? 'no permission' : null,
      resolution_limited: false
    });
  }
  if (options.end) {
    records.push({ type: 'run_end', t: iso(60_000), run: id, status: options.end, ename: null, evalue: null });
  }
  return records;
}

function storeWith(...runs: IRawRecord[][]): RunStore {
  const store = new RunStore();
  store.apply('s1', validated(runs.flat()));
  return store;
}

const alpha = runRecords('a'.repeat(32), 'alpha', {
  lr: 0.1,
  loss: [1, 0.5, 0.7],
  acc: [0.5, 0.9, 0.8],
  end: 'finished',
  energy: [100, 50]
});
const beta = runRecords('b'.repeat(32), 'beta', { lr: 0.01, loss: [2, 0.2, 0.3], end: 'failed', energy: [null] });
const gamma = runRecords('c'.repeat(32), 'gamma', { lr: 0.001, loss: [NaN, 3] });

describe('buildTable', () => {
  const store = storeWith(alpha, beta, gamma);
  const now = T0 + 90_000;

  it('has fixed, param, metric (last/best) and energy columns', () => {
    const table = buildTable(store.runs.values(), new MetricSummaries(), { now });
    expect(table.columns.map(column => column.label)).toEqual([
      'Run',
      'Experiment',
      'Status',
      'Start',
      'Duration',
      'lr',
      'accuracy [training] last',
      'accuracy [training] best (max)',
      'loss [training] last',
      'loss [training] best (min)',
      'Energy'
    ]);
    const alphaRow = table.rows.find(row => row.runId === 'a'.repeat(32))!;
    const text = alphaRow.cells.map(cell => cell.text);
    expect(text[2]).toBe('finished');
    expect(text[4]).toBe('1m 00s');
    expect(text.slice(5)).toEqual(['0.1', '0.8', '0.9', '0.7', '0.5', '150 J']);
  });

  it('computes best as min for loss/error and max otherwise, skipping non-finite values', () => {
    expect(lowerIsBetter('val_loss')).toBe(true);
    expect(lowerIsBetter('Top1 Error')).toBe(true);
    expect(lowerIsBetter('accuracy')).toBe(false);
    const table = buildTable(store.runs.values(), new MetricSummaries(), { now });
    const gammaRow = table.rows.find(row => row.runId === 'c'.repeat(32))!;
    const bestLoss = table.columns.findIndex(column => column.key.startsWith('best:') && column.label.startsWith('loss'));
    expect(gammaRow.cells[bestLoss].text).toBe('3');
    // A run without the metric has an empty cell, not 0.
    const accLast = table.columns.findIndex(column => column.label === 'accuracy [training] last');
    expect(gammaRow.cells[accLast]).toEqual({ text: '', sortValue: null });
    expect(gammaRow.cells[2].text).toBe('running');
    expect(gammaRow.cells[4].text).toBe('1m 30s');
  });

  it('updates last and best when points are appended (incremental scan)', () => {
    const live = storeWith(runRecords('d'.repeat(32), 'delta', { lr: 1, loss: [5, 4] }));
    const summaries = new MetricSummaries();
    const lossBest = (): string => {
      const table = buildTable(live.runs.values(), summaries, { now });
      const index = table.columns.findIndex(column => column.label === 'loss [training] best (min)');
      return table.rows[0].cells[index].text;
    };
    expect(lossBest()).toBe('4');
    live.apply(
      's1',
      validated([
        {
          type: 'metrics',
          t: iso(5),
          run: 'd'.repeat(32),
          batch: 2,
          series: [{ metric: 'loss', ctx: 1, steps: [2], values: [1.5], timestamps: [T0 + 20], epochs: [-1] }]
        }
      ])
    );
    expect(lossBest()).toBe('1.5');
  });

  it('sorts by a column with empty cells last in both directions', () => {
    const sortBy = (column: string, descending: boolean): string[] =>
      buildTable(store.runs.values(), new MetricSummaries(), { now, sort: { column, descending } }).rows.map(
        row => row.cells[0].text
      );
    expect(sortBy('param:lr', false)).toEqual(['gamma', 'beta', 'alpha']);
    expect(sortBy('param:lr', true)).toEqual(['alpha', 'beta', 'gamma']);
    expect(sortBy('energy', false)).toEqual(['alpha', 'beta', 'gamma']);
    expect(sortBy('energy', true)).toEqual(['alpha', 'beta', 'gamma']);
    expect(sortBy('name', true)).toEqual(['gamma', 'beta', 'alpha']);
  });

  it('cycles the sort on header clicks', () => {
    const first = nextSort(null, 'name');
    expect(first).toEqual({ column: 'name', descending: false });
    const second = nextSort(first, 'name');
    expect(second).toEqual({ column: 'name', descending: true });
    expect(nextSort(second, 'name')).toBeNull();
    expect(nextSort(second, 'lr')).toEqual({ column: 'lr', descending: false });
  });

  it('filters on any cell text, case-insensitively', () => {
    const names = (filter: string): string[] =>
      buildTable(store.runs.values(), new MetricSummaries(), { now, filter }).rows.map(row => row.cells[0].text);
    expect(names('FAIL')).toEqual(['beta']);
    expect(names('0.001')).toEqual(['gamma']);
    expect(names('  ')).toHaveLength(3);
    expect(names('nothing matches')).toEqual([]);
  });
});

describe('runEnergy', () => {
  const store = storeWith(alpha, beta, gamma);
  const run = (c: string): IRun => store.runs.get(c.repeat(32))!;

  it('sums run-scope joules', () => {
    expect(runEnergy(run('a'))).toMatchObject({ text: '150 J', sortValue: 150 });
  });

  it('shows a dash with the reason when unavailable, never 0', () => {
    expect(runEnergy(run('b'))).toEqual({ text: '—', sortValue: null, title: 'gpu0: no permission' });
    expect(runEnergy(run('c'))).toEqual({ text: '—', sortValue: null, title: 'measured when the run ends' });
  });

  it('marks a partial sum and names what it leaves out', () => {
    const partial = storeWith(runRecords('e'.repeat(32), 'eps', { lr: 1, loss: [1], end: 'finished', energy: [2500, null] }));
    const cell = runEnergy(partial.runs.get('e'.repeat(32))!);
    expect(cell.text).toBe('2.5 kJ (partial)');
    expect(cell.title).toContain('not included: gpu1: no permission');
  });
});

describe('buildTable labels', () => {
  it('names each run by the label it has everywhere in the view', () => {
    const id = 'c'.repeat(32);
    const store = storeWith(runRecords(id, 'tuned', { lr: 1, loss: [1], end: 'finished' }));
    const table = buildTable(store.runs.values(), new MetricSummaries(), {
      now: 0,
      labels: new Map([[id, 'tuned (cccc)']])
    });
    expect(table.rows[0].cells[0].text).toBe('tuned (cccc)');
    expect(
      buildTable(store.runs.values(), new MetricSummaries(), { now: 0, filter: 'cccc)', labels: new Map([[id, 'tuned (cccc)']]) })
        .rows
    ).toHaveLength(1);
  });
});

describe('formatDuration', () => {
  it('formats hours, minutes and seconds', () => {
    expect(formatDuration(4_000)).toBe('4s');
    // A sweep's short runs keep their duration.
    expect(formatDuration(420)).toBe('420 ms');
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(1_250)).toBe('1.3s');
    expect(formatDuration(3_725_000)).toBe('1h 02m');
  });
});

const executions = new Map<string, IExecution>([
  ['s1-1', { id: 's1-1', cell: 'cellA', count: 1, source: 'x = 1\ntrain(lr=0.1)\n', status: 'ok', start: T0, end: T0 + 500 }],
  ['s1-2', { id: 's1-2', cell: 'cellB', count: 2, source: 'print(x)\n', status: 'error', start: T0 + 1000, end: T0 + 1100 }],
  ['s1-3', { id: 's1-3', cell: 'cellA', count: 3, source: 'x = 1\ntrain(lr=0.01)\n', status: 'ok', start: T0 + 2000, end: null }],
  [
    's1-4',
    {
      id: 's1-4',
      cell: 'cellA',
      count: 4,
      source: 'x = 1\ntrain(lr=0.01)\n',
      status: 'interrupted',
      start: T0 + 3000,
      end: T0 + 3001
    }
  ]
]);

describe('comparison', () => {
  const store = storeWith(
    runRecords('a'.repeat(32), 'alpha', { lr: 0.1, loss: [1], exec: 's1-1' }),
    runRecords('b'.repeat(32), 'beta', { lr: 0.01, loss: [1], exec: 's1-3' }),
    runRecords('c'.repeat(32), 'gamma', { lr: 0.1, loss: [1] })
  );
  store.apply('s1', validated([{ type: 'param', t: iso(9), run: 'a'.repeat(32), key: 'seed', value: 1, role: 'input' }]));
  store.apply('s1', validated([{ type: 'param', t: iso(9), run: 'b'.repeat(32), key: 'seed', value: 1, role: 'input' }]));
  const [a, b, c] = ['a', 'b', 'c'].map(ch => store.runs.get(ch.repeat(32))!);

  it('lists differing params first', () => {
    expect(compareParams([a, b], 'input')).toEqual([
      { key: 'lr', values: ['0.1', '0.01'], differs: true },
      { key: 'seed', values: ['1', '1'], differs: false }
    ]);
    expect(compareParams([a, c], 'input')[0]).toEqual({ key: 'seed', values: ['1', ''], differs: true });
    expect(compareParams([a, b], 'output')).toEqual([]);
  });

  it('keeps an output apart from the input of the same key', () => {
    const outputs = storeWith(runRecords('d'.repeat(32), 'delta', { lr: 0.1, loss: [1] }));
    outputs.apply(
      's1',
      validated([{ type: 'param', t: iso(9), run: 'd'.repeat(32), key: 'threshold', value: 0.7, role: 'output' }])
    );
    const d = outputs.runs.get('d'.repeat(32))!;
    expect(compareParams([a, d], 'output')).toEqual([{ key: 'threshold', values: ['', '0.7'], differs: true }]);
    expect(compareParams([a, d], 'input').map(row => row.key)).toEqual(['seed', 'lr']);
  });

  it('compares the last, smallest and largest value of each metric', () => {
    const metrics = storeWith(
      runRecords('e'.repeat(32), 'eps', { lr: 0.1, loss: [3, 1, 2] }),
      runRecords('f'.repeat(32), 'phi', { lr: 0.1, loss: [3, 1, 2], acc: [0.5] })
    );
    const [e, f] = ['e', 'f'].map(ch => metrics.runs.get(ch.repeat(32))!);
    const rows = compareMetrics([e, f], new MetricSummaries());
    expect(rows.map(row => [row.key, ...row.values, row.differs])).toEqual([
      ['accuracy [training] (last)', '', '0.5', true],
      ['accuracy [training] (min)', '', '0.5', true],
      ['accuracy [training] (max)', '', '0.5', true],
      ['loss [training] (last)', '2', '2', false],
      ['loss [training] (min)', '1', '1', false],
      ['loss [training] (max)', '3', '3', false]
    ]);
  });

  it('diffs the cell sources that ran the runs', () => {
    const [ab, ac] = compareCode([a, b, c], executions);
    expect(ab.missing).toBeNull();
    expect(ab.hunks).toHaveLength(1);
    expect(ab.hunks[0].lines.filter(line => line.kind !== 'context').map(line => `${line.kind}:${line.text}`)).toEqual([
      'removed:train(lr=0.1)',
      'added:train(lr=0.01)'
    ]);
    expect(ac.missing).toBe('no cell execution recorded for run gamma');
  });
});

describe('buildTimeline', () => {
  it('orders executions, numbers source versions per cell and diffs against the previous one', () => {
    const store = storeWith(runRecords('b'.repeat(32), 'beta', { lr: 0.01, loss: [1], exec: 's1-3' }));
    const timeline = buildTimeline(executions, store.runs.values());
    expect(timeline.map(entry => [entry.execution.id, entry.version, entry.duration])).toEqual([
      ['s1-1', 1, 500],
      ['s1-2', 1, 100],
      ['s1-3', 2, null],
      ['s1-4', 2, 1]
    ]);
    expect(timeline[0].changes).toBeNull();
    expect(timeline[2].changes).toHaveLength(1);
    expect(timeline[3].changes).toEqual([]);
    expect(timeline[2].runIds).toEqual(['b'.repeat(32)]);
  });
});

describe('formatTime', () => {
  it('writes local times in one fixed width, zero-padded', () => {
    expect(formatTime(new Date(2025, 0, 2, 3, 4, 5).getTime())).toBe('2025-01-02 03:04:05');
    expect(formatTime(new Date(2025, 11, 31, 23, 59, 59).getTime())).toBe('2025-12-31 23:59:59');
  });
});

describe('statusCell', () => {
  it('says how many points a failing disk lost and why, summed over gap records', () => {
    const id = 'd'.repeat(32);
    const records = runRecords(id, 'delta', { lr: 0.1, loss: [1], end: 'finished' });
    records.push(
      { type: 'gap', t: iso(5), run: id, records: 1, points: 65536, reason: 'ENOSPC: No space left on device' },
      { type: 'gap', t: iso(6), run: id, records: 1, points: 4, reason: 'ENOSPC: No space left on device' }
    );
    const run = storeWith(records).runs.get(id)!;
    const cell = statusCell(run);
    expect(cell.text).toBe('finished · 65,540 points lost');
    expect(cell.title).toContain('ENOSPC');
    expect(statusCell(storeWith(alpha).runs.get('a'.repeat(32))!)).toEqual({
      text: 'finished',
      sortValue: 'finished',
      title: undefined
    });
  });
});

describe('nested runs', () => {
  function nested(id: string, name: string, parent: string | null, loss: number): IRawRecord[] {
    return [
      { type: 'run_start', t: iso(0), run: id, name, experiment: 'sweep', exec: null, code: null, parent },
      { type: 'param', t: iso(1), run: id, key: 'lr', value: loss, role: 'input' },
      { type: 'tag', t: iso(1), run: id, key: 'kind', value: parent ? 'trial' : 'sweep' }
    ];
  }
  const sweep = nested('1'.repeat(32), 'sweep', null, 0);
  const trialB = nested('b'.repeat(32), 'trial-b', '1'.repeat(32), 0.2);
  const trialA = nested('a'.repeat(32), 'trial-a', '1'.repeat(32), 0.1);
  const lone = nested('2'.repeat(32), 'alone', null, 0.5);
  const grandchild = nested('3'.repeat(32), 'inner', 'a'.repeat(32), 0.3);

  function shown(store: RunStore, options: { filter?: string; sort?: { column: string; descending: boolean } }) {
    const table = buildTable(store.runs.values(), new MetricSummaries(), { now: T0, ...options });
    return table.rows.map(row => [row.cells[0].text, row.depth, row.children]);
  }

  it('puts children right below their parent, in the sort order among siblings', () => {
    const store = storeWith(trialB, lone, sweep, trialA, grandchild);
    expect(shown(store, { sort: { column: 'name', descending: false } })).toEqual([
      ['alone', 0, 0],
      ['sweep', 0, 2],
      ['trial-a', 1, 1],
      ['inner', 2, 0],
      ['trial-b', 1, 0]
    ]);
    expect(shown(store, { sort: { column: 'param:lr', descending: true } })).toEqual([
      ['alone', 0, 0],
      ['sweep', 0, 2],
      ['trial-b', 1, 0],
      ['trial-a', 1, 1],
      ['inner', 2, 0]
    ]);
  });

  it('keeps the parents of a matching child and drops what does not match', () => {
    const store = storeWith(sweep, trialA, trialB, lone, grandchild);
    expect(shown(store, { filter: 'inner' })).toEqual([
      ['sweep', 0, 1],
      ['trial-a', 1, 1],
      ['inner', 2, 0]
    ]);
    expect(shown(store, { filter: 'zzz' })).toEqual([]);
  });

  it('shows a child whose parent is unknown, and runs of a parent cycle, once at the top level', () => {
    const orphan = nested('4'.repeat(32), 'orphan', '5'.repeat(32), 1);
    const cycleA = nested('c'.repeat(32), 'cycle-a', 'd'.repeat(32), 1);
    const cycleB = nested('d'.repeat(32), 'cycle-b', 'c'.repeat(32), 2);
    const store = storeWith(orphan, cycleA, cycleB);
    const rows = shown(store, { sort: { column: 'name', descending: false } });
    expect(rows.map(row => row[0]).sort()).toEqual(['cycle-a', 'cycle-b', 'orphan']);
    expect(rows.find(row => row[0] === 'orphan')).toEqual(['orphan', 0, 0]);
  });

  it('records parents and tags in the store', () => {
    const store = storeWith(sweep, trialA);
    const trial = store.runs.get('a'.repeat(32))!;
    expect(trial.parent).toBe('1'.repeat(32));
    expect(Array.from(trial.tags)).toEqual([['kind', 'trial']]);
    expect(store.runs.get('1'.repeat(32))!.parent).toBeNull();
  });
});

describe('artifactRows', () => {
  it('lists logged and saved files of each run, sizes for people, path and hash in the title', () => {
    const id = 'f'.repeat(32);
    const store = storeWith([
      { type: 'run_start', t: iso(0), run: id, name: 'saver', experiment: 'x', exec: null, code: null },
      {
        type: 'artifact',
        t: iso(1),
        run: id,
        path: 'artifacts/ab.txt',
        name: 'notes <b>.txt',
        sha256: 'ab',
        size: 2048,
        role: 'output',
        stored: 'artifacts/ab.txt',
        media_type: 'text/plain'
      },
      { type: 'artifact', t: iso(2), run: id, path: '/data/in.csv', name: 'in.csv', sha256: 'cd', size: 12, role: 'input' }
    ]);
    const rows = artifactRows([store.runs.get(id)!], new Map());
    expect(rows).toEqual([
      { run: 'saver', name: 'notes <b>.txt', kind: 'output, text/plain', size: '2 KiB', title: 'artifacts/ab.txt\nsha256 ab' },
      { run: 'saver', name: 'in.csv', kind: 'input', size: '12 B', title: '/data/in.csv\nsha256 cd' }
    ]);
  });
});

describe('fitColumns', () => {
  const store = storeWith(alpha, beta, gamma);
  const table = buildTable(store.runs.values(), new MetricSummaries(), { now: T0 + 90_000 });
  const labels = (indices: number[], of = table) => indices.map(index => of.columns[index].label);
  const CHAR = 7;

  it('shows every column when they fit, and folds in a wide view too when they do not', () => {
    expect(fitColumns(table, 1400, CHAR)).toEqual({ shown: table.columns.map((_, i) => i), folded: [] });
    // The widths screenshots at 800 px scrolled the table sideways from the last values on.
    const id = 'e'.repeat(32);
    const params = Array.from({ length: 12 }, (_, i): IRawRecord => ({
      type: 'param',
      t: iso(1),
      run: id,
      key: `parameter_${i}`,
      value: 0.001 * i,
      role: 'input'
    }));
    const many = buildTable(
      storeWith([...runRecords(id, 'wide', { lr: 0.1, loss: [1] }), ...params]).runs.values(),
      new MetricSummaries(),
      {
        now: T0
      }
    );
    const fit = fitColumns(many, 800, CHAR);
    expect(fit.folded.length).toBeGreaterThan(0);
    expect(labels(fit.shown, many)).toEqual(expect.arrayContaining(['Run', 'Status', 'loss [training] last']));
  });

  it('keeps the name, the status, a measured energy and what fits of the last values at the side panel width', () => {
    const fit = fitColumns(table, 320, CHAR);
    expect(labels(fit.shown)).toEqual(['Run', 'Status', 'Energy']);
    expect(labels(fit.folded)).toEqual([
      'Experiment',
      'Start',
      'Duration',
      'lr',
      'accuracy [training] last',
      'accuracy [training] best (max)',
      'loss [training] last',
      'loss [training] best (min)'
    ]);
    expect(labels(fitColumns(table, 380, CHAR).shown)).toEqual(['Run', 'Status', 'accuracy [training] last', 'Energy']);
  });

  it('folds an energy column no run has a figure for first', () => {
    const unmeasured = buildTable(storeWith(beta, gamma).runs.values(), new MetricSummaries(), { now: T0 + 90_000 });
    const fit = fitColumns(unmeasured, 320, CHAR);
    expect(labels(fit.shown, unmeasured)).toEqual(['Run', 'Status', 'loss [training] last']);
    expect(labels(fitColumns(unmeasured, 1400, CHAR).shown, unmeasured)).toContain('Energy');
    for (let width = 0; width < 1400; width += 5) {
      const { shown, folded } = fitColumns(unmeasured, width, CHAR);
      const energy = unmeasured.columns.findIndex(column => column.kind === 'energy');
      // Shown only once nothing else is folded.
      expect(shown.includes(energy)).toBe(folded.length === 0);
    }
  });

  it('never folds the name or the status, however narrow', () => {
    expect(labels(fitColumns(table, 10, CHAR).shown)).toEqual(['Run', 'Status']);
    expect(labels(fitColumns(table, 320, 100).shown)).toEqual(['Run', 'Status']);
  });

  it('folds parameters after the last values and the energy, and before the bookkeeping columns', () => {
    const fit = fitColumns(table, 470, CHAR);
    expect(labels(fit.shown)).toEqual(['Run', 'Status', 'accuracy [training] last', 'loss [training] last', 'Energy']);
    expect(labels(fit.folded)).toEqual([
      'Experiment',
      'Start',
      'Duration',
      'lr',
      'accuracy [training] best (max)',
      'loss [training] best (min)'
    ]);
    expect(labels(fitColumns(table, 540, CHAR).shown)).toEqual([
      'Run',
      'Status',
      'lr',
      'accuracy [training] last',
      'loss [training] last',
      'Energy'
    ]);
  });

  it('only adds columns as the view widens, each shown or folded exactly once', () => {
    let previous: number[] = [];
    for (let width = 0; width <= 1400; width += 5) {
      const fit = fitColumns(table, width, CHAR);
      expect([...fit.shown, ...fit.folded].sort((a, b) => a - b)).toEqual(table.columns.map((_, i) => i));
      expect(fit.shown).toEqual(expect.arrayContaining(previous));
      previous = fit.shown;
    }
  });

  it("counts the name cell's buttons, so runs with cell and graph buttons leave less room", () => {
    const without = fitColumns(table, 540, CHAR).shown;
    const buttons = new Map(table.rows.map(row => [row.runId, ['cell [12]', '⤴ graph']]));
    const withButtons = fitColumns(table, 540, CHAR, buttons).shown;
    expect(withButtons.length).toBeLessThan(without.length);
    expect(without).toEqual(expect.arrayContaining(withButtons));
  });

  it('sizes a column by its longest cell, so a long run name leaves less room', () => {
    const long = runRecords('d'.repeat(32), 'a-run-with-a-very-long-descriptive-name', { lr: 0.5, loss: [1] });
    const wide = buildTable(storeWith(alpha, long).runs.values(), new MetricSummaries(), { now: T0 });
    expect(fitColumns(wide, 320, CHAR).shown.map(index => wide.columns[index].label)).toEqual(['Run', 'Status']);
  });
});
