/**
 * The git part of the run comparison: each run's commit (and whether it was dirty), then the line
 * diff between their uncommitted diffs or the commit range. Every string goes in textContent.
 */
import { IDiffHunk } from '../core/diff';
import { trans } from '../i18n';
import { IRun } from '../tokens';
import { element } from './dom';
import { compareGit, IGitComparison, IGitSide, shortCommit } from './gitcompare';

/**
 * Comparisons by pair of runs: a run's code state is recorded once at its start, so a pair's result
 * never changes. Keyed by run, not by code state: runs share one code state object when they had
 * the same, and a comparison names its runs.
 */
const comparisons = new WeakMap<IRun, WeakMap<IRun, IGitComparison>>();

function cachedComparison(base: IRun, other: IRun): IGitComparison {
  if (!base.code || !other.code) {
    return compareGit(base, other);
  }
  let byOther = comparisons.get(base);
  if (!byOther) {
    byOther = new WeakMap();
    comparisons.set(base, byOther);
  }
  let comparison = byOther.get(other);
  if (!comparison) {
    comparison = compareGit(base, other);
    byOther.set(other, comparison);
  }
  return comparison;
}

function describeSide(label: string, side: IGitSide): string {
  const state = side.dirty ? trans().__('dirty (uncommitted changes)') : trans().__('clean');
  return side.branch
    ? trans().__('%1: %2 on %3, %4', label, shortCommit(side.commit), side.branch, state)
    : trans().__('%1: %2 (detached), %3', label, shortCommit(side.commit), state);
}

/** Whether a run's code state is its base's in every respect the comparison shows. */
function identical(comparison: IGitComparison): boolean {
  return (
    !comparison.missing &&
    !comparison.range &&
    !comparison.diffsDiffer &&
    !comparison.notes.length &&
    !comparison.untrackedAdded.length &&
    !comparison.untrackedRemoved.length
  );
}

/**
 * The git comparison of each run with the first, as a section: the first run's state once, the
 * runs whose state is the same on one line, then each other run's own state and what differs.
 * `label` names a run as the rest of the view does; `renderDiff` draws a diff.
 */
export function renderGitComparison(
  runs: readonly IRun[],
  label: (run: IRun) => string,
  renderDiff: (hunks: readonly IDiffHunk[]) => HTMLElement
): HTMLElement {
  const section = element('div', 'nbprov-compare-git');
  const [base, ...others] = runs;
  section.append(element('h3', undefined, trans().__('Git state compared with %1', label(base))));
  const comparisons = others.map(run => ({ run, comparison: cachedComparison(base, run) }));
  const baseSide = comparisons.find(({ comparison }) => comparison.base)?.comparison.base;
  if (baseSide) {
    section.append(sideLine(label(base), baseSide));
  }
  const same = comparisons.filter(({ comparison }) => identical(comparison)).map(({ run }) => label(run));
  if (same.length) {
    section.append(
      element(
        'p',
        'nbprov-git-same',
        trans().__('Same commit and same uncommitted changes as %1: %2', label(base), same.join(', '))
      )
    );
  }
  for (const { run, comparison } of comparisons.filter(({ comparison }) => !identical(comparison))) {
    const block = element('div', 'nbprov-git-pair');
    block.dataset.run = run.id;
    block.append(element('h4', undefined, label(run)));
    if (comparison.missing) {
      block.append(element('p', 'nbprov-message', comparison.missing));
      section.append(block);
      continue;
    }
    block.append(sideLine(label(run), comparison.other!));
    for (const note of comparison.notes) {
      block.append(element('p', 'nbprov-message', note));
    }
    if (comparison.range) {
      const range = element('p', 'nbprov-git-range', `${trans().__('Different commits; to see what changed:')} `);
      range.append(element('code', undefined, `git log -p ${comparison.range}`));
      block.append(range);
    } else if (comparison.diffChanges.length) {
      block.append(
        element('p', undefined, trans().__("Same commit; changes from %1's uncommitted diff to %2's:", label(base), label(run))),
        renderDiff(comparison.diffChanges)
      );
    }
    if (comparison.untrackedAdded.length || comparison.untrackedRemoved.length) {
      const untracked = element('p', 'nbprov-git-untracked');
      untracked.textContent = [
        comparison.untrackedAdded.length
          ? trans().__('untracked only in %1: %2', label(run), comparison.untrackedAdded.join(', '))
          : '',
        comparison.untrackedRemoved.length
          ? trans().__('untracked only in %1: %2', label(base), comparison.untrackedRemoved.join(', '))
          : ''
      ]
        .filter(Boolean)
        .join('; ');
      block.append(untracked);
    }
    section.append(block);
  }
  return section;
}

/** One run's commit, branch and whether it was dirty; the full commit as its tooltip. */
function sideLine(label: string, side: IGitSide): HTMLElement {
  const line = element('p', side.dirty ? 'nbprov-git-dirty' : 'nbprov-git-clean', describeSide(label, side));
  if (side.commit) {
    line.title = side.commit;
  }
  return line;
}
