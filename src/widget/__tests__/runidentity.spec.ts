import { IRun, IRunParam, paramKey } from '../../tokens';
import { capLegend, colourByParam, NO_VALUE_COLOUR, PARAM_RAMP, rampColour, RUN_PALETTE, runIdentities } from '../runidentity';
import { contrast } from './wcag';

const run = (id: string, name: string, start: number) => ({ id, name, start });

describe('runIdentities', () => {
  it('labels colliding names with the shortest id prefix that tells them apart, only where they collide', () => {
    const ids = runIdentities([
      run('abcd1111', 'tuned', 1),
      run('abcd2222', 'tuned', 2),
      run('ffff0000', 'baseline', 3),
      run('99990000aaaa', '', 4)
    ]);
    expect(Array.from(ids.values(), identity => identity.label)).toEqual([
      'tuned (abcd1)',
      'tuned (abcd2)',
      'baseline',
      '99990000'
    ]);
    // At least four id characters, even when fewer would do.
    const short = runIdentities([run('a0000000', 'x', 1), run('b0000000', 'x', 2)]);
    expect(Array.from(short.values(), identity => identity.label)).toEqual(['x (a000)', 'x (b000)']);
  });

  it('recomputes labels when a new run makes a name collide', () => {
    const before = runIdentities([run('11110000', 'lr=0.1', 1)]);
    expect(before.get('11110000')!.label).toBe('lr=0.1');
    const after = runIdentities([run('11110000', 'lr=0.1', 1), run('22220000', 'lr=0.1', 2)]);
    expect(after.get('11110000')!.label).toBe('lr=0.1 (1111)');
  });

  it('gives each run one colour by start order, whatever order or subset the runs come in', () => {
    const runs = Array.from({ length: 12 }, (_, i) => run(`id${String(i).padStart(2, '0')}`, `r${i}`, 100 + i));
    const forward = runIdentities(runs);
    const backward = runIdentities([...runs].reverse());
    for (const { id } of runs) {
      expect(backward.get(id)!.color).toBe(forward.get(id)!.color);
    }
    expect(forward.get('id00')!.color).toBe(RUN_PALETTE[0]);
    expect(forward.get('id01')!.color).not.toBe(forward.get('id00')!.color);
    expect(forward.get('id10')!.color).toBe(RUN_PALETTE[0]);
  });

  it('uses a palette readable on the light and the dark theme (3:1 for graphics)', () => {
    expect(new Set(RUN_PALETTE).size).toBe(RUN_PALETTE.length);
    for (const color of RUN_PALETTE) {
      expect(contrast(color, '#ffffff')).toBeGreaterThanOrEqual(3);
      expect(contrast(color, '#212121')).toBeGreaterThanOrEqual(3);
      expect(contrast(color, '#111111')).toBeGreaterThanOrEqual(3);
    }
  });

  it('names an unnamed run by the start of its id', () => {
    const label = (name: string) => runIdentities([run('0123456789abcdef', name, 1)]).get('0123456789abcdef')!.label;
    expect(label('')).toBe('01234567');
    expect(label('named')).toBe('named');
  });
});

describe('capLegend', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  const best = new Map<string, number | null>([
    ['a', 0.5],
    ['b', 0.1],
    ['c', null],
    ['d', 0.3],
    ['e', 0.2]
  ]);

  it('names the selected runs, then the best by the metric, then says how many more', () => {
    expect(capLegend(ids, new Set(['d']), best, true, 3)).toEqual({ runIds: ['d', 'b', 'e'], more: 2 });
    expect(capLegend(ids, new Set(), best, false, 2)).toEqual({ runIds: ['a', 'd'], more: 3 });
  });

  it('always names every selected run, and counts each run once', () => {
    expect(capLegend([...ids, 'a'], new Set(ids), best, true, 2)).toEqual({ runIds: ids, more: 0 });
    expect(capLegend(['c', 'a'], new Set(), best, true, 5)).toEqual({ runIds: ['a', 'c'], more: 0 });
  });
});

describe('colourByParam', () => {
  const withParams = (id: string, params: Record<string, unknown>, role: IRunParam['role'] = 'input'): IRun =>
    ({
      id,
      // Keyed as the store keys them (`paramKey`).
      params: new Map(Object.entries(params).map(([key, value]) => [paramKey(key, role), { key, value, role }]))
    }) as unknown as IRun;

  it('puts numbers on a ramp, logarithmic when they span two decades, and greys runs without the parameter', () => {
    const runs = [
      withParams('a', { lr: 0.001 }),
      withParams('b', { lr: 0.01 }),
      withParams('c', { lr: 0.1 }),
      withParams('d', {})
    ];
    const { colors, scale } = colourByParam(runs, 'lr');
    expect(scale).toEqual({ kind: 'continuous', param: 'lr', min: 0.001, max: 0.1, log: true });
    expect(colors.get('a')).toBe(PARAM_RAMP[0]);
    expect(colors.get('b')).toBe(PARAM_RAMP[2]); // the middle of a log scale
    expect(colors.get('c')).toBe(PARAM_RAMP[PARAM_RAMP.length - 1]);
    expect(colors.get('d')).toBe(NO_VALUE_COLOUR);
    const linear = colourByParam([withParams('a', { batch: 16 }), withParams('b', { batch: 32 })], 'batch');
    expect(linear.scale).toMatchObject({ kind: 'continuous', log: false });
  });

  it('gives each distinct non-numeric value its colour, in natural order, and ignores outputs', () => {
    const runs = [withParams('a', { opt: 'sgd10' }), withParams('b', { opt: 'sgd2' }), withParams('c', { opt: 'sgd2' })];
    const { colors, scale } = colourByParam(runs, 'opt');
    expect(scale).toEqual({
      kind: 'categorical',
      param: 'opt',
      values: [
        { value: 'sgd2', color: RUN_PALETTE[0] },
        { value: 'sgd10', color: RUN_PALETTE[1] }
      ]
    });
    expect(colors.get('b')).toBe(colors.get('c'));
    expect(colourByParam([withParams('a', { lr: 1 }, 'output')], 'lr').colors.get('a')).toBe(NO_VALUE_COLOUR);
  });

  it('keeps every colour of the ramp readable on both themes', () => {
    for (let i = 0; i <= 100; i++) {
      const colour = rampColour(i / 100);
      expect(contrast(colour, '#ffffff')).toBeGreaterThanOrEqual(3);
      expect(contrast(colour, '#212121')).toBeGreaterThanOrEqual(3);
    }
  });
});
