/**
 * @jest-environment jsdom
 */
/**
 * Brushing the sweep view with the pointer, as a user drags: the brush follows the drag on the
 * view itself, the selection is handed on once, at the release (handing it on at every move made
 * the page lay out again under the pointer), the handle being dragged stays in the page, and the
 * drag is followed wherever the pointer goes.
 */
import './jsdomshim';

import { RunStore } from '../../store';
import { IRawRecord, iso, runId, T0, validated } from '../../__tests__/records';
import { IRun } from '../../tokens';
import { SweepView } from '../sweepview';
import { MetricSummaries } from '../tablemodel';

/** The parallel-coordinates plot's height in CSS pixels (the canvas's 260 less its margins). */
const AXIS_HEIGHT = 260 - 34 - 16;
const AXIS_TOP = 400;
const RATES = 30;

/** 30 runs, one per learning rate (log-spaced, 1e-4 to 0.079, as a sweep is), with a loss. */
function sweepRuns(): IRun[] {
  const records: IRawRecord[] = [];
  for (let k = 0; k < RATES; k++) {
    const run = runId(k + 1);
    records.push(
      { type: 'run_start', t: iso(k), run, name: `lr${k}`, experiment: 'sweep', exec: null, code: null, energy: false },
      { type: 'param', t: iso(k), run, key: 'lr', value: 1e-4 * 10 ** (k / 10), role: 'input' },
      {
        type: 'metrics',
        t: iso(k),
        run,
        batch: 1,
        series: [
          { metric: 'loss', ctx: null, steps: [0, 1], values: [1, 1 / (k + 1)], timestamps: [T0, T0 + 1], epochs: [-1, -1] }
        ]
      }
    );
  }
  const store = new RunStore();
  store.apply('s1', validated(records));
  return Array.from(store.runs.values());
}

function pointer(type: string, clientY: number): MouseEvent {
  // jsdom has no PointerEvent; the view reads only what a MouseEvent has.
  return new MouseEvent(type, { bubbles: true, cancelable: true, button: 0, clientX: 10, clientY });
}

describe('brushing an axis of the sweep view', () => {
  const runs = sweepRuns();
  const rateOf = new Map(runs.map(run => [run.id, Number(run.name.slice(2))]));
  let selections: Set<string>[];
  let view: SweepView;
  let handle: HTMLElement;

  beforeEach(() => {
    selections = [];
    view = new SweepView(runIds => selections.push(runIds));
    document.body.replaceChildren(view.node);
    view.update(runs, new Map(), new Set(), new MetricSummaries(), 800);
    handle = view.node.querySelector<HTMLElement>('.nbprov-sweep-axis[data-axis="param:lr"]')!;
    // jsdom lays nothing out: the handle sits where a page would put it.
    const box = {
      x: 0,
      y: AXIS_TOP,
      left: 0,
      top: AXIS_TOP,
      width: 20,
      height: AXIS_HEIGHT,
      right: 20,
      bottom: AXIS_TOP + AXIS_HEIGHT
    };
    handle.getBoundingClientRect = () => ({ ...box, toJSON: () => box });
  });

  it('selects the largest rates once, at the release, wherever the pointer went meanwhile', () => {
    handle.dispatchEvent(pointer('pointerdown', AXIS_TOP + AXIS_HEIGHT / 2));
    for (const y of [AXIS_TOP + AXIS_HEIGHT / 4, AXIS_TOP + 10, AXIS_TOP - 30]) {
      // Off the handle, as a quick drag leaves its 20 px.
      document.body.dispatchEvent(pointer('pointermove', y));
      expect(Number(view.node.dataset.brushed)).toBeGreaterThan(0); // drawn live, on the view
      expect(view.node.querySelector('.nbprov-sweep-axis[data-axis="param:lr"]')).toBe(handle);
    }
    expect(selections).toEqual([]);
    document.body.dispatchEvent(pointer('pointerup', AXIS_TOP - 30));
    expect(selections).toHaveLength(1);
    const [selected] = selections;
    // The upper half of a log axis over 30 evenly spaced rates: the 15 largest, give or take one.
    expect(selected.size).toBeGreaterThanOrEqual(14);
    expect(selected.size).toBeLessThanOrEqual(16);
    const smallest = Math.min(...Array.from(selected, runId => rateOf.get(runId)!));
    expect(smallest).toBe(RATES - selected.size);
    expect(view.node.dataset.brushed).toBe(String(selected.size));

    // The drag is over: later moves brush nothing, and a click on the axis clears its brush.
    document.body.dispatchEvent(pointer('pointermove', AXIS_TOP + AXIS_HEIGHT));
    expect(selections).toHaveLength(1);
    handle.dispatchEvent(pointer('pointerdown', AXIS_TOP + 50));
    handle.dispatchEvent(pointer('pointerup', AXIS_TOP + 51));
    expect(selections.map(selection => selection.size)).toEqual([selected.size, 0]);
    expect(view.node.dataset.brushed).toBe('0');
  });

  it('keeps what was brushed when the browser cancels the drag', () => {
    handle.dispatchEvent(pointer('pointerdown', AXIS_TOP + AXIS_HEIGHT));
    document.body.dispatchEvent(pointer('pointermove', AXIS_TOP + AXIS_HEIGHT / 2));
    document.body.dispatchEvent(pointer('pointercancel', 0));
    expect(selections).toHaveLength(1);
    const smallest = Math.min(...Array.from(selections[0], runId => rateOf.get(runId)!));
    expect(smallest).toBe(0);
    expect(selections[0].size).toBeGreaterThanOrEqual(14);
    expect(selections[0].size).toBeLessThanOrEqual(16);
  });
});
