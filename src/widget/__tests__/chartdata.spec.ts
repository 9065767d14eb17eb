import { MetricSeries } from '../../store';
import { ChartFeed, ILine, lineRows, xPositions } from '../chartdata';

function series(n: number, epochEvery = 0): MetricSeries {
  const s = new MetricSeries('loss', 1);
  const steps = Array.from({ length: n }, (_, i) => i * 10);
  const values = Array.from({ length: n }, (_, i) => Math.cos(i / 50));
  const timestamps = Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 5);
  const epochs = Array.from({ length: n }, (_, i) => (epochEvery ? Math.floor(i / epochEvery) : -1));
  s.append(steps, values, timestamps, epochs);
  return s;
}

const line = (s: MetricSeries, key = 'r1/loss'): ILine => ({ key, run: 'run 1', context: 'training', series: s });

describe('xPositions', () => {
  it('reads steps, timestamps or epochs (no epoch = NaN)', () => {
    const s = series(4, 2);
    expect(Array.from(xPositions(s, 'step', 1, 3))).toEqual([10, 20]);
    expect(Array.from(xPositions(s, 'time', 0, 1))).toEqual([1_700_000_000_000]);
    expect(Array.from(xPositions(s, 'epoch', 0, 4))).toEqual([0, 0, 1, 1]);
    expect(Array.from(xPositions(series(2), 'epoch', 0, 2))).toEqual([NaN, NaN]);
  });
});

describe('lineRows', () => {
  it('reduces a long line and re-reads detail for a zoomed domain', () => {
    const s = series(100_000);
    const full = lineRows(line(s), 'step', 200, null);
    expect(full.rows.length).toBeLessThanOrEqual(601);
    expect(full.rows[0].i).toBe(0);
    expect(full.rows[full.rows.length - 1].i).toBe(99_999);
    const zoomed = lineRows(line(s), 'step', 400, [10_000, 12_000]);
    // 201 points are inside the domain: all shown, plus a neighbour on each side.
    expect(zoomed.rows.map(row => row.i)).toEqual(Array.from({ length: 203 }, (_, k) => 999 + k));
  });
});

describe('ChartFeed', () => {
  it('inserts only new points while a line is short, then re-reduces it', () => {
    const s = series(10);
    const feed = new ChartFeed('step', 50);
    const first = feed.update([line(s)], 'all');
    expect(first.insert).toHaveLength(10);
    expect(first.removeLines.size).toBe(0);

    s.append([100, 110], [0.5, NaN], [1, 2], [-1, -1]);
    const second = feed.update([line(s)], new Set(['r1/loss']));
    expect(second.insert.map(row => row.i)).toEqual([10]);
    expect(second.removeLines.size).toBe(0);
    expect(feed.nonFinite).toBe(1);

    s.append(
      Array.from({ length: 100 }, (_, i) => 120 + i),
      new Array(100).fill(1),
      new Array(100).fill(3),
      new Array(100).fill(-1)
    );
    const third = feed.update([line(s)], new Set(['r1/loss']));
    expect(third.removeLines).toEqual(new Set(['r1/loss']));
    expect(third.insert.length).toBeLessThanOrEqual(151);
    expect(third.insert[third.insert.length - 1].i).toBe(111);
  });

  it('skips clean lines and removes lines no longer shown', () => {
    const feed = new ChartFeed('step', 50);
    feed.update([line(series(5), 'a'), line(series(5), 'b')], 'all');
    const change = feed.update([line(series(5), 'a')], new Set());
    expect(change.insert).toHaveLength(0);
    expect(change.removeLines).toEqual(new Set(['b']));
  });
});
