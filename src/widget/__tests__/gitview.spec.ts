/**
 * @jest-environment jsdom
 */
/**
 * The git section of Compare says the first run's state once, puts the runs whose state is the
 * same on one line, and gives a block only to a run that differs, each named by its label.
 */
import './jsdomshim';

import { RunStore } from '../../store';
import { IRawRecord, iso, validated } from '../../__tests__/records';
import { IRun } from '../../tokens';
import { renderGitComparison } from '../gitview';
import { renderHunks } from '../view';

const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);

function run(n: number, commit: string): IRun {
  const id = String(n).repeat(32);
  const git = { root: '/p', commit, branch: 'main', remote: null, dirty: false, diff: '', diff_encoding: 'utf-8' };
  const code = { git, python: '3.11.7', packages: {} };
  const store = new RunStore();
  const records: IRawRecord[] = [
    { type: 'run_start', t: iso(0), run: id, name: 'tuned', experiment: 'e', exec: null, code, energy: false }
  ];
  store.apply('s1', validated(records));
  return store.runs.get(id)!;
}

describe('the git comparison', () => {
  it('states the first run once, groups the runs of the same state, and shows what differs', () => {
    const runs = [run(1, C1), run(2, C1), run(3, C1), run(4, C2)];
    // Labels tell apart runs of one name, as the view's do.
    const label = (one: IRun) => `tuned (${one.id.slice(0, 4)})`;
    const section = renderGitComparison(runs, label, renderHunks);
    const text = (selector: string) => Array.from(section.querySelectorAll(selector), node => node.textContent);
    expect(text('h3')).toEqual(['Git state compared with tuned (1111)']);
    expect(text(':scope > .nbprov-git-clean')).toEqual(['tuned (1111): 1111111111 on main, clean']);
    expect(text('.nbprov-git-same')).toEqual([
      'Same commit and same uncommitted changes as tuned (1111): tuned (2222), tuned (3333)'
    ]);
    const blocks = section.querySelectorAll('.nbprov-git-pair');
    expect(Array.from(blocks, block => block.querySelector('h4')!.textContent)).toEqual(['tuned (4444)']);
    expect(blocks[0].querySelector('.nbprov-git-clean')!.textContent).toBe('tuned (4444): 2222222222 on main, clean');
    expect(blocks[0].querySelector('.nbprov-git-range')!.textContent).toContain(`git log -p`);
  });
});
