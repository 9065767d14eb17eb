import { RunStore } from '../../store';
import { IRawRecord, iso, T0, validated } from '../../__tests__/records';
import { IRun, seriesKey } from '../../tokens';
import { ILine } from '../chartdata';
import { buildTradeoff, groupOmissions, powerDevice, splitPowerLines, tradeoffMetrics } from '../energy';
import { runIdentities } from '../runidentity';
import { describeEnergyReason, missingEnergy } from '../tablemodel';
import { MetricSummaries } from '../tablemodel';

function series(metric: string, ctx: number | null, values: number[]) {
  return {
    metric,
    ctx,
    steps: values.map((_, i) => i),
    values,
    timestamps: values.map((_, i) => T0 + 1000 * i),
    epochs: values.map(() => -1)
  };
}

/** A run with a training loss, a validation accuracy, power samples and run-scope energy figures. */
function runRecords(
  id: string,
  name: string,
  options: { loss: number[]; acc?: number[]; energy: { device: string; joules: number | null; reason?: string }[]; end?: boolean }
): IRawRecord[] {
  const records: IRawRecord[] = [
    { type: 'run_start', t: iso(0), run: id, name, experiment: 'e', exec: null, code: null, energy: true },
    { type: 'context_start', t: iso(1), run: id, ctx: 1, name: 'training', epoch: null, parent: null },
    { type: 'context_start', t: iso(1), run: id, ctx: 2, name: 'validation', epoch: null, parent: null }
  ];
  const all = [series('loss', 1, options.loss), series('power_watts[gpu0]', null, [150, 160])];
  if (options.acc) {
    all.push(series('accuracy', 2, options.acc));
  }
  records.push({ type: 'metrics', t: iso(2), run: id, batch: 1, series: all });
  for (const figure of options.energy) {
    records.push({
      type: 'energy',
      t: iso(3),
      run: id,
      scope: 'run',
      ref: id,
      device: figure.device,
      joules: figure.joules,
      method: figure.joules === null ? null : 'nvml-energy-counter',
      reason: figure.reason ?? null,
      resolution_limited: false
    });
  }
  if (options.end !== false) {
    records.push({ type: 'run_end', t: iso(60_000), run: id, status: 'finished', ename: null, evalue: null });
  }
  return records;
}

function runsOf(...records: IRawRecord[][]): IRun[] {
  const store = new RunStore();
  store.apply('s1', validated(records.flat()));
  return Array.from(store.runs.values());
}

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const D = 'd'.repeat(32);

describe('powerDevice', () => {
  it('reads the device of power_watts[...] series and nothing else', () => {
    expect(powerDevice('power_watts[gpu0]')).toBe('gpu0');
    expect(powerDevice('power_watts[cpu package 0]')).toBe('cpu package 0');
    expect(powerDevice('power_watts')).toBeNull();
    expect(powerDevice('my power_watts[gpu0]')).toBeNull();
    expect(powerDevice('loss')).toBeNull();
  });
});

describe('splitPowerLines', () => {
  it('moves power series into one chart, labelled by device, keeping their keys', () => {
    const [run] = runsOf(runRecords(A, 'alpha', { loss: [1, 0.5], energy: [] }));
    const line = (metric: string, ctx: number | null, context: string): ILine => ({
      key: `${run.id}/${seriesKey(metric, ctx)}`,
      runId: run.id,
      label: 'alpha',
      color: '#3b81d1',
      opacity: 1,
      context,
      series: run.series.get(seriesKey(metric, ctx))!,
      start: run.start,
      smoothing: 0
    });
    const byMetric = new Map<string, ILine[]>([
      ['loss', [line('loss', 1, 'training')]],
      ['power_watts[gpu0]', [line('power_watts[gpu0]', null, '')]]
    ]);
    const { metrics, power } = splitPowerLines(byMetric);
    expect(Array.from(metrics.keys())).toEqual(['loss']);
    expect(power).toHaveLength(1);
    expect(power[0].context).toBe('gpu0');
    expect(power[0].key).toBe(`${A}/power_watts[gpu0]`);
    expect(power[0].series.length).toBe(2);
  });
});

describe('tradeoffMetrics', () => {
  it('lists user metrics by context, never power', () => {
    const runs = runsOf(
      runRecords(A, 'alpha', { loss: [1], acc: [0.5], energy: [] }),
      runRecords(B, 'beta', { loss: [2], energy: [] })
    );
    expect(tradeoffMetrics(runs).map(metric => metric.label)).toEqual(['accuracy [validation]', 'loss [training]']);
  });
});

describe('buildTradeoff', () => {
  const runs = runsOf(
    runRecords(A, 'alpha', { loss: [1, 0.2, 0.4], acc: [0.5, 0.9], energy: [{ device: 'gpu0', joules: 1200 }] }),
    runRecords(B, 'beta', {
      loss: [3, 1],
      energy: [
        { device: 'gpu0', joules: 300 },
        { device: 'cpu', joules: null, reason: 'RAPL not readable' }
      ]
    }),
    runRecords(C, 'gamma', { loss: [2], energy: [{ device: 'cpu', joules: null, reason: 'permission' }] }),
    runRecords(D, 'delta', { loss: [5], energy: [], end: false })
  );
  const loss = tradeoffMetrics(runs).find(metric => metric.metric === 'loss')!;
  const accuracy = tradeoffMetrics(runs).find(metric => metric.metric === 'accuracy')!;

  it('plots one point per run with energy, last or best value', () => {
    const last = buildTradeoff(runs, loss, 'last', new MetricSummaries(), runIdentities(runs));
    expect(last.points).toEqual([
      { runId: A, run: 'alpha', color: runIdentities(runs).get(A)!.color, joules: 1200, value: 0.4, partial: false },
      { runId: B, run: 'beta', color: runIdentities(runs).get(B)!.color, joules: 300, value: 1, partial: true }
    ]);
    const best = buildTradeoff(runs, loss, 'best', new MetricSummaries(), runIdentities(runs));
    expect(best.points.map(point => point.value)).toEqual([0.2, 1]);
  });

  it('lists runs without energy with their reason, never at 0 J', () => {
    const { points, omitted } = buildTradeoff(runs, loss, 'last', new MetricSummaries(), runIdentities(runs));
    expect(points.some(point => point.joules === 0)).toBe(false);
    expect(omitted).toEqual([
      { runId: C, run: 'gamma', reason: 'energy unavailable: cpu: no permission to read the energy sensors (permission)' },
      { runId: D, run: 'delta', reason: 'energy unavailable: measured when the run ends' }
    ]);
  });

  it('lists runs lacking the metric', () => {
    const { points, omitted } = buildTradeoff(runs, accuracy, 'best', new MetricSummaries(), runIdentities(runs));
    expect(points).toEqual([
      { runId: A, run: 'alpha', color: runIdentities(runs).get(A)!.color, joules: 1200, value: 0.9, partial: false }
    ]);
    expect(omitted.find(entry => entry.runId === B)!.reason).toBe('no finite value of accuracy [validation]');
  });
});

describe('groupOmissions', () => {
  it('says a reason shared by every run once, and keeps differing reasons apart', () => {
    const same = 'energy unavailable: no supported energy sensor on this machine (not_supported)';
    const groups = groupOmissions([
      { runId: A, run: 'alpha', reason: same },
      { runId: B, run: 'beta', reason: 'no finite value of loss' },
      { runId: C, run: 'gamma', reason: same }
    ]);
    expect(groups.map(group => [group.reason, group.runs.map(entry => entry.run)])).toEqual([
      [same, ['alpha', 'gamma']],
      ['no finite value of loss', ['beta']]
    ]);
  });
});

describe('missingEnergy', () => {
  it('explains reason codes, without the placeholder device of a machine with no sensor', () => {
    const [none] = runsOf(
      runRecords(A, 'alpha', { loss: [1], energy: [{ device: 'none', joules: null, reason: 'not_supported' }] })
    );
    expect(missingEnergy(none)).toBe('no supported energy sensor on this machine (not_supported)');
    const [unmeasured] = runsOf(runRecords(B, 'beta', { loss: [1], energy: [] }));
    expect(missingEnergy(unmeasured)).toBe('energy was not measured for this run');
    expect(describeEnergyReason('some_new_code')).toBe('some_new_code');
    expect(describeEnergyReason('toString')).toBe('toString');
    expect(describeEnergyReason(null)).toBe('unavailable');
  });
});
