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

describe('new points', () => {
  const lossRecords = (from: number, values: number[], batch: number): IRawRecord => ({
    type: 'metrics',
    t: new Date(T0 + 5000 + from).toISOString(),
    run: runId(1),
    batch,
    series: [
      {
        metric: 'loss',
        ctx: null,
        steps: values.map((_, i) => from + i),
        values,
        timestamps: values.map((_, i) => T0 + 1000 * (from + i)),
        epochs: values.map(() => -1)
      }
    ]
  });

  it('reach the charts at the next refresh, and the table and sweep view within SUMMARY_REFRESH_MS, after the charts', async () => {
    const store = storeOf(3);
    store.apply('s1', validated([lossRecords(0, [3, 2], 1)]));
    const view = new RunsView();
    Widget.attach(view, document.body);
    try {
      view.setStore(store);
      const chart = () => view.node.querySelector<HTMLElement>('.nbprov-chart[data-metric="loss"]');
      // jsdom lays nothing out: the view is 0 px wide, and the last values are in the detail rows.
      const lastLoss = () =>
        Array.from(view.node.querySelectorAll('.nbprov-detail dd.nbprov-col-metric-last'), cell => cell.textContent).join(' ');
      await until(() => chart()?.dataset.points === '2');
      expect(lastLoss()).toBe('2');
      // A first point after the charts were made waits out the cost of making them (RENDER_SHARE).
      store.apply('s1', validated([lossRecords(2, [1.5], 2)]));
      await until(() => lastLoss() === '1.5');
      // Past the view's refresh interval, so that the next points' refresh is due at once.
      await new Promise(resolve => setTimeout(resolve, 400));
      const logged = Date.now();
      store.apply('s1', validated([lossRecords(3, [1.25], 3)]));
      await until(() => chart()?.dataset.points === '4');
      const charted = Date.now() - logged;
      expect(chart()!.dataset.points).toBe('4');
      // The chart has the point, the table its old last value until its own refresh.
      expect(lastLoss()).toBe('1.5');
      await until(() => lastLoss() === '1.25', 4000);
      const tabled = Date.now() - logged;
      expect(lastLoss()).toBe('1.25');
      expect(charted).toBeLessThan(tabled);
      expect(tabled).toBeLessThan(3000);

      // Once the table is due, it still follows in a task of its own, after the charts' paint.
      await new Promise(resolve => setTimeout(resolve, 2100));
      let tableWhenCharted: string | null = null;
      let drawsWhenCharted: string | undefined;
      const observer = new MutationObserver(() => {
        if (tableWhenCharted === null && chart()?.dataset.points === '5') {
          tableWhenCharted = lastLoss();
          drawsWhenCharted = chart()!.dataset.draws;
        }
      });
      observer.observe(view.node, { subtree: true, childList: true, attributes: true, characterData: true });
      store.apply('s1', validated([lossRecords(4, [1], 4)]));
      await until(() => lastLoss() === '1', 4000);
      observer.disconnect();
      expect(tableWhenCharted).toBe('1.25');
      expect(lastLoss()).toBe('1');
      // The table's catching up drew the chart no more: it had nothing new.
      await new Promise(resolve => setTimeout(resolve, 300));
      expect(chart()!.dataset.draws).toBe(drawsWhenCharted);
    } finally {
      Widget.detach(view);
      view.dispose();
    }
  }, 60_000);
});

describe('the context key', () => {
  it('shows each context with its dash, once some line has a context, and names the lines without one', async () => {
    const series = (metric: string, ctx: number | null) => ({
      metric,
      ctx,
      steps: [0, 1, 2],
      values: [3, 2, 1],
      timestamps: [T0, T0 + 1, T0 + 2],
      epochs: [-1, -1, -1]
    });
    const store = storeOf(1);
    store.apply(
      's1',
      validated([
        {
          type: 'context_start',
          t: new Date(T0).toISOString(),
          run: runId(1),
          ctx: 1,
          name: 'training',
          epoch: null,
          parent: null
        },
        {
          type: 'context_start',
          t: new Date(T0).toISOString(),
          run: runId(1),
          ctx: 2,
          name: 'validation',
          epoch: null,
          parent: null
        },
        {
          type: 'metrics',
          t: new Date(T0 + 10).toISOString(),
          run: runId(1),
          batch: 1,
          series: [series('loss', 1), series('loss', 2), series('loss', null), series('accuracy', null)]
        }
      ])
    );
    const view = new RunsView();
    Widget.attach(view, document.body);
    try {
      view.setStore(store);
      const key = (metric: string) =>
        view.node.querySelector<HTMLElement>(`.nbprov-chart[data-metric="${metric}"] .nbprov-context-key`)!;
      await until(() => key('loss')?.childElementCount === 3 && key('accuracy')?.dataset.contexts !== undefined);
      expect(Array.from(key('loss').children, item => item.textContent)).toEqual(['(none)', 'training', 'validation']);
      const dashes = Array.from(key('loss').querySelectorAll('line'), line => line.getAttribute('stroke-dasharray'));
      expect(new Set(dashes).size).toBe(3);
      // A chart whose lines have no context shows no key.
      expect(key('accuracy').hidden).toBe(true);
      expect(key('accuracy').childElementCount).toBe(0);
    } finally {
      Widget.detach(view);
      view.dispose();
    }
  }, 60_000);
});
