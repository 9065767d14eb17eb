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

function describeSide(run: IRun, side: IGitSide): string {
  const state = side.dirty ? trans().__('dirty (uncommitted changes)') : trans().__('clean');
  return side.branch
    ? trans().__('%1: %2 on %3, %4', run.name, shortCommit(side.commit), side.branch, state)
    : trans().__('%1: %2 (detached), %3', run.name, shortCommit(side.commit), state);
}

/** The git comparison of each run with the first, as a section; `renderDiff` draws a diff. */
export function renderGitComparison(
  runs: readonly IRun[],
  renderDiff: (hunks: readonly IDiffHunk[]) => HTMLElement
): HTMLElement {
  const section = element('div', 'nbprov-compare-git');
  const [base, ...others] = runs;
  section.append(element('h3', undefined, trans().__('Git state compared with %1', base.name)));
  for (const run of others) {
    const comparison = cachedComparison(base, run);
    const block = element('div', 'nbprov-git-pair');
    block.dataset.run = run.id;
    block.append(element('h4', undefined, run.name));
    if (comparison.missing) {
      block.append(element('p', 'nbprov-message', comparison.missing));
      section.append(block);
      continue;
    }
    const commits = element('ul', 'nbprov-git-commits');
    for (const [owner, side] of [
      [base, comparison.base!],
      [run, comparison.other!]
    ] as const) {
      const item = element('li', side.dirty ? 'nbprov-git-dirty' : 'nbprov-git-clean', describeSide(owner, side));
      if (side.commit) {
        item.title = side.commit;
      }
      commits.append(item);
    }
    block.append(commits);
    for (const note of comparison.notes) {
      block.append(element('p', 'nbprov-message', note));
    }
    if (comparison.range) {
      const range = element('p', 'nbprov-git-range', `${trans().__('Different commits; to see what changed:')} `);
      range.append(element('code', undefined, `git log -p ${comparison.range}`));
      block.append(range);
    } else if (!comparison.diffsDiffer) {
      block.append(element('p', 'nbprov-message', trans().__('Same commit and same uncommitted changes.')));
    } else if (comparison.diffChanges.length) {
      block.append(
        element('p', undefined, trans().__("Same commit; changes from %1's uncommitted diff to %2's:", base.name, run.name)),
        renderDiff(comparison.diffChanges)
      );
    }
    if (comparison.untrackedAdded.length || comparison.untrackedRemoved.length) {
      const untracked = element('p', 'nbprov-git-untracked');
      untracked.textContent = [
        comparison.untrackedAdded.length
          ? trans().__('untracked only in %1: %2', run.name, comparison.untrackedAdded.join(', '))
          : '',
        comparison.untrackedRemoved.length
          ? trans().__('untracked only in %1: %2', base.name, comparison.untrackedRemoved.join(', '))
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
