import { OpenReduction } from '../../core/reduce';
import { MetricSeries } from '../../store';
import {
  CHART_ROW_BUDGET,
  ChartFeed,
  formatRounded,
  lineShare,
  MIN_EXTREME_COLUMNS,
  MIN_LINE_COLUMNS,
  hoverValues,
  ILine,
  lineRows,
  nearestIndex,
  ChartRows,
  drawCanvasLines,
  drawnDash,
  ICanvasLine,
  IChartPoint,
  LineContext,
  logTicks,
  MIN_LABEL_GAP_PX,
  smooth,
  WIDE_LINES_UP_TO,
  xPositions
} from '../chartdata';

function series(n: number, epochEvery = 0): MetricSeries {
  const s = new MetricSeries('loss', 1);
  const steps = Array.from({ length: n }, (_, i) => i * 10);
  const values = Array.from({ length: n }, (_, i) => Math.cos(i / 50));
  const timestamps = Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 5);
  const epochs = Array.from({ length: n }, (_, i) => (epochEvery ? Math.floor(i / epochEvery) : -1));
  s.append(steps, values, timestamps, epochs);
  return s;
}

const share = (columns: number) => ({ columns, extremes: true });

const line = (s: MetricSeries, key = 'r1/loss', style: Partial<ILine> = {}): ILine => ({
  key,
  runId: 'r1',
  label: 'run 1',
  color: '#3b81d1',
  opacity: 1,
  context: 'training',
  series: s,
  start: 1_700_000_000_000 - 2000,
  smoothing: 0,
  ...style
});

describe('xPositions', () => {
  it('reads steps, timestamps or epochs (no epoch = NaN)', () => {
    const s = series(4, 2);
    expect(Array.from(xPositions(s, 'step', 1, 3))).toEqual([10, 20]);
    expect(Array.from(xPositions(s, 'time', 0, 1))).toEqual([1_700_000_000_000]);
    expect(Array.from(xPositions(s, 'epoch', 0, 4))).toEqual([0, 0, 1, 1]);
    expect(Array.from(xPositions(series(2), 'epoch', 0, 2))).toEqual([NaN, NaN]);
  });

  it('gives seconds since the run started on the relative axis', () => {
    const s = series(3);
    expect(Array.from(xPositions(s, 'relative', 0, 3, undefined, 1_700_000_000_000 - 2000))).toEqual([2, 2.005, 2.01]);
  });
});

describe('smooth', () => {
  it('is a debiased moving average that leaves non-finite values out', () => {
    expect(Array.from(smooth([1, 2, 3], 0))).toEqual([1, 2, 3]);
    const out = smooth([4, NaN, 4, 10], 0.5);
    // Debiased: a constant start stays constant instead of rising from 0.
    expect(out[0]).toBeCloseTo(4);
    expect(out[1]).toBeNaN();
    expect(out[2]).toBeCloseTo(4);
    // The average is 0.5 * 3 + 0.5 * 10 = 6.5 after three finite values, debiased by 1 - 0.5 ** 3.
    expect(out[3]).toBeCloseTo(6.5 / 0.875);
  });
});

describe('lineRows', () => {
  it('reduces a long line and re-reads detail for a zoomed domain', () => {
    const s = series(100_000);
    const full = lineRows(line(s), 'step', share(200), null);
    expect(full.rows.length).toBeLessThanOrEqual(601);
    expect(full.rows[0].i).toBe(0);
    expect(full.rows[full.rows.length - 1].i).toBe(99_999);
    const zoomed = lineRows(line(s), 'step', share(400), [10_000, 12_000]);
    // 201 points are inside the domain: all shown, plus a neighbour on each side.
    expect(zoomed.rows.map(row => row.i)).toEqual(Array.from({ length: 203 }, (_, k) => 999 + k));
  });
});

describe('lineRows', () => {
  it('leaves values <= 0 out of a log scale and counts them apart from non-finite ones', () => {
    const s = new MetricSeries('loss', 1);
    s.append([0, 1, 2, 3], [1, 0, -2, NaN], [1, 2, 3, 4], [-1, -1, -1, -1]);
    const { rows, nonFinite, nonPositive } = lineRows(line(s), 'step', share(100), null, 'log');
    expect(rows.map(row => row.y)).toEqual([1]);
    expect(nonPositive).toBe(2);
    expect(nonFinite).toBe(1);
    expect(lineRows(line(s), 'step', share(100), null, 'linear').nonPositive).toBe(0);
  });

  it('draws smoothed values and marks the only point of a line', () => {
    const s = new MetricSeries('loss', 1);
    s.append([0, 1], [2, 4], [1, 2], [-1, -1]);
    expect(lineRows(line(s, 'k', { smoothing: 0.5 }), 'step', share(100), null).rows.map(row => row.y)).toEqual([
      2,
      (0.5 * 1 + 2) / 0.75
    ]);
    const one = new MetricSeries('loss', 1);
    one.append([5], [0.3], [1], [-1]);
    expect(lineRows(line(one), 'step', share(100), null).rows.map(row => row.solo)).toEqual([true]);
    expect(lineRows(line(s), 'step', share(100), null).rows.map(row => row.solo)).toEqual([false, false]);
  });
});

describe('ChartFeed', () => {
  it('draws a line again when its label, colour or opacity changed', () => {
    const s = series(10);
    const feed = new ChartFeed('step', 50);
    feed.update([line(s)], 'all');
    expect(feed.update([line(s)], 'all').insert).toHaveLength(0);
    const faded = feed.update([line(s, 'r1/loss', { opacity: 0.25 })], new Set());
    expect(faded.removeLines).toEqual(new Set(['r1/loss']));
    expect(faded.insert).toHaveLength(10);
    expect(faded.insert.every(row => row.opacity === 0.25)).toBe(true);
    const renamed = feed.update([line(s, 'r1/loss', { opacity: 0.25, label: 'run 1 (ab12)' })], new Set());
    expect(renamed.insert.every(row => row.label === 'run 1 (ab12)')).toBe(true);
  });

  it('redraws a one-point line when it grows, so its dot becomes a line', () => {
    const s = new MetricSeries('loss', 1);
    s.append([0], [1], [1], [-1]);
    const feed = new ChartFeed('step', 50);
    expect(feed.update([line(s)], 'all').insert.map(row => row.solo)).toEqual([true]);
    s.append([1], [2], [2], [-1]);
    const grown = feed.update([line(s)], new Set(['r1/loss']));
    expect(grown.removeLines).toEqual(new Set(['r1/loss']));
    expect(grown.insert.map(row => row.solo)).toEqual([false, false]);
  });

  it('counts values a log scale hides, also as a short line grows', () => {
    const s = new MetricSeries('loss', 1);
    s.append([0, 1, 2], [1, -1, 2], [1, 2, 3], [-1, -1, -1]);
    const feed = new ChartFeed('step', 50, 'log');
    feed.update([line(s)], 'all');
    s.append([3, 4], [0, NaN], [4, 5], [-1, -1]);
    const change = feed.update([line(s)], new Set(['r1/loss']));
    expect(change.insert).toHaveLength(0);
    expect(feed.nonPositive).toBe(2);
    expect(feed.nonFinite).toBe(1);
  });

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

describe('ChartFeed on a long line growing', () => {
  /** Appends points at steps from the series' next one on: values from `value(i)`. */
  const grow = (
    s: MetricSeries,
    n: number,
    value: (i: number) => number = i => Math.cos(i / 50),
    stepOf = (i: number) => i * 10
  ) => {
    const from = s.length;
    const indices = Array.from({ length: n }, (_, k) => from + k);
    s.append(
      indices.map(stepOf),
      indices.map(value),
      indices.map(i => 1_700_000_000_000 + i * 5),
      new Array(n).fill(-1)
    );
  };

  it('reduces only the new points, and keeps the first and the newest point drawn', () => {
    const s = series(1000);
    const feed = new ChartFeed('step', 50);
    const rows = new ChartRows();
    rows.apply(feed.update([line(s)], 'all'));
    for (let k = 0; k < 200; k++) {
      grow(s, 1);
      const change = feed.update([line(s)], new Set(['r1/loss']));
      expect(change.removeLines.size).toBe(0);
      expect(change.truncate.has('r1/loss')).toBe(true);
      // The open column's kept points, at most its lowest, highest and last.
      expect(change.insert.length).toBeLessThanOrEqual(3);
      rows.apply(change);
      const drawn = rows.canvasLines.get('r1/loss')!;
      expect(drawn.xs[0]).toBe(0);
      expect(drawn.xs[drawn.xs.length - 1]).toBe(s.step(s.length - 1));
      expect(drawn.ys[drawn.ys.length - 1]).toBe(s.value(s.length - 1));
    }
    // Drawn are exactly the points the line's reduction keeps, reduced apart from the chart.
    const drawn = rows.canvasLines.get('r1/loss')!;
    const { steps, values } = s.slice(0, s.length);
    const apart = OpenReduction.of(steps.subarray(0, 1000), values.subarray(0, 1000), 50, true)!;
    apart.extend(steps.subarray(1000), values.subarray(1000), 1000);
    expect([drawn.xs, drawn.ys]).toEqual([apart.xs, apart.ys]);
    // The series' own points, in order, within the row budget of its grown columns.
    expect(drawn.ys).toEqual(drawn.xs.map(x => s.value(x / 10)));
    expect(drawn.xs.every((x, k) => k === 0 || x > drawn.xs[k - 1])).toBe(true);
    expect(drawn.xs.length).toBeLessThanOrEqual(3 * 50 * 1.5 + 1);
  });

  it('reduces a line whole again once it grew a quarter to a half, at updates spread over a sweep', () => {
    const sweep = Array.from({ length: 200 }, (_, i) => line(series(1000), `r${i}/loss`, { runId: `r${i}` }));
    const feed = new ChartFeed('step', 800);
    feed.update(sweep, 'all');
    const reducedAt = new Map<string, number>();
    let mostAtOnce = 0;
    for (let k = 1; k <= 520; k++) {
      for (const one of sweep) {
        grow(one.series as MetricSeries, 1);
      }
      const change = feed.update(sweep, 'all');
      for (const key of change.removeLines) {
        reducedAt.set(key, reducedAt.get(key) ?? 1000 + k);
      }
      mostAtOnce = Math.max(mostAtOnce, change.removeLines.size);
    }
    expect(reducedAt.size).toBe(200);
    for (const length of reducedAt.values()) {
      expect(length).toBeGreaterThan(1250);
      expect(length).toBeLessThanOrEqual(1501);
    }
    expect(mostAtOnce).toBeLessThanOrEqual(10);
  });

  it('smooths new points on from where the average stood', () => {
    const s = series(1000);
    const smoothed = (): ILine => line(s, 'r1/loss', { smoothing: 0.8 });
    const feed = new ChartFeed('step', 50);
    feed.update([smoothed()], 'all');
    for (let k = 0; k < 50; k++) {
      grow(s, 3, i => (i % 7) - 3 + (i === 1010 ? NaN : 0));
      const change = feed.update([smoothed()], new Set(['r1/loss']));
      expect(change.removeLines.size).toBe(0);
      const expected = smooth(s.slice(0, s.length).values, 0.8);
      for (const row of change.insert) {
        expect(row.y).toBeCloseTo(expected[row.i], 12);
      }
    }
  });

  it('counts what a log scale hides among the new points as a fresh chart would', () => {
    const s = series(1000);
    const feed = new ChartFeed('step', 50, 'log');
    feed.update([line(s)], 'all');
    for (let k = 0; k < 20; k++) {
      grow(s, 5, i => [1, -1, 0, NaN, 2][i % 5]);
      expect(feed.update([line(s)], new Set(['r1/loss'])).removeLines.size).toBe(0);
    }
    const fresh = new ChartFeed('step', 50, 'log');
    fresh.update([line(s)], 'all');
    expect([feed.nonPositive, feed.nonFinite]).toEqual([fresh.nonPositive, fresh.nonFinite]);
    expect(feed.nonPositive).toBe(s.slice(0, s.length).values.filter(value => value <= 0).length);
  });

  it('reduces the line whole again when a point goes back a column, and from then on', () => {
    const s = series(1000);
    const feed = new ChartFeed('step', 50);
    feed.update([line(s)], 'all');
    grow(s, 1, undefined, () => 5000);
    const reductions = jest.spyOn(OpenReduction, 'of');
    const change = feed.update([line(s)], new Set(['r1/loss']));
    expect(change.removeLines).toEqual(new Set(['r1/loss']));
    expect(change.truncate.size).toBe(0);
    grow(s, 1, undefined, () => 20_000);
    expect(feed.update([line(s)], new Set(['r1/loss'])).removeLines).toEqual(new Set(['r1/loss']));
    // Tried once: its stored points never stop going back.
    expect(reductions).toHaveBeenCalledTimes(1);
    reductions.mockRestore();
  });

  it('reduces a growing line whole while zoomed, and when more lines share the chart', () => {
    const s = series(1000);
    const feed = new ChartFeed('step', 50);
    feed.update([line(s)], 'all');
    feed.domain = [1000, 5000];
    feed.reset();
    feed.update([line(s)], 'all');
    grow(s, 1);
    expect(feed.update([line(s)], new Set(['r1/loss'])).removeLines).toEqual(new Set(['r1/loss']));
    feed.domain = null;
    feed.reset();
    feed.update([line(s)], 'all');
    grow(s, 1);
    expect(feed.update([line(s)], new Set(['r1/loss'])).truncate.has('r1/loss')).toBe(true);
    // Five more lines leave the first one a smaller share (666 of 800 columns): it is drawn again, not extended.
    const wide = new ChartFeed('step', 800);
    wide.update([line(s)], 'all');
    grow(s, 1);
    expect(wide.update([line(s)], new Set(['r1/loss'])).truncate.has('r1/loss')).toBe(true);
    const more = [line(s), ...Array.from({ length: 5 }, (_, i) => line(series(1000), `r${i + 2}/loss`))];
    expect(lineShare(800, 6).columns).toBe(666);
    const change = wide.update(more, 'all');
    expect(change.removeLines).toEqual(new Set(['r1/loss']));
    expect(change.truncate.size).toBe(0);
  });
});

describe('ChartRows', () => {
  it('keeps the lines for the canvas and gives Vega only their extent per context and the one-point lines', () => {
    const s = series(10);
    const feed = new ChartFeed('step', 50);
    const rows = new ChartRows();
    const validation = line(series(3), 'r2/val_loss');
    const first = rows.apply(feed.update([line(s), line(series(1), 'solo'), { ...validation, context: 'validation' }], 'all'));
    expect(rows.canvasLines.get('r1/loss')).toMatchObject({
      xs: Array.from({ length: 10 }, (_, i) => i * 10),
      ys: Array.from({ length: 10 }, (_, i) => Math.cos(i / 50))
    });
    expect(first.filter(row => row.solo)).toMatchObject([{ key: 'solo', x: 0 }]);
    // Two invisible rows per context at the corners of every canvas point's extent.
    const frame = first.filter(row => row.frame);
    expect(frame.map(row => [row.context, row.x, row.y, row.opacity])).toEqual([
      ['training', 0, Math.cos(9 / 50), 0],
      ['training', 90, 1, 0],
      ['validation', 0, Math.cos(9 / 50), 0],
      ['validation', 90, 1, 0]
    ]);
    expect(rows.points).toBe(14);

    // New points continue the line; a line that went away leaves the canvas and the rows.
    s.append([100, 110], [0.5, 0.25], [1, 2], [-1, -1]);
    const second = rows.apply(feed.update([line(s)], new Set(['r1/loss'])));
    expect(rows.canvasLines.get('r1/loss')!.xs.slice(-3)).toEqual([90, 100, 110]);
    expect(Array.from(rows.canvasLines.keys())).toEqual(['r1/loss']);
    expect(second.filter(row => row.solo)).toEqual([]);
    expect(second.filter(row => row.frame).map(row => [row.x, row.y])).toEqual([
      [0, 0.25],
      [110, 1]
    ]);
    expect(rows.points).toBe(12);

    // Redrawn whole (re-reduced): the line starts again from its first point.
    s.append(
      Array.from({ length: 100 }, (_, i) => 120 + i),
      new Array(100).fill(1),
      new Array(100).fill(3),
      new Array(100).fill(-1)
    );
    rows.apply(feed.update([line(s)], new Set(['r1/loss'])));
    const redrawn = rows.canvasLines.get('r1/loss')!;
    expect(redrawn.xs[0]).toBe(0);
    expect(redrawn.xs.every((x, i) => i === 0 || x > redrawn.xs[i - 1])).toBe(true);
    expect(redrawn.xs).toHaveLength(rows.points);
  });
});

describe('drawCanvasLines', () => {
  it('strokes each line through the scales with its style and dash, faded lines first', () => {
    const calls: string[] = [];
    const context = {
      set strokeStyle(value: string) {
        calls.push(`style ${value}`);
      },
      set globalAlpha(value: number) {
        calls.push(`alpha ${value}`);
      },
      set lineWidth(value: number) {
        calls.push(`width ${value}`);
      },
      beginPath: () => calls.push('begin'),
      moveTo: (x: number, y: number) => calls.push(`move ${x} ${y}`),
      lineTo: (x: number, y: number) => calls.push(`line ${x} ${y}`),
      stroke: () => calls.push('stroke'),
      setLineDash: (dash: number[]) => calls.push(`dash ${dash.join(',')}`)
    } as unknown as LineContext;
    const lines: ICanvasLine[] = [
      { color: '#111', opacity: 1, context: 'training', xs: [0, 1], ys: [10, 20] },
      { color: '#222', opacity: 0.25, context: 'validation', xs: [0, 2, 4], ys: [5, 5, 0] }
    ];
    drawCanvasLines(
      context,
      lines,
      x => x * 100,
      y => 200 - y,
      name => (name === 'validation' ? [4, 2] : [])
    );
    expect(calls).toEqual([
      'width 2',
      'begin',
      'style #222',
      'alpha 0.25',
      'dash 4,2',
      'move 0 195',
      'line 200 195',
      'line 400 200',
      'stroke',
      'begin',
      'style #111',
      'alpha 1',
      'dash ',
      'move 0 190',
      'line 100 180',
      'stroke',
      'alpha 1',
      'dash '
    ]);
  });

  it('draws a pattern without gaps as a solid line, and keeps real dashes', () => {
    expect(drawnDash([1, 0])).toEqual([]);
    expect(drawnDash([])).toEqual([]);
    expect(drawnDash([4, 0, 2, 0])).toEqual([]);
    expect(drawnDash([4, 2])).toEqual([4, 2]);
    expect(drawnDash([1, 0, 3, 1])).toEqual([1, 0, 3, 1]);
    // An odd-length pattern repeats itself: [4] is 4 on, 4 off.
    expect(drawnDash([4])).toEqual([4]);
  });

  it('draws a sweep of more than WIDE_LINES_UP_TO lines 1 px wide', () => {
    const widths: number[] = [];
    const context = {
      set lineWidth(value: number) {
        widths.push(value);
      },
      beginPath() {},
      moveTo() {},
      lineTo() {},
      stroke() {},
      setLineDash() {}
    } as unknown as LineContext;
    const sweep = (n: number): ICanvasLine[] =>
      Array.from({ length: n }, () => ({ color: '#111', opacity: 1, context: '', xs: [0, 1], ys: [0, 1] }));
    drawCanvasLines(
      context,
      sweep(WIDE_LINES_UP_TO),
      x => x,
      y => y,
      () => []
    );
    drawCanvasLines(
      context,
      sweep(WIDE_LINES_UP_TO + 1),
      x => x,
      y => y,
      () => []
    );
    expect(widths).toEqual([2, 1]);
  });
});

/** A series of these steps and values (timestamps 1 s apart from 0). */
function points(steps: number[], values: number[]): MetricSeries {
  const s = new MetricSeries('loss', null);
  s.append(
    steps,
    values,
    steps.map((_, i) => i * 1000),
    steps.map(() => -1)
  );
  return s;
}

describe('the tooltip at a hovered x', () => {
  const run = (id: string, s: MetricSeries, style: Partial<ILine> = {}): ILine =>
    line(s, `${id}/loss`, { runId: id, label: id, context: '', start: 0, ...style });

  it('finds the nearest point by binary search, ties to the earlier, and scans epochs', () => {
    const s = points([0, 10, 20, 30], [1, 2, 3, 4]);
    expect([-5, 4, 5, 6, 29, 99].map(x => nearestIndex(run('a', s), 'step', x))).toEqual([0, 0, 0, 1, 3, 3]);
    expect(nearestIndex(run('a', s), 'relative', 1.6)).toBe(2);
    expect(nearestIndex(run('a', series(6, 2)), 'epoch', 1.2)).toBe(2);
    expect(nearestIndex(run('a', series(3)), 'epoch', 1)).toBe(-1); // no epochs logged
    expect(nearestIndex(run('a', points([], [])), 'step', 1)).toBe(-1);
  });

  it("lists every run's value at its own nearest step, largest first, snapped to the nearest point", () => {
    // Runs logged at different steps: a every 10, b every 7, c ended at step 20.
    const lines = [
      run('a', points([0, 10, 20, 30, 40], [5, 4, 3, 2, 1])),
      run('b', points([0, 7, 14, 21, 28, 35, 42], [9, 8, 7, 6, 5, 4, 3])),
      run('c', points([0, 10, 20], [0.5, 0.25, 0.125]))
    ];
    // c's last point (step 20) lies within the tolerance (3 steps) of 22.
    const hover = hoverValues(lines, 'step', 22, 3, new Set(), 8);
    expect(hover.entries.map(entry => [entry.label, entry.x, entry.value])).toEqual([
      ['b', 21, 6],
      ['a', 20, 3],
      ['c', 20, 0.125]
    ]);
    expect(hover.x).toBe(21);
    expect(hover.more).toBe(0);
    // Past c's last step (beyond the tolerance), c is not listed.
    expect(hoverValues(lines, 'step', 33, 3, new Set(), 8).entries.map(entry => entry.label)).toEqual(['b', 'a']);
  });

  it('caps the list like the legends: the selected first, then N more', () => {
    const lines = Array.from({ length: 12 }, (_, i) => run(`r${i}`, points([0, 1], [i, i])));
    const hover = hoverValues(lines, 'step', 1, 0.5, new Set(['r0', 'r1']), 4);
    expect(hover.entries.map(entry => entry.label)).toEqual(['r1', 'r0', 'r11', 'r10']);
    expect(hover.more).toBe(8);
    const many = hoverValues(lines, 'step', 1, 0.5, new Set(lines.map(one => one.runId).slice(0, 6)), 4);
    expect(many.entries).toHaveLength(6);
    expect(many.more).toBe(6);
  });

  it('shows the smoothed value under smoothing, the context, and skips non-finite points', () => {
    const s = points([0, 1, 2], [4, NaN, 10]);
    const raw = run('a', s, { context: 'training' });
    const smoothed = { ...raw, key: 'a/loss~smoothed', smoothing: 0.5 };
    const hover = hoverValues([raw, smoothed], 'step', 2, 0.5, new Set(), 8);
    expect(hover.entries).toHaveLength(1);
    expect(hover.entries[0].label).toBe('a · training');
    expect(hover.entries[0].value).toBeCloseTo(smooth([4, NaN, 10], 0.5)[2], 12);
    expect(hoverValues([raw], 'step', 1, 0.5, new Set(), 8).entries).toHaveLength(0);
  });

  it('rounds as .5~g does', () => {
    expect([2.47371992504, 0.1, 100, 123456789, 0.000012345678, -3.5, 0, NaN].map(formatRounded)).toEqual([
      '2.4737',
      '0.1',
      '100',
      '1.2346e+8',
      '0.000012346',
      '-3.5',
      '0',
      'NaN'
    ]);
  });
});

describe('the row budget of a chart of many lines', () => {
  const lines = (n: number, points: number) =>
    Array.from({ length: n }, (_, i) => line(series(points), `r${i}/loss`, { runId: `r${i}`, label: `r${i}` }));

  it('shares the budget between lines, never below the minimum nor above the width', () => {
    expect(lineShare(800, 1)).toEqual({ columns: 800, extremes: true });
    expect(lineShare(40, 1)).toEqual({ columns: 40, extremes: true });
    // Each column's extremes while a line keeps enough columns, then one point a column.
    expect(lineShare(800, 20)).toEqual({ columns: CHART_ROW_BUDGET / 60, extremes: true });
    const many = Math.floor(CHART_ROW_BUDGET / (3 * MIN_EXTREME_COLUMNS)) + 1;
    expect(lineShare(800, many - 1).extremes).toBe(true);
    expect(lineShare(800, many)).toEqual({ columns: Math.floor(CHART_ROW_BUDGET / many), extremes: false });
    expect(lineShare(800, 1000)).toEqual({ columns: CHART_ROW_BUDGET / 1000, extremes: false });
    expect(lineShare(800, 100_000)).toEqual({ columns: MIN_LINE_COLUMNS, extremes: false });
  });

  it('keeps 1,000 lines of 1,000 points within the budget, and redraws them finer when fewer are left', () => {
    const sweep = lines(1000, 1000);
    const feed = new ChartFeed('step', 800);
    const first = feed.update(sweep, 'all');
    // One point a column, plus each line's first.
    expect(first.insert.length).toBeLessThanOrEqual(CHART_ROW_BUDGET + 1000);
    expect(first.insert.length).toBeGreaterThan(1000 * lineShare(800, 1000).columns);
    // Nothing changed: nothing is drawn again, although the view asks for every line.
    const again = feed.update(sweep, 'all');
    expect(again.insert).toHaveLength(0);
    expect(again.removeLines.size).toBe(0);
    // Filtered down to ten lines: those are drawn again at their larger share, the rest removed.
    const ten = feed.update(sweep.slice(0, 10), 'all');
    expect(ten.removeLines.size).toBe(1000);
    const perLine = ten.insert.filter(row => row.key === 'r0/loss').length;
    expect(perLine).toBeGreaterThan(first.insert.filter(row => row.key === 'r0/loss').length * 10);
  });

  it('draws lines filtered out and back as a fresh chart would, without reducing them again', () => {
    const sweep = lines(1000, 1000);
    const feed = new ChartFeed('step', 800);
    feed.update(sweep, 'all');
    feed.update(sweep.slice(0, 10), 'all');
    // While filtered out, one run got a point and another a new colour.
    const grown = sweep[500].series as MetricSeries;
    grown.append([100_000], [7], [1_800_000_000_000], [-1]);
    const back = sweep.map((one, i) => (i === 600 ? { ...one, color: '#ff0000' } : one));
    const reductions = jest.spyOn(OpenReduction, 'of');
    const change = feed.update(back, 'all');
    // The ten lines still shown (at a new share), the one that grew and the one restyled.
    expect(reductions).toHaveBeenCalledTimes(12);
    reductions.mockRestore();
    const fresh = new ChartFeed('step', 800).update(back, 'all');
    const byLine = (rows: IChartPoint[]) => {
      const grouped = new Map<string, IChartPoint[]>();
      for (const row of rows) {
        grouped.set(row.key, [...(grouped.get(row.key) ?? []), row]);
      }
      return grouped;
    };
    expect(byLine(change.insert)).toEqual(byLine(fresh.insert));
    expect(byLine(change.insert).get('r500/loss')!.at(-1)).toMatchObject({ x: 100_000, y: 7 });
    expect(byLine(change.insert).get('r600/loss')![0].color).toBe('#ff0000');
    // Only the ten lines still shown were drawn before: they are removed and drawn at the new share.
    expect(change.removeLines.size).toBe(10);
  });

  it('leaves short lines alone when the share changes but still holds them whole', () => {
    const feed = new ChartFeed('step', 800);
    const few = lines(40, 5);
    feed.update(few, 'all');
    const change = feed.update(few.slice(0, 20), 'all');
    expect(change.insert).toHaveLength(0);
    expect(change.removeLines.size).toBe(20);
  });
});

describe('logTicks', () => {
  /** Pixels between consecutive ticks on a log axis of `height` px over `domain`. */
  const gaps = (ticks: number[], domain: [number, number], height: number) =>
    ticks.slice(1).map((tick, i) => (Math.log10(tick / ticks[i]) * height) / Math.log10(domain[1] / domain[0]));

  it('labels a decade and a bit with 1-2-3-5 values, none dropped in between', () => {
    // The widths screenshots' train_loss: Vega's own ticks thinned to 2, 0.9, 0.7, 0.5, 0.3.
    expect(logTicks([0.19, 2.62], 180)).toEqual([0.2, 0.3, 0.5, 1, 2]);
  });

  it('thins to sparser round values as decades get more, keeping every gap', () => {
    for (const [domain, height] of [
      [[1e-3, 10], 180],
      [[1e-6, 1e3], 180],
      [[1e-30, 1e30], 180],
      [[0.07, 3], 60],
      [[5, 5000], 400]
    ] as [[number, number], number][]) {
      const ticks = logTicks(domain, height);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks.every(tick => tick >= domain[0] && tick <= domain[1])).toBe(true);
      expect(Math.min(...gaps(ticks, domain, height))).toBeGreaterThanOrEqual(MIN_LABEL_GAP_PX);
    }
    expect(logTicks([1e-3, 10], 180)).toEqual([1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3, 10]);
    expect(logTicks([1e-6, 1e3], 180)).toEqual([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1000]);
    expect(logTicks([1e-30, 1e30], 180)).toEqual([1e-30, 1e-24, 1e-18, 1e-12, 1e-6, 1, 1e6, 1e12, 1e18, 1e24, 1e30]);
  });

  it('gives a domain inside one decade round linear steps', () => {
    expect(logTicks([2.1, 2.9], 180)).toEqual([2.2, 2.4, 2.6, 2.8]);
    expect(logTicks([0.0123, 0.0127], 180)).toEqual([0.0123, 0.0124, 0.0125, 0.0126, 0.0127]);
  });

  it('gives nothing for a domain a log scale cannot have', () => {
    expect(logTicks([0, 1], 180)).toEqual([]);
    expect(logTicks([-1, 1], 180)).toEqual([]);
    expect(logTicks([1, Infinity], 180)).toEqual([]);
    expect(logTicks([1, 10], 0)).toEqual([]);
  });

  it('gives a one-value domain its value', () => {
    expect(logTicks([3, 3], 180)).toEqual([3]);
  });

  it('ends, with few ticks, for a flat series a few units in the last place wide and for 600 decades', () => {
    // Each of these looped forever (the step's multiples past 2^53) or overflowed.
    expect(logTicks([0.3, 0.30000000000000004], 180)).toEqual([0.3]);
    expect(logTicks([1, 1.0000000000000002], 180)).toEqual([1]);
    expect(logTicks([1, 1 + 1e-14], 180)).toEqual([1]);
    const wide = logTicks([1e-300, 1e300], 180);
    expect(wide.length).toBeGreaterThanOrEqual(2);
    expect(wide.length).toBeLessThanOrEqual(11);
    expect(wide.every(tick => tick > 0)).toBe(true);
    for (const domain of [
      [1 - 1e-10, 1],
      [5e-324, 1e-323],
      [1e308, Number.MAX_VALUE]
    ] as [number, number][]) {
      const ticks = logTicks(domain, 180);
      expect(ticks.length).toBeLessThanOrEqual(100);
      expect(ticks.every(tick => tick > 0 && tick >= domain[0] * (1 - 1e-9) && tick <= domain[1] * (1 + 1e-9))).toBe(true);
    }
  });
});
