import { OpenReduction, reduceSeries, visibleRange } from '../reduce';

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function noisySeries(n: number, seed: number): { xs: Float64Array; ys: Float64Array } {
  const next = random(seed);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = i;
    ys[i] = Math.exp(-i / n) + (next() - 0.5) * 0.2;
  }
  return { xs, ys };
}

describe('reduceSeries', () => {
  it('returns short series whole', () => {
    const xs = [0, 1, 2, 3];
    const ys = [4, 3, 2, 1];
    expect(Array.from(reduceSeries(xs, ys, { columns: 10 }).indices)).toEqual([0, 1, 2, 3]);
  });

  it('keeps only the last point of every column (and the first) without extremes', () => {
    const { xs, ys } = noisySeries(10_000, 3);
    const columns = 12;
    const { indices } = reduceSeries(xs, ys, { columns, extremes: false });
    const scale = columns / (xs[xs.length - 1] - xs[0]);
    const lastOfColumn = new Map<number, number>();
    for (let i = 0; i < xs.length; i++) {
      lastOfColumn.set(Math.min(columns - 1, Math.floor((xs[i] - xs[0]) * scale)), i);
    }
    expect(Array.from(indices)).toEqual([0, ...Array.from(lastOfColumn.values())]);
  });

  it('keeps min, max and last of every column and matches a brute-force reference', () => {
    const { xs, ys } = noisySeries(100_000, 7);
    const columns = 800;
    const { indices, nonFinite } = reduceSeries(xs, ys, { columns });
    expect(nonFinite).toBe(0);
    expect(indices.length).toBeLessThanOrEqual(columns * 3 + 1);

    const kept = new Set(indices);
    const scale = columns / (xs[xs.length - 1] - xs[0]);
    const byColumn = new Map<number, number[]>();
    for (let i = 0; i < xs.length; i++) {
      const c = Math.min(columns - 1, Math.floor((xs[i] - xs[0]) * scale));
      byColumn.set(c, [...(byColumn.get(c) ?? []), i]);
    }
    for (const [, members] of byColumn) {
      const values = members.map(i => ys[i]);
      const keptHere = members.filter(i => kept.has(i));
      const keptValues = keptHere.map(i => ys[i]);
      expect(Math.min(...keptValues)).toBe(Math.min(...values));
      expect(Math.max(...keptValues)).toBe(Math.max(...values));
      expect(keptHere[keptHere.length - 1]).toBe(members[members.length - 1]);
    }
    // Every kept index is a real point, ascending, no repeats.
    for (let k = 1; k < indices.length; k++) {
      expect(indices[k]).toBeGreaterThan(indices[k - 1]);
    }
  });

  it('is exact at the edges: first and last points are always kept', () => {
    const { xs, ys } = noisySeries(10_000, 3);
    ys[0] = 0.5; // neither min nor max of its column
    const { indices } = reduceSeries(xs, ys, { columns: 7 });
    expect(indices[0]).toBe(0);
    expect(indices[indices.length - 1]).toBe(9_999);
  });

  it('is deterministic', () => {
    const { xs, ys } = noisySeries(5_000, 11);
    const a = reduceSeries(xs, ys, { columns: 100 });
    const b = reduceSeries(xs, ys, { columns: 100 });
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
  });

  it('drops and counts NaN and infinite values, keeping the edge finite points', () => {
    const n = 1_000;
    const xs = Float64Array.from({ length: n }, (_, i) => i);
    const ys = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 10));
    ys[0] = NaN;
    ys[500] = Infinity;
    ys[501] = -Infinity;
    ys[n - 1] = NaN;
    const { indices, nonFinite } = reduceSeries(xs, ys, { columns: 20 });
    expect(nonFinite).toBe(4);
    expect(indices[0]).toBe(1);
    expect(indices[indices.length - 1]).toBe(n - 2);
    for (const i of indices) {
      expect(Number.isFinite(ys[i])).toBe(true);
    }
    // Also in the short-series path.
    const short = reduceSeries([0, 1, 2], [NaN, 1, Infinity], { columns: 10 });
    expect(Array.from(short.indices)).toEqual([1]);
    expect(short.nonFinite).toBe(2);
  });

  it('drops points whose x is not finite (e.g. no epoch)', () => {
    const xs = [NaN, 0, 0, 1, 1, NaN];
    const ys = [9, 1, 2, 3, 4, 5];
    const { indices, nonFinite } = reduceSeries(xs, ys, { columns: 1 });
    expect(nonFinite).toBe(2);
    expect(Array.from(indices)).toEqual([1, 4]); // first and min, then max and last
  });

  it('handles a constant x (zero-width domain) and an empty range', () => {
    const { indices } = reduceSeries([5, 5, 5, 5], [3, 1, 4, 2], { columns: 2 });
    expect(Array.from(indices)).toEqual([0, 1, 2, 3]);
    expect(reduceSeries([], [], { columns: 10 }).indices.length).toBe(0);
  });

  it('reduces a sub-range against a visible domain', () => {
    const { xs, ys } = noisySeries(10_000, 5);
    const { start, end } = visibleRange(xs, 2_000, 2_999);
    expect(start).toBe(1_999);
    expect(end).toBe(3_001);
    const { indices } = reduceSeries(xs, ys, { columns: 100, start, end, domain: [2_000, 2_999] });
    expect(indices[0]).toBe(1_999);
    expect(indices[indices.length - 1]).toBe(3_000);
    for (const i of indices) {
      expect(i).toBeGreaterThanOrEqual(start);
      expect(i).toBeLessThan(end);
    }
  });
});

describe('OpenReduction', () => {
  /** Steps that only grow (some repeated), noisy values, a few NaN: a live series' points. */
  function liveSeries(n: number, seed: number): { xs: number[]; ys: number[] } {
    const next = random(seed);
    const xs: number[] = [];
    const ys: number[] = [];
    let step = 0;
    for (let i = 0; i < n; i++) {
      step += Math.floor(next() * 3);
      xs.push(step);
      ys.push(next() < 0.01 ? NaN : Math.sin(i / 40) + next());
    }
    return { xs, ys };
  }

  /**
   * The reference: columns of the width the first `initial` points gave (the last holding their
   * largest x), numbered on past it; per column its lowest, highest and last point, and the first
   * plottable point, in series order.
   */
  function reference(xs: number[], ys: number[], initial: number, columns: number, extremes: boolean): number[] {
    const plottable = (i: number) => Number.isFinite(xs[i]) && Number.isFinite(ys[i]);
    const firstXs = xs.slice(0, initial).filter((_, i) => plottable(i));
    const lo = Math.min(...firstXs);
    const hi = Math.max(...firstXs);
    const scale = columns / (hi - lo);
    const byColumn = new Map<number, number[]>();
    for (let i = 0; i < xs.length; i++) {
      if (plottable(i)) {
        const c = Math.floor((xs[i] - lo) * scale);
        const column = xs[i] <= hi ? Math.min(columns - 1, c) : c;
        byColumn.set(column, [...(byColumn.get(column) ?? []), i]);
      }
    }
    const kept = new Set<number>();
    for (const members of byColumn.values()) {
      const lowest = members.reduce((a, b) => (ys[b] < ys[a] ? b : a));
      const highest = members.reduce((a, b) => (ys[b] > ys[a] ? b : a));
      for (const i of extremes ? [lowest, highest, members[members.length - 1]] : [members[members.length - 1]]) {
        kept.add(i);
      }
    }
    kept.add(Array.from(xs.keys()).find(plottable)!);
    return Array.from(kept).sort((a, b) => a - b);
  }

  it('keeps what reduceSeries keeps over the points it starts with', () => {
    for (const [seed, columns, extremes] of [
      [1, 12, false],
      [2, 64, true],
      [3, 800, true],
      [4, 7, true]
    ] as const) {
      const { xs, ys } = liveSeries(5000, seed);
      const open = OpenReduction.of(xs, ys, columns, extremes)!;
      const whole = reduceSeries(xs, ys, { columns, extremes });
      expect(open.indices).toEqual(Array.from(whole.indices));
      expect(open.nonFinite).toBe(whole.nonFinite);
      expect(open.xs).toEqual(open.indices.map(i => xs[i]));
      expect(open.ys).toEqual(open.indices.map(i => ys[i]));
      expect(open.columns).toBe(columns);
    }
  });

  it('reduces appended points into columns of the same width, however they arrive', () => {
    for (const extremes of [true, false]) {
      const { xs, ys } = liveSeries(6000, 9);
      const next = random(10);
      const open = OpenReduction.of(xs.slice(0, 1000), ys.slice(0, 1000), 20, extremes)!;
      // In batches of 1 to 300 points: each changes only the kept points from where it says.
      for (let from = 1000; from < xs.length;) {
        const to = Math.min(xs.length, from + 1 + Math.floor(next() * 300));
        const before = open.indices.slice();
        const changedFrom = open.extend(xs.slice(from, to), ys.slice(from, to), from);
        expect(changedFrom).toBeGreaterThanOrEqual(0);
        expect(open.indices.slice(0, changedFrom)).toEqual(before.slice(0, changedFrom));
        from = to;
      }
      expect(open.indices).toEqual(reference(xs, ys, 1000, 20, extremes));
      expect(open.xs).toEqual(open.indices.map(i => xs[i]));
      expect(open.ys).toEqual(open.indices.map(i => ys[i]));
      expect(open.nonFinite).toBe(ys.filter(y => !Number.isFinite(y)).length);
      // The grid kept its width: the columns grew with the steps.
      const width = (Math.max(...xs.slice(0, 1000)) - xs[0]) / 20;
      expect(open.columns).toBe(Math.floor((xs[xs.length - 1] - xs[0]) / width) + 1);
    }
  });

  it('refuses, changing nothing, points that go back a column', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const ys = xs.map(x => x * x);
    const open = OpenReduction.of(xs, ys, 10, true)!;
    const kept = open.indices.slice();
    expect(open.extend([200, 50], [1, 2], 100)).toBe(-1);
    // The open column holds 90–99: 90 was its lowest and 99 its highest and last.
    expect(kept.slice(-2)).toEqual([90, 99]);
    expect(open.extend([95], [1], 100)).toBe(kept.length - 2);
    // The new point is its lowest and last now.
    expect(open.indices).toEqual([...kept.slice(0, -2), 99, 100]);
    expect(open.extend([80], [1], 101)).toBe(-1);
  });

  it('is not made for points that go back, nor for a series without width', () => {
    expect(OpenReduction.of([0, 5, 1, 6], [1, 2, 3, 4], 2, true)).toBeNull();
    expect(OpenReduction.of([3, 3, 3], [1, 2, 3], 2, true)).toBeNull();
    expect(OpenReduction.of([NaN, NaN], [1, 2], 2, true)).toBeNull();
  });
});

describe('visibleRange', () => {
  it('clamps to the array', () => {
    expect(visibleRange([1, 2, 3], 0, 10)).toEqual({ start: 0, end: 3 });
    expect(visibleRange([1, 2, 3], 2, 2)).toEqual({ start: 0, end: 3 });
    expect(visibleRange([1, 2, 3, 4, 5], 3, 3)).toEqual({ start: 1, end: 4 });
  });
});
