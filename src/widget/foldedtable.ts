/**
 * The runs table in a narrow view: the columns that do not fit (tablemodel.ts `fitColumns`) fold
 * into a detail row under each run, opened by a disclosure button. User strings go in textContent.
 */
import { trans } from '../i18n';
import { element } from './dom';
import { IColumnFit, IRow, ITable } from './tablemodel';

/** Average width (px) of a character in a font, measured once per font that has loaded. */
const charWidths = new Map<string, number>();
const SAMPLE = 'abcdefghijklmnopqrstuvwxyz0123456789 ._-';
let measuring: CanvasRenderingContext2D | null | undefined;

/**
 * Average width (px) of a character in an element's font, from its longhands: in JupyterLab the
 * computed `font` shorthand came back empty, and a canvas given '' measures its default 10 px
 * font (4.9 px a character against the lab's 7), so the table folded too little. A web font still
 * loading measures as its fallback (5.9 px against 7.3 for the DejaVu Sans galata serves), so that
 * width is not kept: the view fits its table again when the fonts have loaded.
 */
export function charWidth(style: CSSStyleDeclaration): number {
  const font = [style.fontStyle, style.fontWeight, style.fontSize, style.fontFamily].filter(Boolean).join(' ');
  const known = charWidths.get(font);
  if (known !== undefined) {
    return known;
  }
  measuring ??= document.createElement('canvas').getContext('2d');
  if (!measuring) {
    // Without a canvas (never in a browser), a generous guess for a 13 px UI font.
    return 8;
  }
  measuring.font = font;
  const width = measuring.measureText(SAMPLE).width / SAMPLE.length;
  // Not document.fonts.check(font): it is true for a family the system also has, loading or not.
  if (document.fonts?.status !== 'loading') {
    charWidths.set(font, width);
  }
  return width;
}

/** The button that opens and closes a run's detail row (a native button: Enter and Space work). */
export function disclosureButton(
  label: string,
  detailId: string,
  expanded: boolean,
  onToggle: (expanded: boolean) => void
): HTMLButtonElement {
  const button = element('button', 'nbprov-disclosure');
  button.type = 'button';
  button.setAttribute('aria-expanded', String(expanded));
  button.setAttribute('aria-controls', detailId);
  button.setAttribute('aria-label', trans().__('Details of run %1', label));
  button.title = trans().__('Show the columns that do not fit');
  button.addEventListener('click', () => onToggle(button.getAttribute('aria-expanded') !== 'true'));
  return button;
}

/** A run's folded columns as a definition list in one cell spanning the row (empty values left out). */
export function detailRow(table: ITable, row: IRow, fit: IColumnFit, id: string, expanded: boolean): HTMLTableRowElement {
  const tr = element('tr', 'nbprov-detail');
  tr.id = id;
  tr.hidden = !expanded;
  const cell = element('td');
  // The selection column and the shown columns.
  cell.colSpan = fit.shown.length + 1;
  const list = element('dl', 'nbprov-detail-list');
  for (const index of fit.folded) {
    const value = row.cells[index];
    if (!value.text) {
      continue;
    }
    const term = element('dt', `nbprov-col-${table.columns[index].kind}`, table.columns[index].label);
    const description = element('dd', `nbprov-col-${table.columns[index].kind}`, value.text);
    if (value.title) {
      description.title = value.title;
    }
    list.append(term, description);
  }
  cell.append(list);
  tr.append(cell);
  return tr;
}
