/**
 * Code state stored once by content hash: `code_state` records named by `run_start.code_sha256`,
 * folded by the one reducer (live, reloaded, exported alike), one PROV entity per distinct state,
 * runs whose code state is not in their own file shown as unavailable, and the old inline form.
 */
import { decodeKernelMessage } from '../../comm';
import { RunStore } from '../../store';
import { compareGit, gitSide } from '../../widget/gitcompare';
import { buildProvDocument, stableStringify } from '../prov';
import { foldJournals, parseJournal } from '../reader';
import { codeStateSha256, type ICodeState } from '../records';
import { finalizeSession, type ISession, newSessionModel } from '../session';
import { sha256Hex } from '../sha256';
import { highestSeq, kernelStart, lines, T } from './fixtures';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const DIFF = `--- a/train.py\n+++ b/train.py\n${'+x = 1  # a long uncommitted change\n'.repeat(2000)}`;

const code = (diff: string): ICodeState => ({
  git: {
    root: '/w',
    commit: '1'.repeat(40),
    branch: 'main',
    remote: null,
    remotes: [],
    dirty: true,
    diff,
    diff_encoding: 'utf-8',
    diff_sha256: sha256Hex(diff),
    diff_size: diff.length,
    diff_truncated: false,
    untracked: [],
    notebook: 'n.ipynb'
  },
  python: '3.12',
  packages: { numpy: '2.1' }
});

const codeState = (state: ICodeState) => ({ type: 'code_state', t: T(1), sha256: codeStateSha256(state), code: state });
const runStart = (run: string, codeSha256: string | null, inline: ICodeState | null = null) => ({
  type: 'run_start',
  t: T(2),
  run,
  name: `run-${run[0]}`,
  experiment: 'e',
  exec: null,
  ...(inline === null ? { code_sha256: codeSha256 } : { code: inline }),
  energy: false,
  parent: null
});
const runEnd = (run: string) => ({ type: 'run_end', t: T(3), run, status: 'finished', ename: null, evalue: null });
const numbered = (records: Record<string, unknown>[]) => records.map((record, i) => ({ ...record, seq: i + 1 }));

async function exported(files: { name: string; text: string }[]): Promise<ISession> {
  const model = newSessionModel(null);
  await foldJournals(model, files);
  return finalizeSession(model, []);
}

function liveStore(session: string, records: Record<string, unknown>[]): RunStore {
  const decoded = decodeKernelMessage({ session, records }, []);
  if (decoded?.kind !== 'records') {
    throw new Error('not records');
  }
  expect(decoded.rejected).toEqual([]);
  const store = new RunStore();
  store.apply(session, decoded.records);
  return store;
}

describe('code state stored once by content hash', () => {
  const first = code(DIFF);
  const second = code(DIFF + '+y = 2\n');
  // Three runs, two distinct code states, and the first state's record repeated (folded once).
  const records = numbered([
    kernelStart('s1'),
    codeState(first),
    runStart(A, codeStateSha256(first)),
    runEnd(A),
    runStart(B, codeStateSha256(first)),
    runEnd(B),
    codeState(second),
    codeState(first),
    runStart(C, codeStateSha256(second)),
    runEnd(C)
  ]);

  it('gives every run its code state, one shared object per distinct state, live, after a reload and in the export', async () => {
    const session = await exported([{ name: 'k-s1.jsonl', text: lines(records) }]);
    expect(session.warnings).toEqual([]);
    const [a, b, c] = session.runs;
    expect(a.code).toEqual(first);
    expect(b.code).toBe(a.code); // held once
    expect(c.code).toEqual(second);
    expect(session.runs.map(run => run.codeSha256)).toEqual([
      codeStateSha256(first),
      codeStateSha256(first),
      codeStateSha256(second)
    ]);

    const live = liveStore('s1', records);
    const reloaded = new RunStore();
    const journal = parseJournal([{ name: 'k-s1.jsonl', text: lines(records) }]).records.map(r => r.record);
    reloaded.apply('s1', journal, highestSeq(journal));
    for (const store of [live, reloaded]) {
      const runs = [A, B, C].map(id => store.runs.get(id)!);
      expect(runs.map(run => run.code)).toEqual([first, first, second]);
      expect(runs[1].code).toBe(runs[0].code);
      // The git comparison still reads each run's diff through the shared model, named per run.
      const same = compareGit(runs[0], runs[1]);
      expect([same.runId, same.sameCommit, same.diffsDiffer]).toEqual([B, true, false]);
      const changed = compareGit(runs[0], runs[2]);
      expect([changed.runId, changed.diffsDiffer]).toEqual([C, true]);
      expect(changed.diffChanges.flatMap(hunk => hunk.lines.filter(line => line.kind !== 'context').map(l => l.text))).toEqual([
        '+y = 2'
      ]);
    }
  });

  it('writes one PROV entity per distinct code state, used by each run, with the diff text once', async () => {
    const session = await exported([{ name: 'k-s1.jsonl', text: lines(records) }]);
    const doc = buildProvDocument(session, { notebook: 'n.ipynb', nbprovVersion: '0' });
    const states = Object.entries(doc.entity ?? {}).filter(([, e]) => (e['prov:type'] as { $: string }).$ === 'nbprov:CodeState');
    expect(states.map(([id]) => id).sort()).toEqual(
      [`nbprov:code.${codeStateSha256(first)}`, `nbprov:code.${codeStateSha256(second)}`].sort()
    );
    const [, firstEntity] = states.find(([id]) => id.endsWith(codeStateSha256(first)))!;
    expect(firstEntity['nbprov:git_diff']).toBe(DIFF);
    expect(firstEntity['nbprov:python']).toBe('3.12');
    const used = Object.values(doc.used ?? {}).filter(u => String(u['prov:entity']).startsWith('nbprov:code.'));
    expect(used.map(u => [u['prov:activity'], u['prov:entity']]).sort()).toEqual(
      [
        [`nbprov:run.${A}`, `nbprov:code.${codeStateSha256(first)}`],
        [`nbprov:run.${B}`, `nbprov:code.${codeStateSha256(first)}`],
        [`nbprov:run.${C}`, `nbprov:code.${codeStateSha256(second)}`]
      ].sort()
    );
    // No run carries code attributes of its own: each diff is in the document once.
    const text = stableStringify(doc);
    expect(text.split('a long uncommitted change').length - 1).toBe(2000 * 2);
    expect(Object.keys(doc.activity?.[`nbprov:run.${A}`] ?? {}).filter(key => key.startsWith('nbprov:git'))).toEqual([]);
  });

  it('shows a run whose code state is in another file as unavailable, with the reason, and reads on', async () => {
    // k-s2's run names s1's code state: each journal file must hold the code states of its runs.
    const other = numbered([kernelStart('s2'), runStart(C, codeStateSha256(first)), runEnd(C)]);
    const session = await exported([
      { name: 'k-s1.jsonl', text: lines(records.slice(0, 4)) },
      { name: 'k-s2.jsonl', text: lines(other) }
    ]);
    const c = session.runs.find(run => run.id === C)!;
    expect([c.code, c.codeSha256, c.status]).toEqual([null, null, 'finished']);
    expect(c.codeUnavailable).toBe(
      `code state ${codeStateSha256(first).slice(0, 12)} is not in k-s2.jsonl, the journal file that started the run`
    );
    expect(session.warnings).toEqual([{ file: 'k-s2.jsonl', line: 2, reason: `run ${C}: ${c.codeUnavailable}` }]);
    const doc = buildProvDocument(session, { notebook: 'n.ipynb', nbprovVersion: '0' });
    expect(doc.activity?.[`nbprov:run.${C}`]?.['nbprov:code_state']).toBe('unavailable');
    expect(doc.activity?.[`nbprov:run.${C}`]?.['nbprov:code_state_reason']).toBe(c.codeUnavailable);
    // The page says the same: live, the run's code state is unavailable and the comparison says why.
    const store = liveStore('s2', other);
    const run = store.runs.get(C)!;
    expect([run.code, run.codeUnavailable]).toEqual([null, c.codeUnavailable]);
    expect(gitSide(run)).toBe(`the code state of run ${run.name} is unavailable: ${c.codeUnavailable}`);
  });

  it('reads the old inline form as the same code state, one entity for runs that had the same', async () => {
    const old = numbered([kernelStart('s0'), runStart(A, null, first), runEnd(A), runStart(B, null, first), runEnd(B)]);
    const session = await exported([{ name: 'k-s0.jsonl', text: lines(old) }]);
    expect(session.warnings).toEqual([]);
    expect(session.runs.map(run => [run.code, run.codeSha256])).toEqual([
      [first, codeStateSha256(first)],
      [first, codeStateSha256(first)]
    ]);
    const doc = buildProvDocument(session, { notebook: 'n.ipynb', nbprovVersion: '0' });
    expect(Object.keys(doc.entity ?? {}).filter(id => id.startsWith('nbprov:code.'))).toEqual([
      `nbprov:code.${codeStateSha256(first)}`
    ]);
    expect(liveStore('s0', old).runs.get(B)!.code).toEqual(first);
  });

  it('hashes a code state as the kernel does (records.code_state_sha256: sorted keys, no spaces, UTF-8)', () => {
    // The same object and digest are in tests/test_codestate.py.
    const vector: ICodeState = {
      python: '3.12.1 (main)',
      packages: { zarr: '3.0', numpy: '2.1' },
      git: {
        root: '/w/\u00e9',
        commit: 'a'.repeat(40),
        branch: null,
        remote: null,
        remotes: [{ name: 'origin', url: 'https://h/x' }],
        dirty: true,
        diff: '--- a/x\n+++ b/x\n\t"q" \\ \u0001 \u2713 \ud834\udd1e\n',
        diff_encoding: 'utf-8',
        diff_sha256: 'b'.repeat(64),
        diff_size: 12,
        diff_truncated: false,
        untracked: ['u/'],
        notebook: 'n.ipynb'
      }
    };
    expect(codeStateSha256(vector)).toBe('f42811ccd8d4ef3e9a464a0cd97b7547154abfc6ac718fe7d58f9106b92c53c6');
  });
});
