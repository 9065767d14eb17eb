import { createHash } from 'node:crypto';
import * as path from 'node:path';

import { UsageError, UserError } from '../errors';
import {
  IRecordedGit,
  IRecordedRun,
  notebookTarget,
  parseRestoreArgs,
  recordedRun,
  restoredNotebook,
  verifiedDiff
} from '../restore';

const DIFF = 'diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-lr = 0.1\n+lr = 0.01 # é\n';

function gitState(overrides: Partial<IRecordedGit> = {}): IRecordedGit {
  return {
    root: '/home/alice/project',
    commit: 'a'.repeat(40),
    remote: null,
    notebook: 'analysis/train.ipynb',
    diff: DIFF,
    diffEncoding: 'utf-8',
    diffSha256: createHash('sha256').update(DIFF, 'utf8').digest('hex'),
    diffSize: Buffer.byteLength(DIFF, 'utf8'),
    diffTruncated: false,
    untracked: [],
    ...overrides
  };
}

function sampleRun(overrides: Partial<IRecordedRun> = {}): IRecordedRun {
  return {
    run: 'f'.repeat(32),
    notebook: 'train.ipynb',
    git: gitState(),
    executions: [
      { exec: 'ab12-1', cell: 'cell-a', count: 1, source: 'import nbprov\n%load_ext nbprov' },
      { exec: 'ab12-2', cell: 'cell-b', count: 2, source: 'x = 1\r\ny = 2\n' },
      { exec: 'ab12-3', cell: 'cell-a', count: 3, source: '' }
    ],
    ...overrides
  };
}

describe('parseRestoreArgs', () => {
  it('reads the PROV file, run, destination and options in any order', () => {
    expect(parseRestoreArgs(['prov.json', '--run', 'r1', 'out', '--repo', '../src', '--notebook-only'])).toEqual({
      provPath: 'prov.json',
      run: 'r1',
      destination: 'out',
      repo: '../src',
      notebookOnly: true
    });
    expect(parseRestoreArgs(['--run=r1', 'prov.json', 'out'])).toEqual({
      provPath: 'prov.json',
      run: 'r1',
      destination: 'out',
      repo: null,
      notebookOnly: false
    });
  });

  it.each([
    [['prov.json', 'out']],
    [['prov.json', '--run']],
    [['prov.json', '--run', 'r', 'out', '--force']],
    [['a', 'b', 'c', '--run', 'r']]
  ])('refuses %j with the usage', args => {
    expect(() => parseRestoreArgs(args)).toThrow(UsageError);
    try {
      parseRestoreArgs(args);
    } catch (error) {
      expect((error as UsageError).usage).toMatch(/^usage: nbprov restore /);
    }
  });
});

describe('verifiedDiff', () => {
  it('returns the bytes of a diff that matches its hash', () => {
    expect(verifiedDiff(gitState()).toString('utf8')).toBe(DIFF);
  });

  it('decodes a base64 diff (not UTF-8) to its exact bytes', () => {
    const bytes = Buffer.from([0x2b, 0x63, 0x61, 0x66, 0xe9, 0x0a]);
    const git = gitState({
      diff: bytes.toString('base64'),
      diffEncoding: 'base64',
      diffSha256: createHash('sha256').update(bytes).digest('hex'),
      diffSize: bytes.length
    });
    expect(verifiedDiff(git).equals(bytes)).toBe(true);
  });

  it('refuses a tampered diff', () => {
    expect(() => verifiedDiff(gitState({ diff: DIFF.replace('0.01', '0.02') }))).toThrow(/does not match its SHA-256/);
  });

  it('refuses a capped diff as incomplete', () => {
    expect(() => verifiedDiff(gitState({ diffTruncated: true, diffSize: 5_000_000 }))).toThrow(/incomplete/);
  });
});

describe('notebookTarget', () => {
  const destination = path.resolve('/tmp/restore-here');

  it('puts the notebook at its recorded path in the repository', () => {
    expect(notebookTarget(destination, sampleRun())).toBe(path.join(destination, 'analysis', 'train.ipynb'));
  });

  it.each([
    '../escape.ipynb',
    'a/../../escape.ipynb',
    '/etc/escape.ipynb',
    'C:/escape.ipynb',
    'a\\..\\..\\x.ipynb',
    '.git/hooks/post-checkout',
    'a//b.ipynb',
    './a.ipynb'
  ])('refuses the recorded path %j', recorded => {
    expect(() => notebookTarget(destination, sampleRun({ git: gitState({ notebook: recorded }) }))).toThrow(
      /not a safe relative path/
    );
  });

  it('uses a harmless stem of the recorded name without git', () => {
    const target = (name: string | null): string => notebookTarget(destination, sampleRun({ git: null, notebook: name }));
    expect(target('train.ipynb')).toBe(path.join(destination, 'train.ipynb'));
    expect(target('../../etc/passwd')).toBe(path.join(destination, 'passwd.ipynb'));
    expect(target('..')).toBe(path.join(destination, 'notebook.ipynb'));
    expect(target('<img src=x>.ipynb')).toBe(path.join(destination, '_img src_x_.ipynb'));
    expect(target(null)).toBe(path.join(destination, 'notebook.ipynb'));
  });
});

describe('restoredNotebook', () => {
  const notebook = JSON.parse(restoredNotebook(sampleRun()));

  it('is nbformat 4.5 with one code cell per execution, in order', () => {
    expect([notebook.nbformat, notebook.nbformat_minor]).toEqual([4, 5]);
    expect(notebook.cells.map((cell: { execution_count: number }) => cell.execution_count)).toEqual([1, 2, 3]);
    for (const cell of notebook.cells) {
      expect(cell).toMatchObject({ cell_type: 'code', outputs: [], metadata: { nbprov: {} } });
    }
  });

  it('keeps every source exactly as executed', () => {
    const sources = notebook.cells.map((cell: { source: string[] }) => cell.source.join(''));
    expect(sources).toEqual(sampleRun().executions.map(execution => execution.source));
  });

  it('gives cells unique valid ids even when one cell ran twice', () => {
    const ids: string[] = notebook.cells.map((cell: { id: string }) => cell.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe('cell-a');
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    }
  });
});

describe('recordedRun', () => {
  it('refuses a file that is not an nbprov PROV-JSON export', () => {
    expect(() => recordedRun({ entity: {} }, 'f'.repeat(32))).toThrow(/not a PROV-JSON export/);
    expect(() => recordedRun([], 'f'.repeat(32))).toThrow(UserError);
  });

  it('refuses an unknown run and names the known ones', () => {
    const document = {
      activity: { 'nbprov:run.abc': { 'prov:type': 'provml:RunExecution', 'nbprov:run_id': 'abc', 'prov:label': 'baseline' } }
    };
    expect(() => recordedRun(document, 'nope')).toThrow(/"nope" is not in this export; its runs are: abc \(baseline\)/);
  });

  describe('finds the run by id, PROV id or unique name', () => {
    // Two runs named "tuned", one "baseline"; each started by its own cell execution.
    const run = (id: string, label: string) => ({ 'prov:type': 'provml:RunExecution', 'nbprov:run_id': id, 'prov:label': label });
    const execution = (index: number) => ({
      'prov:type': 'nbprov:CellExecution',
      'nbprov:kernel_session': 's',
      'nbprov:exec_index': index,
      'nbprov:cell': `c${index}`
    });
    const source = (code: string) => ({ 'prov:type': 'nbprov:CellSource', 'nbprov:source': code });
    const document = {
      activity: {
        'nbprov:run.r1': run('r1', 'baseline'),
        'nbprov:run.r2': run('r2', 'tuned'),
        'nbprov:run.r3': run('r3', 'tuned'),
        'nbprov:run.r4': run('r4', 'r1'),
        'nbprov:exec.s-1': execution(1),
        'nbprov:exec.s-2': execution(2),
        'nbprov:exec.s-3': execution(3)
      },
      entity: { 'nbprov:src.1': source('a = 1'), 'nbprov:src.2': source('b = 2'), 'nbprov:src.3': source('c = 3') },
      wasInformedBy: {
        '_:i1': { 'prov:informed': 'nbprov:run.r1', 'prov:informant': 'nbprov:exec.s-1' },
        '_:i2': { 'prov:informed': 'nbprov:run.r2', 'prov:informant': 'nbprov:exec.s-2' },
        '_:i3': { 'prov:informed': 'nbprov:run.r3', 'prov:informant': 'nbprov:exec.s-3' },
        '_:i4': { 'prov:informed': 'nbprov:run.r4', 'prov:informant': 'nbprov:exec.s-3' }
      },
      used: {
        '_:u1': { 'prov:activity': 'nbprov:exec.s-1', 'prov:entity': 'nbprov:src.1' },
        '_:u2': { 'prov:activity': 'nbprov:exec.s-2', 'prov:entity': 'nbprov:src.2' },
        '_:u3': { 'prov:activity': 'nbprov:exec.s-3', 'prov:entity': 'nbprov:src.3' }
      }
    };
    const sources = (selector: string) => recordedRun(document, selector).executions.map(e => e.source);

    it.each([
      ['r1', 'r1'],
      ['nbprov:run.r1', 'r1'],
      ['baseline', 'r1'],
      ['r2', 'r2'],
      ['nbprov:run.r3', 'r3']
    ])('%s gives run %s', (selector, id) => {
      expect(recordedRun(document, selector).run).toBe(id);
    });

    it('prefers an id over a run whose name is that id', () => {
      expect(sources('r1')).toEqual(['a = 1']);
    });

    it('refuses an ambiguous name and lists the candidates', () => {
      expect(() => recordedRun(document, 'tuned')).toThrow(
        '2 runs are named "tuned": r2 (tuned), r3 (tuned); give one of their ids'
      );
    });
  });
});
