/**
 * Git state of two runs compared (issue 7): their commits and whether each was dirty, then either
 * a line diff between their recorded uncommitted diffs (same commit) or the commit range to
 * inspect (different commits). Pure. The code state comes from the journal as recorded, so every
 * field is checked before use.
 */
import { diffHunks, IDiffHunk } from '../core/diff';
import { trans } from '../i18n';
import { IRun } from '../tokens';

/** One run's side of the comparison. */
export interface IGitSide {
  runId: string;
  /** Null before the repository's first commit. */
  commit: string | null;
  branch: string | null;
  remote: string | null;
  root: string | null;
  dirty: boolean;
  /** The recorded `git diff HEAD` as text, or null when it is not UTF-8 (recorded as base64). */
  diffText: string | null;
  diffSha256: string | null;
  diffTruncated: boolean;
  untracked: string[];
}

export interface IGitComparison {
  /** The run compared with the base run. */
  runId: string;
  /** Why there is nothing to compare (no code state, or not in a git repository), else null. */
  missing: string | null;
  base: IGitSide | null;
  other: IGitSide | null;
  sameCommit: boolean;
  /** `<base commit>..<other commit>` when the commits differ (what `git log` / `git diff` take). */
  range: string | null;
  /** Same commit, and the recorded uncommitted diffs differ (by bytes). */
  diffsDiffer: boolean;
  /** Changes from the base run's uncommitted diff to the other's (same commit, UTF-8 diffs only). */
  diffChanges: IDiffHunk[];
  /** Caveats: truncated or binary diffs, different repositories. */
  notes: string[];
  /** Untracked paths only the other run had, and only the base run had. */
  untrackedAdded: string[];
  untrackedRemoved: string[];
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The git side of a run's recorded code state, or why there is none. */
export function gitSide(run: IRun): IGitSide | string {
  const code: unknown = run.code;
  if (!code || typeof code !== 'object') {
    return run.codeUnavailable
      ? trans().__('the code state of run %1 is unavailable: %2', run.name, run.codeUnavailable)
      : trans().__('no code state recorded for run %1', run.name);
  }
  const git: unknown = (code as Record<string, unknown>).git;
  if (!git || typeof git !== 'object') {
    return trans().__('the notebook of run %1 was not in a git repository', run.name);
  }
  const fields = git as Record<string, unknown>;
  const binary = fields.diff_encoding === 'base64';
  return {
    runId: run.id,
    commit: text(fields.commit),
    branch: text(fields.branch),
    remote: text(fields.remote),
    root: text(fields.root),
    dirty: fields.dirty === true,
    diffText: binary ? null : typeof fields.diff === 'string' ? fields.diff : '',
    diffSha256: text(fields.diff_sha256),
    diffTruncated: fields.diff_truncated === true,
    untracked: Array.isArray(fields.untracked) ? fields.untracked.filter((path): path is string => typeof path === 'string') : []
  };
}

/** Short form of a commit id for display. */
export function shortCommit(commit: string | null): string {
  return commit ? commit.slice(0, 10) : trans().__('no commit yet');
}

/** Compares the git state of `other` with that of `base`. */
export function compareGit(base: IRun, other: IRun): IGitComparison {
  const baseSide = gitSide(base);
  const otherSide = gitSide(other);
  const result: IGitComparison = {
    runId: other.id,
    missing: null,
    base: typeof baseSide === 'string' ? null : baseSide,
    other: typeof otherSide === 'string' ? null : otherSide,
    sameCommit: false,
    range: null,
    diffsDiffer: false,
    diffChanges: [],
    notes: [],
    untrackedAdded: [],
    untrackedRemoved: []
  };
  if (typeof baseSide === 'string' || typeof otherSide === 'string') {
    result.missing = [baseSide, otherSide].filter((why): why is string => typeof why === 'string').join('; ');
    return result;
  }
  if (baseSide.remote !== otherSide.remote || (baseSide.remote === null && baseSide.root !== otherSide.root)) {
    result.notes.push(trans().__('the runs were recorded in different repositories (or clones with other remotes)'));
  }
  const otherUntracked = new Set(otherSide.untracked);
  const baseUntracked = new Set(baseSide.untracked);
  result.untrackedAdded = otherSide.untracked.filter(path => !baseUntracked.has(path));
  result.untrackedRemoved = baseSide.untracked.filter(path => !otherUntracked.has(path));
  result.sameCommit = baseSide.commit === otherSide.commit;
  if (!result.sameCommit) {
    result.range = `${baseSide.commit ?? trans().__('(none)')}..${otherSide.commit ?? trans().__('(none)')}`;
    return result;
  }
  const sameBytes = baseSide.diffSha256 !== null && baseSide.diffSha256 === otherSide.diffSha256;
  result.diffsDiffer = !sameBytes && !(baseSide.diffText !== null && baseSide.diffText === otherSide.diffText);
  if (!result.diffsDiffer) {
    return result;
  }
  if (baseSide.diffText === null || otherSide.diffText === null) {
    result.notes.push(
      trans().__('an uncommitted diff is not UTF-8 text: the diffs differ (by sha256) but cannot be shown line by line')
    );
    return result;
  }
  if (baseSide.diffTruncated || otherSide.diffTruncated) {
    result.notes.push(trans().__('an uncommitted diff was truncated at 1 MiB when recorded: only the recorded part is compared'));
  }
  result.diffChanges = diffHunks(baseSide.diffText, otherSide.diffText);
  return result;
}
