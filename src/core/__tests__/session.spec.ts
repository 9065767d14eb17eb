import { parseJournal } from '../reader';
import { buildSession } from '../session';
import { RUN, sampleJournal, T } from './fixtures';

const build = (live: string[] = [], extra: Record<string, unknown>[] = []) => {
  const parsed = parseJournal(sampleJournal(extra));
  return buildSession(parsed.records, parsed.warnings, live);
};

describe('buildSession', () => {
  it('joins kernel and frontend records of an execution and keeps frontend-only executions', () => {
    const session = build();
    expect(session.executions.map(e => [e.id, e.status, e.outputs.length])).toEqual([
      ['s1-1', 'ok', 1],
      ['s1-2', 'incomplete', 0],
      ['s1-3', 'incomplete', 0],
      ['f-mf', 'ok', 0]
    ]);
  });

  it('chains source versions, collapsing consecutive identical sources', () => {
    const session = build();
    expect(session.cells.get('c1')!.map(v => [v.version, v.source])).toEqual([
      [1, 'a = 1\n'],
      [2, 'a = 2\n']
    ]);
    expect(session.executions.map(e => e.sourceVersion)).toEqual([1, 2, 2, null]);
  });

  it('concatenates metric batches in journal order and drops re-sent batches', () => {
    const run = build().runs[0];
    expect(run.metrics).toHaveLength(1);
    expect(Array.from(run.metrics[0].values)).toEqual([2, 1, 0.5, 0.25]);
    expect(Array.from(run.metrics[0].steps)).toEqual([0n, 1n, 2n, 3n]);
  });

  it('derives run status from run_end, else from whether its kernel is live', () => {
    expect(build().runs[0].status).toBe('crashed');
    expect(build(['s1']).runs[0].status).toBe('running');
    const ended = build([], [{ type: 'run_end', t: T(9), run: RUN, status: 'failed', ename: 'E', evalue: 'v' }]);
    expect(ended.runs[0]).toMatchObject({ status: 'failed', ename: 'E', evalue: 'v' });
  });

  it('refuses run ids that are not generated hex ids, with a warning', () => {
    const session = build(
      [],
      [{ type: 'run_start', t: T(9), run: '../../x', name: 'n', experiment: '', exec: null, code: null, energy: false }]
    );
    expect(session.runs).toHaveLength(1);
    expect(session.warnings.some(w => /"run" must be 32 lowercase hex digits/.test(w.reason))).toBe(true);
  });

  it('derives notebook versions from kernel records when no frontend snapshot exists', () => {
    const kernelOnly = parseJournal(sampleJournal().filter(f => f.name.startsWith('k-')));
    const session = buildSession(kernelOnly.records, kernelOnly.warnings);
    // s1-3 re-runs the unchanged v2: no third version
    expect(session.notebookVersions.map(v => [v.version, v.derived, v.cells.length])).toEqual([
      [1, true, 1],
      [2, true, 1]
    ]);
  });
});

describe('buildSession: kernel outputs and cells that cannot be identified', () => {
  const item = (text: string) => ({
    output_type: 'stream',
    name: 'stdout',
    text,
    truncated: false,
    sha256: 'a'.repeat(64),
    size: text.length
  });

  it('fills outputs from the kernel where the page recorded none, and prefers the page otherwise', () => {
    const session = build(
      [],
      [
        // s1-1 has a page record ('hi'): the kernel's copy must not add to it.
        { type: 'kernel_output', t: T(2), exec: 's1-1', index: 0, outputs: [item('hi')], final: true },
        // s1-2: only the kernel saw it; the second record replaces item 1 and adds item 2.
        { type: 'kernel_output', t: T(3), exec: 's1-2', index: 0, outputs: [item('a'), item('b')], final: false },
        { type: 'kernel_output', t: T(4), exec: 's1-2', index: 1, outputs: [item('b2'), item('c')], final: true },
        // s1-3: the kernel died before the end of the cell.
        { type: 'kernel_output', t: T(9), exec: 's1-3', index: 0, outputs: [item('partial')], final: false }
      ]
    );
    const [first, second, third] = session.executions;
    expect([first.outputsFrom, first.outputs.map(o => o.text)]).toEqual(['page', ['hi']]);
    expect([second.outputsFrom, second.outputsComplete, second.outputs.map(o => o.text)]).toEqual([
      'kernel',
      true,
      ['a', 'b2', 'c']
    ]);
    expect([third.outputsFrom, third.outputsComplete, third.outputs.map(o => o.text)]).toEqual(['kernel', false, ['partial']]);
  });

  it('warns about kernel outputs of an unknown execution and about a record that skips items', () => {
    const session = build(
      [],
      [
        { type: 'kernel_output', t: T(9), exec: 'nope-1', index: 0, outputs: [], final: true },
        { type: 'kernel_output', t: T(9), exec: 's1-3', index: 2, outputs: [item('x')], final: true }
      ]
    );
    expect(session.warnings.map(w => w.reason)).toEqual([
      'kernel_output for unknown execution nope-1',
      'kernel_output for s1-3 skips items 0 to 1'
    ]);
  });

  it('keeps the source of an execution without a cell as its own, and never versions such sources together', () => {
    const session = build(
      [],
      [
        { type: 'exec_start', t: T(10), exec: 's1-4', msg_id: null, cell: null, count: 5, source: 'b = 1\n', cell_match: null },
        { type: 'exec_start', t: T(11), exec: 's1-5', msg_id: null, cell: null, count: 6, source: 'b = 2\n', cell_match: null },
        {
          type: 'exec_start',
          t: T(12),
          exec: 's1-6',
          msg_id: null,
          cell: 'c1',
          count: 7,
          source: 'a = 2\n',
          cell_match: 'ambiguous',
          cell_candidates: ['c1', 'c9']
        }
      ]
    );
    const byId = new Map(session.executions.map(e => [e.id, e]));
    for (const [id, source] of [
      ['s1-4', 'b = 1\n'],
      ['s1-5', 'b = 2\n']
    ]) {
      const execution = byId.get(id)!;
      expect([execution.cell, execution.cellMatch, execution.sourceVersion]).toEqual([null, null, null]);
      expect(execution.ownSource).toMatchObject({ cell: null, source });
    }
    expect([...session.cells.keys()]).toEqual(['c1']);
    expect(session.cells.get('c1')!.map(v => v.source)).toEqual(['a = 1\n', 'a = 2\n']);
    expect(byId.get('s1-6')).toMatchObject({
      cell: 'c1',
      cellMatch: 'ambiguous',
      cellCandidates: ['c1', 'c9'],
      sourceVersion: 2
    });
  });
});
