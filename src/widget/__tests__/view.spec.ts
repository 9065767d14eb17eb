/**
 * @jest-environment jsdom
 */
/**
 * The runs table shows its first 100 rows and 100 more at each "show more" (the caption counts
 * every run); a new store starts again from the first page.
 */
import './jsdomshim';

import { Widget } from '@lumino/widgets';

import { RunStore } from '../../store';
import { IRawRecord, runId, T0, validated } from '../../__tests__/records';
import { RunsView } from '../view';

function storeOf(runs: number): RunStore {
  const records: IRawRecord[] = Array.from({ length: runs }, (_, n) => ({
    type: 'run_start',
    t: new Date(T0 + n * 1000).toISOString(),
    run: runId(n + 1),
    name: `r${n}`,
    experiment: 'sweep',
    exec: null,
    code: null,
    energy: false
  }));
  const store = new RunStore();
  store.apply('s1', validated(records));
  return store;
}

/** Waits for the view's batched refresh (300 ms, longer after a slow one) to show what is expected. */
async function until(shown: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!shown() && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

describe('the runs table of many runs', () => {
  it('shows 100 rows, then 100 more at each click, and every run in its caption', async () => {
    const view = new RunsView();
    Widget.attach(view, document.body);
    try {
      const rows = () => view.node.querySelectorAll('.nbprov-row').length;
      view.setStore(storeOf(250));
      await until(() => rows() > 0);
      const more = view.node.querySelector<HTMLButtonElement>('.nbprov-more-rows')!;
      expect(view.node.querySelector('caption')!.textContent).toBe('250 run(s), 0 selected');
      expect(rows()).toBe(100);
      expect(more.hidden).toBe(false);
      expect(more.textContent).toBe('Show 100 more runs (150 not shown)');
      more.click();
      await until(() => rows() !== 100);
      expect(rows()).toBe(200);
      expect(more.textContent).toBe('Show 50 more runs (50 not shown)');
      more.click();
      await until(() => rows() !== 200);
      expect(rows()).toBe(250);
      expect(more.hidden).toBe(true);

      view.setStore(storeOf(101));
      await until(() => rows() !== 250);
      expect(rows()).toBe(100);
      expect(more.textContent).toBe('Show 1 more run (1 not shown)');
    } finally {
      Widget.detach(view);
      view.dispose();
    }
  }, 60_000);
});
