import { diffHunks, diffLines, unifiedDiff } from '../diff';

describe('diff', () => {
  it('renders a unified diff with 3 lines of context', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n') + '\n';
    const b = ['1', '2', '3', '4', 'five', '6', '7', '8', '9', '10', '11'].join('\n') + '\n';
    expect(unifiedDiff(a, b, 'a', 'b')).toBe(
      ['--- a', '+++ b', '@@ -2,9 +2,10 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ' 9', ' 10', '+11', ''].join('\n')
    );
  });

  it('splits distant changes into separate hunks', () => {
    const a = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const b = [...a];
    b[2] = 'x';
    b[25] = 'y';
    const hunks = diffHunks(a.join('\n'), b.join('\n'));
    expect(hunks.map(h => [h.oldStart, h.oldLines, h.newStart, h.newLines])).toEqual([
      [1, 6, 1, 6],
      [23, 7, 23, 7]
    ]);
  });

  it('handles empty sides and equal texts', () => {
    expect(unifiedDiff('same\n', 'same\n')).toBe('');
    expect(unifiedDiff('', 'a\nb\n')).toBe('--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    expect(unifiedDiff('a\n', '')).toBe('--- a\n+++ b\n@@ -1,1 +0,0 @@\n-a\n');
  });

  it('produces a minimal, replayable edit script', () => {
    const a = 'abcabba'.split('');
    const b = 'cbabac'.split('');
    const script = diffLines(a, b);
    expect(script.filter(l => l.kind !== 'context').length).toBe(5); // Myers' example: D = 5
    expect(script.filter(l => l.kind !== 'added').map(l => l.text)).toEqual(a);
    expect(script.filter(l => l.kind !== 'removed').map(l => l.text)).toEqual(b);
  });

  it('diffs 5,000-line sources, edited or rewritten whole', () => {
    const a = Array.from({ length: 5000 }, (_, i) => `line ${i} ${i % 7}`);
    const b = a.map((line, i) => (i % 50 === 0 ? line + ' changed' : line));
    const script = diffLines(a, b);
    expect(script.filter(l => l.kind === 'removed').length).toBe(100);
    expect(script.filter(l => l.kind !== 'added').map(l => l.text)).toEqual(a);
    expect(script.filter(l => l.kind !== 'removed').map(l => l.text)).toEqual(b);
    // Nothing in common but the first and last lines: the old lines removed, then the new added.
    const rewritten = [a[0], ...Array.from({ length: 4998 }, (_, i) => `other ${i}`), a[4999]];
    const whole = diffLines(a, rewritten);
    expect(whole.map(l => l.kind)).toEqual([
      'context',
      ...new Array(4998).fill('removed'),
      ...new Array(4998).fill('added'),
      'context'
    ]);
    expect(whole.filter(l => l.kind !== 'removed').map(l => l.text)).toEqual(rewritten);
  });
});
