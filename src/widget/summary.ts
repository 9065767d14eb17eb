/**
 * The runs summary a notebook keeps in the runs widget's output (pure, no DOM): the runs table's
 * name, status, duration, parameter and last-value columns, as data and as escaped HTML. The page
 * writes the HTML into the output's `text/html` when the notebook is saved, so a saved notebook,
 * GitHub and `nbconvert --to html` show the runs instead of a widget placeholder.
 */
import { trans } from '../i18n';
import { IRun } from '../tokens';
import { buildTable, ColumnKind, MetricSummaries } from './tablemodel';

/**
 * The runs widget's own output MIME type (the kernel's `nbprov/widget.py` writes it instead of the
 * widget-view type, see ARCHITECTURE.md "Saved notebooks"): `{model_id, version_major,
 * version_minor, session, run_ids}`.
 */
export const RUNS_MIME = 'application/vnd.nbprov.runs+json';

/** Columns of the runs table that the summary keeps. */
const SUMMARY_KINDS: ReadonlySet<ColumnKind> = new Set(['name', 'notebook', 'status', 'duration', 'param', 'metric-last']);

/** Shown for a value the run does not have (no finite point, parameter not logged): never a made-up 0. */
export const NO_VALUE = '—';

export interface IRunsSummary {
  /** Header texts (user strings: escape them). */
  readonly columns: readonly string[];
  /** One row of cell texts per run, in the table's order. */
  readonly rows: readonly (readonly string[])[];
}

export function runsSummary(runs: Iterable<IRun>, options: { now: number; labels?: ReadonlyMap<string, string> }): IRunsSummary {
  const table = buildTable(runs, new MetricSummaries(), { now: options.now, labels: options.labels });
  const kept = table.columns.flatMap((column, index) => (SUMMARY_KINDS.has(column.kind) ? [index] : []));
  return {
    columns: kept.map(index => table.columns[index].label),
    rows: table.rows.map(row => kept.map(index => row.cells[index].text || NO_VALUE))
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, char => HTML_ESCAPES[char]);
}

/**
 * The summary as an HTML fragment: a note on where the live view is, then the table. Every string
 * goes through `escapeHtml`; no attribute carries user text. Inline styles only, since GitHub and
 * nbconvert show the fragment without nbprov's stylesheet (GitHub drops them, which leaves a plain table).
 */
export function summaryHtml(summary: IRunsSummary): string {
  const note = trans().__(
    'nbprov runs, as saved. Open the notebook in JupyterLab with nbprov for the live view (View › Provenance Runs).'
  );
  const cell = (tag: 'th' | 'td', text: string): string =>
    `<${tag} style="padding:2px 8px;text-align:left;border-bottom:1px solid #ccc">${escapeHtml(text)}</${tag}>`;
  const head = `<tr>${summary.columns.map(text => cell('th', text)).join('')}</tr>`;
  const body = summary.rows.map(row => `<tr>${row.map(text => cell('td', text)).join('')}</tr>`).join('');
  const table = summary.rows.length
    ? `<table class="nbprov-summary" style="border-collapse:collapse"><thead>${head}</thead><tbody>${body}</tbody></table>`
    : `<p>${escapeHtml(trans().__('No runs recorded yet.'))}</p>`;
  return `<div class="nbprov-summary-html"><p><em>${escapeHtml(note)}</em></p>${table}</div>`;
}
