import { RunStore } from '../../store';
import { IRawRecord, iso, runId, T0, validated } from '../../__tests__/records';
import { IRun } from '../../tokens';
import {
  brushBetween,
  brushedRuns,
  brushExtent,
  dimension,
  IDimension,
  MAX_CATEGORIES,
  metricAggregates,
  parameterDimensions,
  position,
  sweepMetrics,
  ticks,
  valueAt
} from '../sweepdata';
import { MetricSummaries } from '../tablemodel';

/** A run of a sweep: its input parameters, then each metric's values at steps 0, 1, ... */
function runRecords(n: number, params: Record<string, unknown>, metrics: Record<string, number[]>): IRawRecord[] {
  const run = runId(n);
  const records: IRawRecord[] = [
    { type: 'run_start', t: iso(n), run, name: `r${n}`, experiment: 'sweep', exec: null, code: null, energy: false }
  ];
  for (const [key, value] of Object.entries(params)) {
    records.push({ type: 'param', t: iso(n + 1), run, key, value, role: 'input' });
  }
  records.push({ type: 'param', t: iso(n + 1), run, key: 'accuracy_out', value: 0.5, role: 'output' });
  const series = Object.entries(metrics).map(([metric, values]) => ({
    metric,
    ctx: null,
    steps: values.map((_, i) => i),
    values,
    timestamps: values.map((_, i) => T0 + 10 + i),
    epochs: values.map(() => -1)
  }));
  if (series.length) {
    records.push({ type: 'metrics', t: iso(n + 2), run, batch: 1, series });
  }
  return records;
}

function runsOf(...records: IRawRecord[][]): IRun[] {
  const store = new RunStore();
  store.apply('s1', validated(records.flat()));
  return Array.from(store.runs.values());
}

const axis = (values: [string, number | string][]): IDimension => dimension('param:x', 'x', new Map(values))!;

describe('sweep aggregates', () => {
  const runs = runsOf(
    runRecords(1, { lr: 0.001 }, { loss: [3, 1, 2], 'power_watts[gpu0]': [50] }),
    runRecords(2, { lr: 0.1 }, { loss: [NaN, 0.5, Infinity] }),
    runRecords(3, { lr: 0.01 }, { accuracy: [0.1, 0.9] })
  );

  it('lists the metrics logged, power series left to the energy view', () => {
    expect(sweepMetrics(runs)).toEqual(['accuracy', 'loss']);
  });

  it('takes last, min and max over finite values; runs without the metric are absent', () => {
    const summaries = new MetricSummaries();
    expect(Object.fromEntries(metricAggregates(runs, 'loss', 'last', summaries))).toEqual({ [runId(1)]: 2, [runId(2)]: 0.5 });
    expect(Object.fromEntries(metricAggregates(runs, 'loss', 'min', summaries))).toEqual({ [runId(1)]: 1, [runId(2)]: 0.5 });
    expect(Object.fromEntries(metricAggregates(runs, 'loss', 'max', summaries))).toEqual({ [runId(1)]: 3, [runId(2)]: 0.5 });
    expect(metricAggregates(runs, 'missing', 'last', summaries).size).toBe(0);
  });
});

describe('sweep axes', () => {
  it('makes one axis per usable input parameter, in natural order; outputs, nulls and mixed values make none', () => {
    const runs = runsOf(
      runRecords(1, { lr: 0.001, layers: 2, opt: 'adam', nullable: null, mixed: 1, flag: true, p10: 1, p9: 1 }, {}),
      runRecords(2, { lr: 0.1, layers: 4, opt: 'sgd', nullable: 3, mixed: 'a', flag: false, p10: 2, p9: 2 }, {}),
      runRecords(3, { lr: 0.01, opt: 'adam' }, {})
    );
    const axes = parameterDimensions(runs);
    expect(axes.map(one => [one.title, one.kind])).toEqual([
      ['flag', 'point'],
      ['layers', 'linear'],
      ['lr', 'log'],
      ['opt', 'point'],
      ['p9', 'linear'],
      ['p10', 'linear']
    ]);
    const layers = axes.find(one => one.title === 'layers')!;
    expect(layers.domain).toEqual([2, 4]);
    expect(layers.values.has(runId(3))).toBe(false);
    expect(axes.find(one => one.title === 'opt')!.categories).toEqual(['adam', 'sgd']);
    expect(axes.find(one => one.title === 'flag')!.categories).toEqual(['false', 'true']);
  });

  it('leaves out text parameters with more distinct values than an axis can label', () => {
    const many = Array.from({ length: MAX_CATEGORIES + 1 }, (_, n) =>
      runRecords(n + 1, { path: `/data/${n}`, tag: n % 2 ? 'a' : 'b' }, {})
    );
    expect(parameterDimensions(runsOf(...many)).map(one => one.title)).toEqual(['tag']);
  });

  it('is logarithmic from two decades up, for positive values only', () => {
    expect(
      axis([
        ['a', 0.001],
        ['b', 0.1]
      ]).kind
    ).toBe('log');
    expect(
      axis([
        ['a', 0.002],
        ['b', 0.1]
      ]).kind
    ).toBe('linear');
    expect(
      axis([
        ['a', -1],
        ['b', 1000]
      ]).kind
    ).toBe('linear');
    expect(
      axis([
        ['a', 0],
        ['b', 1000]
      ]).kind
    ).toBe('linear');
  });

  it('places values: log positions, the middle for a single value, evenly spaced categories', () => {
    const lr = axis([
      ['a', 0.001],
      ['b', 0.01],
      ['c', 0.1]
    ]);
    expect(position(lr, 0.01)).toBeCloseTo(0.5, 12);
    expect(valueAt(lr, 0.5)).toBeCloseTo(0.01, 12);
    expect(position(lr, NaN)).toBeNull();
    const linear = axis([
      ['a', 2],
      ['b', 4]
    ]);
    expect(position(linear, 3)).toBe(0.5);
    expect(valueAt(linear, 0.25)).toBe(2.5);
    expect(position(axis([['a', 7]]), 7)).toBe(0.5);
    const opt = axis([
      ['a', 'sgd'],
      ['b', 'adam'],
      ['c', 'adamw']
    ]);
    expect(opt.categories).toEqual(['adam', 'adamw', 'sgd']);
    expect([position(opt, 'adam'), position(opt, 'adamw'), position(opt, 'sgd')]).toEqual([1 / 6, 0.5, 5 / 6]);
    expect(position(opt, 'rmsprop')).toBeNull();
  });

  it('ticks at round values, powers of ten on a log axis, every value on a point axis', () => {
    const labels = (one: IDimension, count: number) => ticks(one, count).map(tick => tick.label);
    expect(
      labels(
        axis([
          ['a', 0],
          ['b', 1]
        ]),
        5
      )
    ).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
    expect(
      labels(
        axis([
          ['a', 0.1],
          ['b', 0.7]
        ]),
        3
      )
    ).toEqual(['0.2', '0.4', '0.6']);
    expect(
      labels(
        axis([
          ['a', 0.001],
          ['b', 0.1]
        ]),
        5
      )
    ).toEqual(['0.001', '0.01', '0.1']);
    expect(
      labels(
        axis([
          ['a', 1e-6],
          ['b', 1]
        ]),
        3
      )
    ).toEqual(['1e-6', '0.001', '1']);
    expect(
      labels(
        axis([
          ['a', 0.02],
          ['b', 0.5]
        ]),
        5
      )
    ).toEqual(['0.1', '0.2', '0.3', '0.4', '0.5']);
    expect(
      labels(
        axis([
          ['a', 3],
          ['b', 3]
        ]),
        5
      )
    ).toEqual(['3']);
    expect(
      labels(
        axis([
          ['a', 'x'],
          ['b', 'y']
        ]),
        5
      )
    ).toEqual(['x', 'y']);
    for (const tick of ticks(
      axis([
        ['a', 0.03],
        ['b', 0.1]
      ]),
      4
    )) {
      expect(tick.position).toBeGreaterThanOrEqual(0);
      expect(tick.position).toBeLessThanOrEqual(1);
    }
  });
});

describe('brushing', () => {
  const runs = runsOf(
    runRecords(1, { lr: 0.001, opt: 'adam' }, { loss: [0.9] }),
    runRecords(2, { lr: 0.003, opt: 'sgd' }, { loss: [0.5] }),
    runRecords(3, { lr: 0.01, opt: 'adam' }, { loss: [0.2] }),
    runRecords(4, { lr: 0.1, opt: 'sgd' }, { loss: [0.7] }),
    runRecords(5, { opt: 'adam' }, { loss: [0.1] })
  );
  const runIds = runs.map(run => run.id);
  const axes = parameterDimensions(runs);
  const lr = axes.find(one => one.title === 'lr')!;
  const opt = axes.find(one => one.title === 'opt')!;

  it('selects the runs inside an interval of a log axis, dragged in either direction', () => {
    // 0.002 .. 0.02 on a log axis from 0.001 to 0.1: runs 2 and 3.
    const from = position(lr, 0.002)!;
    const to = position(lr, 0.02)!;
    expect(brushedRuns(runIds, axes, [brushBetween(lr, from, to)])).toEqual(new Set([runId(2), runId(3)]));
    expect(brushedRuns(runIds, axes, [brushBetween(lr, to, from)])).toEqual(new Set([runId(2), runId(3)]));
  });

  it('keeps the runs at the ends of an interval dragged past them (the ends went through a log)', () => {
    expect(brushedRuns(runIds, axes, [brushBetween(lr, -0.5, 1.5)])).toEqual(new Set([runId(1), runId(2), runId(3), runId(4)]));
    expect(brushedRuns(runIds, axes, [brushBetween(lr, 0, 1)])).toEqual(new Set([runId(1), runId(2), runId(3), runId(4)]));
  });

  it('leaves out runs without a value on a brushed axis, and narrows down across axes', () => {
    expect(brushedRuns(runIds, axes, [brushBetween(opt, 0, 0.4)])).toEqual(new Set([runId(1), runId(3), runId(5)]));
    const both = [brushBetween(opt, 0, 0.4), brushBetween(lr, position(lr, 0.005)!, 1)];
    expect(brushedRuns(runIds, axes, both)).toEqual(new Set([runId(3)]));
  });

  it('brushes the metric axis like any other, and ignores brushes on axes no longer shown', () => {
    const loss = dimension('metric', 'loss (last)', metricAggregates(runs, 'loss', 'last', new MetricSummaries()))!;
    const brush = brushBetween(loss, position(loss, 0.15)!, position(loss, 0.6)!);
    expect(brushedRuns(runIds, [loss], [brush])).toEqual(new Set([runId(2), runId(3)]));
    expect(brushedRuns(runIds, [], [brush])).toEqual(new Set(runIds));
  });

  it('draws a brush where it selects: its interval, or the span of its categories', () => {
    const brush = brushBetween(lr, 0.25, 0.75);
    const [low, high] = brushExtent(lr, brush)!;
    expect(low).toBeCloseTo(0.25, 12);
    expect(high).toBeCloseTo(0.75, 12);
    expect(brushExtent(opt, brushBetween(opt, 0.6, 0.9))).toEqual([0.5, 1]);
    expect(brushExtent(opt, brushBetween(opt, 0.3, 0.4))).toBeNull();
  });
});
