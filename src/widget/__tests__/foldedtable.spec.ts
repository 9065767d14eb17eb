/**
 * @jest-environment jsdom
 */
/**
 * The character width the table is fitted with: a web font still loading measures as its
 * fallback, so that width is not kept, and the view fits its table again once the fonts loaded.
 */
import './jsdomshim';

import { Widget } from '@lumino/widgets';

import { RunStore } from '../../store';
import { IRawRecord, iso, runId, validated } from '../../__tests__/records';
import { charWidth } from '../foldedtable';
import { RunsView } from '../view';

/** What the canvas measures a character as, and the page's fonts (jsdom has no FontFaceSet). */
let measuredPx = 7;
const fonts = Object.assign(new EventTarget(), { status: 'loaded' as FontFaceSetLoadStatus });
Object.defineProperty(document, 'fonts', { value: fonts, configurable: true });
const shimmed = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement, kind: string) {
  const context = shimmed.call(this, kind) as CanvasRenderingContext2D;
  context.measureText = (text: string) => ({ width: text.length * measuredPx }) as TextMetrics;
  return context;
} as typeof HTMLCanvasElement.prototype.getContext;

const styleOf = (family: string) =>
  ({ fontStyle: 'normal', fontWeight: '400', fontSize: '13px', fontFamily: family }) as CSSStyleDeclaration;

describe('charWidth', () => {
  it('measures again a font that was loading, and keeps the width of one that has loaded', () => {
    fonts.status = 'loading';
    measuredPx = 5;
    expect(charWidth(styleOf('Late Sans'))).toBe(5);
    fonts.status = 'loaded';
    measuredPx = 7;
    expect(charWidth(styleOf('Late Sans'))).toBe(7);
    measuredPx = 9;
    expect(charWidth(styleOf('Late Sans'))).toBe(7);
    // Another font is measured for itself.
    expect(charWidth(styleOf('Other Sans'))).toBe(9);
  });
});

/** Five runs with two parameters and a metric: columns enough to fold at 700 px in a wide font. */
function sweepStore(): RunStore {
  const records: IRawRecord[] = [];
  for (let k = 0; k < 5; k++) {
    const run = runId(k + 1);
    records.push(
      { type: 'run_start', t: iso(k), run, name: `lr${k}`, experiment: 'sweep', exec: null, code: null, energy: false },
      { type: 'param', t: iso(k), run, key: 'learning_rate', value: 10 ** -k, role: 'input' },
      { type: 'param', t: iso(k), run, key: 'batch_size', value: 32, role: 'input' }
    );
  }
  const store = new RunStore();
  store.apply('s1', validated(records));
  return store;
}

async function until(shown: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!shown() && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

describe('the runs table when the fonts finish loading', () => {
  it('is fitted again in the loaded font', async () => {
    fonts.status = 'loading';
    measuredPx = 1;
    const view = new RunsView();
    // jsdom lays nothing out: the view is as wide as a notebook output.
    Object.defineProperty(view.node, 'clientWidth', { value: 700 });
    Widget.attach(view, document.body);
    try {
      const headers = () => view.node.querySelectorAll('table.nbprov-table thead th').length;
      view.setStore(sweepStore());
      await until(() => view.node.querySelectorAll('.nbprov-row').length === 5);
      const inFallback = headers();
      expect(view.node.querySelector('table.nbprov-table')!.classList).not.toContain('nbprov-table-folded');

      measuredPx = 30;
      fonts.status = 'loaded';
      fonts.dispatchEvent(new Event('loadingdone'));
      await until(() => headers() !== inFallback);
      expect(headers()).toBeLessThan(inFallback);
      expect(view.node.querySelector('table.nbprov-table')!.classList).toContain('nbprov-table-folded');
    } finally {
      Widget.detach(view);
      view.dispose();
    }
  }, 30_000);
});
