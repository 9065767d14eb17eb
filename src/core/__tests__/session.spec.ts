import { parseJournal } from '../journal';
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

  it('concatenates metric batches in batch order and drops re-sent batches', () => {
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
    const session = build([], [{ type: 'run_start', t: T(9), run: '../../x', name: 'n', experiment: '', exec: null, code: null, energy: false }]);
    expect(session.runs).toHaveLength(1);
    expect(session.warnings.some(w => /run id must be 32 lowercase hex/.test(w.reason))).toBe(true);
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
