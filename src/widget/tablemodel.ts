/**
 * The runs table as data: columns, rows, sorting and filtering. Pure (no DOM), so it is unit-tested
 * and shared by the notebook widget and the side panel.
 *
 * Metric columns show the last and the best value of each metric per context name. "Best" is the
 * minimum for metrics whose name contains `loss` or `error` (case-insensitive) and the maximum
 * otherwise (accuracy, F1, reward, ...).
 */
import { isDefaultRankSeries } from '../core/ranks';
import { runDisplayName } from '../core/model';
import { trans } from '../i18n';
import { IMetricSeries, IRun, IRunArtifact, paramLabel, RunStatus } from '../tokens';

export type ColumnKind =
  'name' | 'notebook' | 'experiment' | 'status' | 'start' | 'duration' | 'energy' | 'param' | 'metric-last' | 'metric-best';

export interface IColumn {
  /** Unique key of the column (not shown). */
  key: string;
  /** Header text (may hold user strings: render as text). */
  label: string;
  kind: ColumnKind;
}

/** One cell: the text shown, the value it sorts by (null sorts last) and an optional tooltip. */
export interface ICell {
  text: string;
  sortValue: number | string | null;
  title?: string;
}

export interface IRow {
  runId: string;
  status: RunStatus;
  cells: ICell[];
  /** Nesting under shown parent runs: 0 for a top-level run (or one whose parent is not shown). */
  depth: number;
  /** How many of its child runs are shown right below it. */
  children: number;
}

export interface ISort {
  column: string;
  descending: boolean;
}

export interface ITable {
  columns: IColumn[];
  rows: IRow[];
}

export interface ITableOptions {
  /** Current time (ms), for the duration of running runs. */
  now: number;
  sort?: ISort | null;
  /** Case-insensitive text matched against every cell of a row. */
  filter?: string;
  /** Each run's display label (runidentity.ts); a run missing here shows its name. */
  labels?: ReadonlyMap<string, string>;
}

/** True when lower values of this metric are better. */
export function lowerIsBetter(metric: string): boolean {
  return /loss|error/i.test(metric);
}

/** Last and best value of a set of series, with a scan cache so live updates read only new points. */
export class MetricSummaries {
  /**
   * Last (latest timestamp, then latest index), best, smallest and largest finite value over the
   * series; null when none.
   */
  summarize(metric: string, series: readonly IMetricSeries[]): IMetricSummary {
    let last: number | null = null;
    let lastTime = -Infinity;
    let min = Infinity;
    let max = -Infinity;
    for (const one of series) {
      const scan = this._scan(one);
      if (scan.lastIndex >= 0 && one.timestamp(scan.lastIndex) >= lastTime) {
        lastTime = one.timestamp(scan.lastIndex);
        last = one.value(scan.lastIndex);
      }
      min = Math.min(min, scan.min);
      max = Math.max(max, scan.max);
    }
    if (last === null) {
      return { last: null, best: null, min: null, max: null };
    }
    return { last, best: lowerIsBetter(metric) ? min : max, min, max };
  }

  private _scan(series: IMetricSeries): IScan {
    let scan = this._scans.get(series);
    if (!scan) {
      scan = { scanned: 0, min: Infinity, max: -Infinity, lastIndex: -1 };
      this._scans.set(series, scan);
    }
    for (let i = scan.scanned; i < series.length; i++) {
      const value = series.value(i);
      if (Number.isFinite(value)) {
        scan.min = Math.min(scan.min, value);
        scan.max = Math.max(scan.max, value);
        scan.lastIndex = i;
      }
    }
    scan.scanned = series.length;
    return scan;
  }

  private _scans = new WeakMap<IMetricSeries, IScan>();
}

export interface IMetricSummary {
  last: number | null;
  best: number | null;
  min: number | null;
  max: number | null;
}

interface IScan {
  scanned: number;
  min: number;
  max: number;
  /** Index of the last finite value, -1 when none yet. */
  lastIndex: number;
}

/** Energy of a run: the sum of its run-scope figures, or why there is none. Never a made-up 0. */
/** What the kernel's energy reason codes (ARCHITECTURE.md, `energy`) mean, for people. */
function reasonTexts(): Record<string, string> {
  return {
    library_not_found: trans().__('no energy library (NVML, amdsmi) and no RAPL interface found'),
    no_devices: trans().__('no GPU or CPU energy sensor found'),
    not_supported: trans().__('no supported energy sensor on this machine'),
    permission: trans().__('no permission to read the energy sensors'),
    device_lost: trans().__('the device was lost during the run'),
    counter_reset: trans().__('the energy counter was reset during the run')
  };
}

/** A reason code as text, keeping the code so it can be looked up (unknown codes as they are). */
export function describeEnergyReason(reason: string | null): string {
  if (reason === null) {
    return trans().__('unavailable');
  }
  const texts = reasonTexts();
  const text = Object.prototype.hasOwnProperty.call(texts, reason) ? texts[reason] : null;
  return text ? `${text} (${reason})` : reason;
}

/** Why a run has no energy figure: each unmeasured device's reason, or that it was not measured yet. */
export function missingEnergy(run: IRun): string {
  const missing = run.energy.filter(figure => figure.scope === 'run' && figure.joules === null);
  if (missing.length) {
    return missing
      .map(figure => (figure.device === 'none' ? '' : `${figure.device}: `) + describeEnergyReason(figure.reason))
      .join('; ');
  }
  return run.status === 'running' ? trans().__('measured when the run ends') : trans().__('energy was not measured for this run');
}

export function runEnergy(run: IRun): ICell {
  const figures = run.energy.filter(figure => figure.scope === 'run');
  const measured = figures.filter(figure => figure.joules !== null);
  const missing = figures.filter(figure => figure.joules === null);
  const reasons = missing.map(figure => `${figure.device}: ${describeEnergyReason(figure.reason)}`);
  if (measured.length === 0) {
    return { text: '—', sortValue: null, title: missingEnergy(run) };
  }
  const joules = measured.reduce((sum, figure) => sum + (figure.joules ?? 0), 0);
  const notes = measured
    .filter(figure => figure.resolutionLimited)
    .map(figure => trans().__("%1: below the sensor's resolution", figure.device));
  const title = [
    measured.map(figure => `${figure.device} (${figure.method || trans().__('unknown method')})`).join(', '),
    ...(reasons.length ? [trans().__('not included: %1', reasons.join('; '))] : []),
    ...notes
  ].join('\n');
  return {
    text: reasons.length ? trans().__('%1 (partial)', formatJoules(joules)) : formatJoules(joules),
    sortValue: joules,
    title
  };
}

export function formatJoules(joules: number): string {
  const units: [number, string][] = [
    [1e6, 'MJ'],
    [1e3, 'kJ'],
    [1, 'J']
  ];
  for (const [scale, unit] of units) {
    if (Math.abs(joules) >= scale) {
      return `${formatNumber(joules / scale)} ${unit}`;
    }
  }
  return `${formatNumber(joules)} J`;
}

/** Local time as `YYYY-MM-DD HH:MM:SS`: one width for every run, so the table does not jump. */
export function formatTime(ms: number): string {
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
  );
}

export function formatDuration(ms: number): string {
  if (ms < 1000) {
    // A sweep's short runs: "0s" would hide how long they took.
    return `${Math.max(0, Math.round(ms))} ms`;
  }
  if (ms < 10_000) {
    return `${Number((ms / 1000).toFixed(1))}s`;
  }
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) {
    return `${h}h ${String(m).padStart(2, '0')}m`;
  }
  return m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** Four significant digits, exponent form for very large or small magnitudes. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)) {
    return value.toExponential(3);
  }
  return String(Number(value.toPrecision(4)));
}

/** Text of a parameter value (JSON scalar or a repr string from the kernel). */
export function formatParam(value: unknown): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function paramSortValue(value: unknown): number | string | null {
  if (value === null || value === undefined) {
    return null;
  }
  return typeof value === 'number' ? value : formatParam(value);
}

/** Display label of a context id of a run ("" when none). */
export function contextName(run: IRun, ctx: number | null): string {
  return ctx === null ? '' : (run.contexts.get(ctx)?.name ?? trans().__('context %1', ctx));
}

/** Series of a run grouped by metric and context name: `metric [context]` -> series. */
export function metricGroups(run: IRun): Map<string, { metric: string; context: string; series: IMetricSeries[] }> {
  const groups = new Map<string, { metric: string; context: string; series: IMetricSeries[] }>();
  for (const series of run.series.values()) {
    if (!isDefaultRankSeries(series)) {
      continue; // ranks: the table summarises the kernel's and rank 0's series
    }
    const context = contextName(run, series.ctx);
    const key = JSON.stringify([series.metric, context]);
    const group = groups.get(key) ?? { metric: series.metric, context, series: [] };
    group.series.push(series);
    groups.set(key, group);
  }
  return groups;
}

/** Builds the table of the given runs, filtered and sorted. */
export function buildTable(runs: Iterable<IRun>, summaries: MetricSummaries, options: ITableOptions): ITable {
  const runList = Array.from(runs);
  // Params by key and role (`paramKey`): an output `lr` is its own column beside the input `lr`.
  const paramLabels = new Map<string, string>();
  const metricKeys = new Map<string, { metric: string; context: string }>();
  for (const run of runList) {
    for (const [key, param] of run.params) {
      paramLabels.set(key, paramLabel(param));
    }
    for (const [key, group] of metricGroups(run)) {
      metricKeys.set(key, { metric: group.metric, context: group.context });
    }
  }
  const sortedParams = Array.from(paramLabels.keys()).sort((a, b) =>
    paramLabels.get(a)! < paramLabels.get(b)! ? -1 : paramLabels.get(a)! > paramLabels.get(b)! ? 1 : 0
  );
  const sortedMetrics = Array.from(metricKeys).sort(([a], [b]) => a.localeCompare(b));

  // Runs of several notebooks (the side panel's folder modes) say which notebook each is from.
  const withNotebook = runList.some(run => run.notebook !== null);
  const columns: IColumn[] = [
    { key: 'name', label: trans().__('Run'), kind: 'name' },
    ...(withNotebook ? [{ key: 'notebook', label: trans().__('Notebook'), kind: 'notebook' as const }] : []),
    { key: 'experiment', label: trans().__('Experiment'), kind: 'experiment' },
    { key: 'status', label: trans().__('Status'), kind: 'status' },
    { key: 'start', label: trans().__('Start'), kind: 'start' },
    { key: 'duration', label: trans().__('Duration'), kind: 'duration' },
    ...sortedParams.map(key => ({ key: `param:${key}`, label: paramLabels.get(key)!, kind: 'param' as const })),
    ...sortedMetrics.flatMap(([key, { metric, context }]) => {
      const label = context ? `${metric} [${context}]` : metric;
      return [
        { key: `last:${key}`, label: trans().__('%1 last', label), kind: 'metric-last' as const },
        {
          key: `best:${key}`,
          label: lowerIsBetter(metric) ? trans().__('%1 best (min)', label) : trans().__('%1 best (max)', label),
          kind: 'metric-best' as const
        }
      ];
    }),
    { key: 'energy', label: trans().__('Energy'), kind: 'energy' }
  ];

  const labels = options.labels ?? new Map<string, string>();
  let rows = runList.map(run =>
    buildRow(run, labels.get(run.id) ?? runDisplayName(run), withNotebook, sortedParams, sortedMetrics, summaries, options.now)
  );
  const parents = new Map(runList.map(run => [run.id, run.parent]));
  const filter = options.filter?.trim().toLowerCase();
  if (filter) {
    const matching = new Set(
      rows.filter(row => row.cells.some(cell => cell.text.toLowerCase().includes(filter))).map(row => row.runId)
    );
    // A matching child run is shown under its parents, which give it its context.
    for (const runId of Array.from(matching)) {
      for (let parent = parents.get(runId); parent && !matching.has(parent); parent = parents.get(parent)) {
        matching.add(parent);
      }
    }
    rows = rows.filter(row => matching.has(row.runId));
  }
  const sort = options.sort;
  if (sort) {
    const index = columns.findIndex(column => column.key === sort.column);
    if (index >= 0) {
      rows.sort((a, b) => compareCells(a.cells[index], b.cells[index], sort.descending));
    }
  }
  return { columns, rows: nestUnderParents(rows, parents) };
}

/**
 * Puts each child run right below its parent (as MLflow groups a sweep's runs), keeping the
 * current order among siblings. A run whose parent is not shown stays at the top level.
 */
function nestUnderParents(rows: IRow[], parents: ReadonlyMap<string, string | null>): IRow[] {
  const shown = new Set(rows.map(row => row.runId));
  const childrenOf = new Map<string, IRow[]>();
  const roots: IRow[] = [];
  for (const row of rows) {
    const parent = parents.get(row.runId);
    if (parent && shown.has(parent) && parent !== row.runId) {
      childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), row]);
    } else {
      roots.push(row);
    }
  }
  const nested: IRow[] = [];
  const placed = new Set<string>();
  const place = (row: IRow, depth: number): void => {
    if (placed.has(row.runId)) {
      return; // a parent cycle in a damaged journal: each run is shown once
    }
    placed.add(row.runId);
    const children = childrenOf.get(row.runId) ?? [];
    nested.push({ ...row, depth, children: children.length });
    children.forEach(child => place(child, depth + 1));
  };
  roots.forEach(row => place(row, 0));
  rows.filter(row => !placed.has(row.runId)).forEach(row => place(row, 0));
  return nested;
}

/** A run's status as shown. */
export function statusLabel(status: RunStatus): string {
  return {
    running: trans().__('running'),
    finished: trans().__('finished'),
    failed: trans().__('failed'),
    interrupted: trans().__('interrupted'),
    crashed: trans().__('crashed')
  }[status];
}

/** An artifact's or a parameter's role as shown. */
export function roleLabel(role: 'input' | 'output'): string {
  return role === 'input' ? trans().__('input') : trans().__('output');
}

/** The status, and when the kernel could not keep every point, how many it lost and why. */
export function statusCell(run: IRun): ICell {
  const lost = run.lost
    ? ` · ${trans()._n('%2 points lost', '%2 points lost', run.lost.points, run.lost.points.toLocaleString('en-US'))}`
    : '';
  const why = [
    run.error ? `${run.error.ename}: ${run.error.evalue}` : '',
    run.lost
      ? trans()._n(
          "%1 logged points could not be kept: the journal's disk failed (%2)",
          "%1 logged points could not be kept: the journal's disk failed (%2)",
          run.lost.points,
          run.lost.reason
        )
      : ''
  ].filter(Boolean);
  return { text: statusLabel(run.status) + lost, sortValue: run.status, title: why.length ? why.join('\n') : undefined };
}

function buildRow(
  run: IRun,
  label: string,
  withNotebook: boolean,
  params: string[],
  metrics: [string, { metric: string; context: string }][],
  summaries: MetricSummaries,
  now: number
): IRow {
  const duration = (run.end ?? now) - run.start;
  const cells: ICell[] = [
    { text: label, sortValue: label, title: run.id },
    ...(withNotebook ? [{ text: run.notebook ?? '', sortValue: run.notebook }] : []),
    { text: run.experiment, sortValue: run.experiment },
    statusCell(run),
    { text: formatTime(run.start), sortValue: run.start, title: new Date(run.start).toLocaleString() },
    { text: formatDuration(duration), sortValue: duration }
  ];
  for (const key of params) {
    const param = run.params.get(key);
    cells.push(
      param
        ? { text: formatParam(param.value), sortValue: paramSortValue(param.value), title: roleLabel(param.role) }
        : { text: '', sortValue: null }
    );
  }
  const groups = metricGroups(run);
  for (const [key, { metric }] of metrics) {
    const group = groups.get(key);
    const { last, best } = group ? summaries.summarize(metric, group.series) : { last: null, best: null };
    cells.push(numberCell(last), numberCell(best));
  }
  cells.push(runEnergy(run));
  return { runId: run.id, status: run.status, cells, depth: 0, children: 0 };
}

function numberCell(value: number | null): ICell {
  return value === null ? { text: '', sortValue: null } : { text: formatNumber(value), sortValue: value };
}

/** Orders cells by sort value; empty cells go last whatever the direction. */
function compareCells(a: ICell, b: ICell, descending: boolean): number {
  if (a.sortValue === null || b.sortValue === null) {
    return a.sortValue === b.sortValue ? 0 : a.sortValue === null ? 1 : -1;
  }
  let order: number;
  if (typeof a.sortValue === 'number' && typeof b.sortValue === 'number') {
    order = a.sortValue - b.sortValue;
  } else {
    order = String(a.sortValue).localeCompare(String(b.sortValue), undefined, { numeric: true });
  }
  return descending ? -order : order;
}

/** Next sort after a click on a column header: ascending, then descending, then none. */
export function nextSort(current: ISort | null | undefined, column: string): ISort | null {
  if (!current || current.column !== column) {
    return { column, descending: false };
  }
  return current.descending ? null : { column, descending: true };
}

/** One line of the artifacts list: every text is a user string or made from one (render as text). */
export interface IArtifactRow {
  run: string;
  name: string;
  kind: string;
  size: string;
  /** Where it is and its hash. */
  title: string;
}

/** The artifacts of these runs, run by run in logging order. */
export function artifactRows(runs: readonly IRun[], labels: ReadonlyMap<string, string>): IArtifactRow[] {
  return runs.flatMap(run =>
    run.artifacts.map((artifact: IRunArtifact) => ({
      run: labels.get(run.id) ?? runDisplayName(run),
      name: artifact.name || artifact.path,
      kind: `${roleLabel(artifact.role)}${artifact.mediaType ? `, ${artifact.mediaType}` : ''}`,
      size: formatBytes(artifact.size),
      title: `${artifact.path}\nsha256 ${artifact.sha256}`
    }))
  );
}

export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB']
  ];
  for (const [scale, unit] of units) {
    if (bytes >= scale) {
      return `${formatNumber(bytes / scale)} ${unit}`;
    }
  }
  return `${bytes} B`;
}

/**
 * The order in which a view too narrow for every column folds them into a run's detail row
 * (folded first: highest number). The run's name and status are never folded; then the energy,
 * when some run has a figure (what nbprov measures per cell, in one short column); then, as
 * small-screen run tables do, the last metric values, the parameters, the best values, and the
 * bookkeeping columns. Energy no run has a figure for (a machine without sensors: a column of
 * dashes) folds first. The notebook column (the side panel's folder modes only) goes with the last
 * values: there it is what tells runs of the same name apart.
 */
const FOLD_PRIORITY: Record<ColumnKind, number> = {
  name: 0,
  status: 0,
  energy: 1,
  notebook: 2,
  'metric-last': 2,
  param: 3,
  'metric-best': 4,
  duration: 5,
  experiment: 6,
  start: 7
};
const UNMEASURED_ENERGY_PRIORITY = 8;

/** Width of the controls before the first column: the selection box and the detail button. */
const ROW_CONTROLS_PX = 56;
/** A cell's padding and border, and the name cell's colour swatch. */
const CELL_PADDING_PX = 14;
const NAME_SWATCH_PX = 16;
/** A button's padding, border and the space before it, besides its text. */
const BUTTON_EXTRAS_PX = 16;

/** Which columns a view shows as columns and which it folds into each run's detail row (indices). */
export interface IColumnFit {
  shown: number[];
  folded: number[];
}

/**
 * Fits the table's columns into `width` px, at any width, so that the table never scrolls
 * sideways: each column's width is estimated from its longest text (a cell, or a header's longest
 * word) at `charWidth` px a character; a run's name cell also holds the buttons labelled
 * `nameButtons`, by run id. The name and status columns always stay, and the others are added by FOLD_PRIORITY
 * (then table order) until the next one would not fit; the rest fold. Shown columns keep the
 * table's order.
 */
export function fitColumns(
  table: ITable,
  width: number,
  charWidth: number,
  nameButtons: ReadonlyMap<string, readonly string[]> = new Map()
): IColumnFit {
  const all = table.columns.map((_, index) => index);
  const buttonsPx = (runId: string): number =>
    (nameButtons.get(runId) ?? []).reduce((sum, label) => sum + label.length * charWidth + BUTTON_EXTRAS_PX, 0);
  const estimate = (index: number): number => {
    const column = table.columns[index];
    // Headers wrap at spaces: their longest word counts, plus the sort arrow.
    const header = Math.max(...column.label.split(/\s+/).map(word => word.length)) + 2;
    const widest = table.rows.reduce(
      (longest, row) =>
        Math.max(
          longest,
          row.cells[index].text.length * charWidth + (column.kind === 'name' ? NAME_SWATCH_PX + buttonsPx(row.runId) : 0)
        ),
      header * charWidth
    );
    return widest + CELL_PADDING_PX;
  };
  const priorities = all.map(index =>
    table.columns[index].kind === 'energy' && table.rows.every(row => row.cells[index].sortValue === null)
      ? UNMEASURED_ENERGY_PRIORITY
      : FOLD_PRIORITY[table.columns[index].kind]
  );
  const byPriority = [...all].sort((a, b) => priorities[a] - priorities[b] || a - b);
  const shown = new Set<number>();
  let used = ROW_CONTROLS_PX;
  for (const index of byPriority) {
    const needed = estimate(index);
    const kept = priorities[index] === 0;
    if (!kept && used + needed > width) {
      break;
    }
    shown.add(index);
    used += needed;
  }
  return { shown: all.filter(index => shown.has(index)), folded: all.filter(index => !shown.has(index)) };
}
