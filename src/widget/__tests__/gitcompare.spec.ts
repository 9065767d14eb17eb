import { RunStore } from '../../store';
import { IRawRecord, iso, validated } from '../../__tests__/records';
import { IRun } from '../../tokens';
import { compareGit, gitSide, shortCommit } from '../gitcompare';

const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);
const DIFF_A = 'diff --git a/train.py b/train.py\n-lr = 0.1\n+lr = 0.01\n context\n';
const DIFF_B = 'diff --git a/train.py b/train.py\n-lr = 0.1\n+lr = 0.001\n context\n';

function git(commit: string | null, diff: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    root: '/home/u/project',
    commit,
    branch: 'main',
    remote: 'https://example.org/p.git',
    dirty: diff !== '',
    diff,
    diff_encoding: 'utf-8',
    diff_sha256: `sha-of-${diff}`,
    diff_size: diff.length,
    diff_truncated: false,
    untracked: [],
    notebook: 'nb.ipynb',
    ...extra
  };
}

function run(id: string, name: string, code: unknown): IRun {
  const store = new RunStore();
  const records: IRawRecord[] = [
    { type: 'run_start', t: iso(0), run: id, name, experiment: 'e', exec: null, code, energy: false }
  ];
  store.apply('s1', validated(records));
  return store.runs.get(id)!;
}

const code = (gitState: unknown) => ({ git: gitState, python: '3.11.7', packages: {} });

describe('compareGit', () => {
  it('diffs the uncommitted diffs of two dirty runs on the same commit', () => {
    const a = run('a'.repeat(32), 'alpha', code(git(C1, DIFF_A, { untracked: ['data/', 'notes.txt'] })));
    const b = run('b'.repeat(32), 'beta', code(git(C1, DIFF_B, { untracked: ['data/', 'new.py'] })));
    const result = compareGit(a, b);
    expect(result.missing).toBeNull();
    expect(result.sameCommit).toBe(true);
    expect(result.range).toBeNull();
    expect(result.base!.dirty).toBe(true);
    expect(result.other!.dirty).toBe(true);
    const changed = result.diffChanges.flatMap(hunk => hunk.lines.filter(line => line.kind !== 'context'));
    expect(changed).toEqual([
      { kind: 'removed', text: '+lr = 0.01' },
      { kind: 'added', text: '+lr = 0.001' }
    ]);
    expect(result.untrackedAdded).toEqual(['new.py']);
    expect(result.untrackedRemoved).toEqual(['notes.txt']);
    expect(result.notes).toEqual([]);
    expect(result.diffsDiffer).toBe(true);
  });

  it('shows nothing to diff when the recorded diffs are identical', () => {
    const a = run('a'.repeat(32), 'alpha', code(git(C1, DIFF_A)));
    const b = run('b'.repeat(32), 'beta', code(git(C1, DIFF_A)));
    expect(compareGit(a, b).diffChanges).toEqual([]);
    expect(compareGit(a, b).diffsDiffer).toBe(false);
    const clean = run('c'.repeat(32), 'gamma', code(git(C1, '')));
    const fromClean = compareGit(clean, a);
    expect(fromClean.base!.dirty).toBe(false);
    expect(fromClean.diffChanges.flatMap(hunk => hunk.lines).every(line => line.kind === 'added')).toBe(true);
  });

  it('gives the commit range when the commits differ', () => {
    const a = run('a'.repeat(32), 'alpha', code(git(C1, DIFF_A)));
    const b = run('b'.repeat(32), 'beta', code(git(C2, '')));
    const result = compareGit(a, b);
    expect(result.sameCommit).toBe(false);
    expect(result.range).toBe(`${C1}..${C2}`);
    expect(result.diffChanges).toEqual([]);
    expect(result.base!.dirty).toBe(true);
    expect(result.other!.dirty).toBe(false);
    expect(shortCommit(C1)).toBe('1111111111');
    expect(shortCommit(null)).toBe('no commit yet');
  });

  it('notes binary and truncated diffs and different repositories', () => {
    const binaryA = run('a'.repeat(32), 'alpha', code(git(C1, 'AAEC', { diff_encoding: 'base64', diff_sha256: 'x' })));
    const binaryB = run('b'.repeat(32), 'beta', code(git(C1, 'AAED', { diff_encoding: 'base64', diff_sha256: 'y' })));
    const binary = compareGit(binaryA, binaryB);
    expect(binary.diffChanges).toEqual([]);
    expect(binary.diffsDiffer).toBe(true);
    expect(binary.notes[0]).toMatch(/not UTF-8/);

    const truncated = run(
      'c'.repeat(32),
      'gamma',
      code(git(C1, DIFF_B, { diff_truncated: true, remote: 'https://example.org/fork.git' }))
    );
    const result = compareGit(run('a'.repeat(32), 'alpha', code(git(C1, DIFF_A))), truncated);
    expect(result.notes).toEqual([
      'the runs were recorded in different repositories (or clones with other remotes)',
      'an uncommitted diff was truncated at 1 MiB when recorded: only the recorded part is compared'
    ]);
    expect(result.diffChanges.length).toBeGreaterThan(0);
  });

  it('says why when a run has no code state or no repository, and tolerates malformed state', () => {
    const a = run('a'.repeat(32), 'alpha', code(git(C1, DIFF_A)));
    expect(compareGit(a, run('b'.repeat(32), 'beta', null)).missing).toBe('no code state recorded for run beta');
    expect(compareGit(run('c'.repeat(32), 'gamma', code(null)), a).missing).toBe(
      'the notebook of run gamma was not in a git repository'
    );
    const odd = gitSide(run('d'.repeat(32), 'delta', code({ commit: 42, dirty: 'yes', untracked: ['ok', 7], diff: null })));
    expect(odd).toEqual(expect.objectContaining({ commit: null, dirty: false, untracked: ['ok'], diffText: '' }));
  });
});
