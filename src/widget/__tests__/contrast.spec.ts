import * as fs from 'fs';
import * as path from 'path';
import { contrast } from './wcag';

/**
 * The comparison's marks (differing rows, added and removed lines) stay readable in both themes:
 * the colours the stylesheet declares per theme give text a contrast of at least 4.5:1 (WCAG AA).
 */
const css = fs.readFileSync(path.join(__dirname, '../../../style/widget.css'), 'utf-8');

function block(selector: string): Record<string, string> {
  const start = css.indexOf(`${selector} {`);
  expect(start).toBeGreaterThanOrEqual(0);
  const body = css.slice(start + selector.length + 2, css.indexOf('}', start));
  return Object.fromEntries(Array.from(body.matchAll(/(--nbprov-[\w-]+):\s*(#[0-9a-f]{6});/g), match => [match[1], match[2]]));
}

describe.each([
  ['light', '.nbprov-runs'],
  ['dark', "body[data-jp-theme-light='false'] .nbprov-runs"]
])('the %s theme', (_theme, selector) => {
  const colours = block(selector);

  it.each(['--nbprov-differs-background', '--nbprov-added-background', '--nbprov-removed-background'])(
    'gives text on %s at least 4.5:1',
    background => {
      expect(colours['--nbprov-mark-text']).toBeDefined();
      expect(colours[background]).toBeDefined();
      expect(contrast(colours['--nbprov-mark-text'], colours[background])).toBeGreaterThanOrEqual(4.5);
    }
  );

  it('marks every difference with these colours, never the theme pastels', () => {
    for (const mark of ['.nbprov-differs', '.nbprov-diff-added', '.nbprov-diff-removed']) {
      const start = css.indexOf(`${mark} {`);
      const rule = css.slice(start, css.indexOf('}', start));
      expect(rule).toContain('color: var(--nbprov-mark-text)');
      expect(rule).not.toMatch(/--jp-(warn|success|error)-color3/);
    }
  });
});
