import { decideRecording, globToRegExp, optsIn, parseRecordingSettings } from '../recording';

const settings = (raw: { record?: unknown; exclude?: unknown }) => parseRecordingSettings(raw).settings;

describe('exclude globs', () => {
  it.each([
    ['**/scratch/**', 'scratch/a.ipynb', true],
    ['**/scratch/**', 'work/scratch/deep/a.ipynb', true],
    ['**/scratch/**', 'work/scratchpad/a.ipynb', false],
    ['*.tmp.ipynb', 'a/b/x.tmp.ipynb', true],
    ['*.tmp.ipynb', 'x.ipynb', false],
    ['drafts/*.ipynb', 'drafts/a.ipynb', true],
    ['drafts/*.ipynb', 'drafts/sub/a.ipynb', false],
    ['drafts/*.ipynb', 'other/drafts/a.ipynb', false],
    ['notes/[!a]*.ipynb', 'notes/b.ipynb', true],
    ['notes/[!a]*.ipynb', 'notes/a.ipynb', false],
    ['a+b(c).ipynb', 'x/a+b(c).ipynb', true],
    ['?.ipynb', 'ab.ipynb', false]
  ])('%s on %s: %s', (pattern, path, expected) => {
    expect(globToRegExp(pattern).test(path)).toBe(expected);
  });

  it.each(['', '[abc', 'a***b', 'a**b', 'x\\y', '[]'])('refuses %j with a reason', pattern => {
    expect(() => globToRegExp(pattern)).toThrow(/./);
  });

  it('keeps the valid patterns and names each invalid one', () => {
    const { settings: parsed, errors } = parseRecordingSettings({ record: 'all', exclude: ['[oops', '**/scratch/**', 3] });
    expect(parsed.exclude.map(e => e.pattern)).toEqual(['**/scratch/**']);
    expect(errors).toEqual([
      expect.stringContaining('"[oops" is not a valid glob'),
      expect.stringContaining('3 is not a string')
    ]);
  });

  it('falls back to the default for an unknown record value', () => {
    const { settings: parsed, errors } = parseRecordingSettings({ record: 'sometimes' });
    expect(parsed.record).toBe('tracked');
    expect(errors[0]).toMatch(/record must be one of all, tracked, off/);
    expect(parseRecordingSettings({}).settings.record).toBe('tracked');
  });
});

describe('decideRecording', () => {
  it('records per setting and choice; off and exclude win', () => {
    const all = settings({ record: 'all', exclude: ['**/scratch/**'] });
    const tracked = settings({ record: 'tracked' });
    const off = settings({ record: 'off' });
    expect(decideRecording(all, 'a.ipynb', null).state).toBe('recorded');
    expect(decideRecording(all, 'a.ipynb', 'paused').state).toBe('paused');
    expect(decideRecording(all, 'scratch/a.ipynb', 'on')).toEqual({
      state: 'off',
      reason: expect.stringContaining('**/scratch/**')
    });
    expect(decideRecording(tracked, 'a.ipynb', null).state).toBe('off');
    expect(decideRecording(tracked, 'a.ipynb', 'on').state).toBe('recorded');
    expect(decideRecording(tracked, 'a.ipynb', 'paused').state).toBe('paused');
    expect(decideRecording(off, 'a.ipynb', 'on').state).toBe('off');
  });
});

describe('optsIn', () => {
  it.each([
    ['%load_ext nbprov', true],
    ['  %reload_ext nbprov  # again', true],
    ['import nbprov', true],
    ['import os, nbprov', true],
    ['import numpy as np, nbprov as nb', true],
    ['from nbprov import run', true],
    ['x = 1\nimport nbprov\n', true],
    ['# import nbprov', false],
    ['print("import nbprov")', false],
    ['import nbprovx', false],
    ['%load_ext nbprovx', false],
    ['import other', false]
  ])('%j: %s', (source, expected) => {
    expect(optsIn(source)).toBe(expected);
  });
});
