/**
 * Runs as a table, one row per run: what `nbprov runs` prints and `nbprov.runs()` returns as a
 * DataFrame. Pure: rows come from the session model (the one journal interpreter), never from
 * the journal directly.
 *
 * Columns: `id`, `name`, `experiment`, `status`, `start`, `end`, `duration` (s), `parent`,
 * `notebook`, `folder` (its `.prov` folder; both labelled by the reader), `cell`, `exec`,
 * `kernel_session`, `git.commit`, `git.branch`, `git.dirty`, `energy` (J,
 * null when not measured, with `energy.reason`), `lost_points`, then `tags.<k>`, `params.<k>` (input
 * parameters), `outputs.<k>` (output parameters) and, per metric series, `metrics.<m>` (last value),
 * `metrics.<m>.min` and `metrics.<m>.max` (NaN ignored); a series logged in a context is named by the
 * context path: `metrics.<context>/<m>` (`metrics.training/batch/loss` for nested contexts).
 */

import { isDefaultRankSeries } from './ranks';
import type { IExecution, IMetricSeries, IRun, ISession } from './session';

/** A cell: JSON scalars, plus bigint for integer parameters beyond 2^53 and non-finite numbers. */
export type CellValue = string | number | bigint | boolean | null;
/** The columns of a row whose numbers are floats (JSON and JavaScript write a float 1.0 as 1). */
export const FLOAT_COLUMNS: unique symbol = Symbol('float columns');
export type RunRow = Record<string, CellValue> & { [FLOAT_COLUMNS]?: string[] };

export const FIXED_COLUMNS = [
  'id',
  'name',
  'experiment',
  'status',
  'start',
  'end',
  'duration',
  'parent',
  'notebook',
  'folder',
  'cell',
  'exec',
  'kernel_session',
  'git.commit',
  'git.branch',
  'git.dirty',
  'energy',
  'energy.reason',
  'lost_points'
] as const;

const SPECIAL_FLOATS: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0.0': -0 };

/** A parameter's value as the kernel meant it (the journal writes big ints and NaN/±inf/-0 as strings). */
export function paramCell(value: string | number | boolean | null, valueType: string | null): CellValue {
  if (typeof value === 'string' && valueType === 'int' && /^-?[0-9]+$/.test(value)) {
    return BigInt(value);
  }
  if (typeof value === 'string' && valueType === 'float' && value in SPECIAL_FLOATS) {
    return SPECIAL_FLOATS[value];
  }
  return value;
}

/** `training` or `training/batch`: a context's name after its parents'. */
export function contextPath(run: IRun, ctx: number | null): string {
  const names: string[] = [];
  const seen = new Set<number>();
  for (let at = ctx; at !== null && !seen.has(at);) {
    seen.add(at);
    const context = run.contexts.find(c => c.ctx === at);
    names.unshift(context?.name ?? `context ${at}`);
    at = context?.parent ?? null;
  }
  return names.join('/');
}

/** The column name of a series: `metrics.<m>` or `metrics.<context path>/<m>`. */
export function metricColumn(run: IRun, series: IMetricSeries): string {
  const context = contextPath(run, series.ctx);
  return `metrics.${context ? `${context}/` : ''}${series.metric}`;
}

function lastMinMax(values: Float64Array): [number, number, number] {
  let min = NaN;
  let max = NaN;
  for (const value of values) {
    if (!Number.isNaN(value)) {
      min = Number.isNaN(min) || value < min ? value : min;
      max = Number.isNaN(max) || value > max ? value : max;
    }
  }
  return [values.length ? values[values.length - 1] : NaN, min, max];
}

const NOT_MEASURED = 'energy was not measured for this run';
const MEASURED_AT_END = 'measured when the run ends';

/** Joules of the run-scope readings, or null with the reason when no device measured any. */
function runEnergy(run: IRun): { joules: number | null; reason: string | null } {
  const figures = run.energy.filter(figure => figure.scope === 'run');
  const measured = figures.filter(figure => figure.joules !== null);
  const missing = figures.filter(figure => figure.joules === null);
  const reasons = missing.map(figure => `${figure.device}: ${figure.reason ?? 'no reason given'}`).join('; ');
  if (measured.length === 0) {
    const why = run.status === 'running' ? MEASURED_AT_END : NOT_MEASURED;
    return { joules: null, reason: reasons || why };
  }
  const joules = measured.reduce((sum, figure) => sum + (figure.joules ?? 0), 0);
  return { joules, reason: reasons ? `partial: ${reasons}` : null };
}

function seconds(from: string, to: string | null): number | null {
  const difference = to === null ? NaN : Date.parse(to) - Date.parse(from);
  return Number.isNaN(difference) ? null : difference / 1000;
}

/** The row of one run; `notebook` is the label the caller gives it (a path relative to a scan root). */
export function runRow(run: IRun, executions: ReadonlyMap<string, IExecution>, notebook: string): RunRow {
  const git = run.code?.git ?? null;
  const energy = runEnergy(run);
  const row: RunRow = {
    id: run.id,
    name: run.name,
    experiment: run.experiment,
    status: run.status,
    start: run.started,
    end: run.ended,
    duration: seconds(run.started, run.ended),
    parent: run.parent,
    notebook,
    cell: (run.exec !== null ? executions.get(run.exec)?.cell : null) ?? null,
    exec: run.exec,
    kernel_session: run.kernelSession,
    'git.commit': git?.commit ?? null,
    'git.branch': git?.branch ?? null,
    'git.dirty': git?.dirty ?? null,
    energy: energy.joules,
    'energy.reason': energy.reason,
    lost_points: run.lostPoints
  };
  const floats = ['duration', 'energy'];
  for (const [key, value] of Object.entries(run.tags)) {
    row[`tags.${key}`] = value;
  }
  for (const param of run.params) {
    const column = `${param.role === 'output' ? 'outputs' : 'params'}.${param.key}`;
    row[column] = paramCell(param.value, param.valueType);
    if (param.valueType === 'float') {
      floats.push(column);
    }
  }
  for (const series of run.metrics) {
    if (!isDefaultRankSeries(series)) {
      continue; // ranks: a row shows the kernel's and rank 0's series (the export holds every rank's)
    }
    const column = metricColumn(run, series);
    const [last, min, max] = lastMinMax(series.values);
    row[column] = last;
    row[`${column}.min`] = min;
    row[`${column}.max`] = max;
    floats.push(column, `${column}.min`, `${column}.max`);
  }
  row[FLOAT_COLUMNS] = floats;
  return row;
}

/**
 * The row of a run as seen while the given kernel sessions are live: a run without an end whose
 * session is live is running, not crashed. Lets rows built without live sessions (cached) serve any.
 */
export function liveRow(row: RunRow, liveSessions: ReadonlySet<string>): RunRow {
  if (row.end !== null || row.status !== 'crashed' || !liveSessions.has(String(row.kernel_session))) {
    return row;
  }
  const reason = row.energy === null && row['energy.reason'] === NOT_MEASURED ? MEASURED_AT_END : row['energy.reason'];
  return { ...row, status: 'running', 'energy.reason': reason };
}

/** The rows of every run of a session, in start order. */
export function sessionRows(session: ISession, notebook: string): RunRow[] {
  const executions = new Map(session.executions.map(execution => [execution.id, execution]));
  return session.runs.map(run => runRow(run, executions, notebook));
}

/** Columns of a set of rows: the fixed ones first, then tags, params, outputs and metrics, each sorted. */
export function tableColumns(rows: readonly RunRow[]): string[] {
  const fixed = new Set<string>(FIXED_COLUMNS);
  const extra = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!fixed.has(key)) {
        extra.add(key);
      }
    }
  }
  const group = (name: string): number => ['tags.', 'params.', 'outputs.', 'metrics.'].findIndex(p => name.startsWith(p));
  const sorted = [...extra].sort((a, b) => group(a) - group(b) || (a < b ? -1 : a > b ? 1 : 0));
  return [...FIXED_COLUMNS, ...sorted];
}

/** A cell as JSON: bigints as decimal strings, non-finite numbers as `nan` / `inf` / `-inf`. */
export function jsonCell(value: CellValue): string | number | boolean | null {
  if (typeof value === 'bigint') {
    return value.toString();
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  }
  if (typeof value === 'number' && Object.is(value, -0)) {
    return '-0.0';
  }
  return value;
}

/**
 * The kind of each column: `int` or `float` when every non-null cell is a number (`float` when any
 * is a float), else `bool`, `string`, `mixed`, or `null` when no row has a value.
 */
export function columnKinds(rows: readonly RunRow[], columns: readonly string[]): Record<string, string> {
  const kinds: Record<string, string> = {};
  for (const column of columns) {
    const seen = new Set<string>();
    for (const row of rows) {
      const value = row[column];
      if (value === null || value === undefined) {
        continue;
      }
      if (typeof value === 'bigint' || typeof value === 'number') {
        seen.add(typeof value === 'number' && row[FLOAT_COLUMNS]?.includes(column) ? 'float' : 'int');
      } else {
        seen.add(typeof value === 'boolean' ? 'bool' : 'string');
      }
    }
    if (seen.size === 2 && seen.has('int') && seen.has('float')) {
      seen.delete('int');
    }
    kinds[column] = seen.size === 0 ? 'null' : seen.size === 1 ? [...seen][0] : 'mixed';
  }
  return kinds;
}

function textCell(value: CellValue | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  const json = jsonCell(value);
  return typeof json === 'string' ? json : String(json);
}

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted; empty for null. */
export function formatCsv(rows: readonly RunRow[], columns: readonly string[]): string {
  const field = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  return (
    [columns, ...rows.map(row => columns.map(column => textCell(row[column])))]
      .map(cells => cells.map(field).join(','))
      .join('\r\n') + '\r\n'
  );
}

/** A fixed-width text table for a terminal; long cells are cut with `…`, control characters shown escaped. */
export function formatTable(rows: readonly RunRow[], columns: readonly string[], maxWidth = 40): string {
  const clean = (text: string): string => {
    const visible = JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"');
    return visible.length > maxWidth ? visible.slice(0, maxWidth - 1) + '…' : visible;
  };
  const cells = [columns.map(clean), ...rows.map(row => columns.map(column => clean(textCell(row[column]))))];
  const widths = columns.map((_, i) => Math.max(...cells.map(line => line[i].length)));
  return (
    cells
      .map(line =>
        line
          .map((text, i) => text.padEnd(widths[i]))
          .join('  ')
          .trimEnd()
      )
      .join('\n') + '\n'
  );
}
