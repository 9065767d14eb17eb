/**
 * The runs view shared by the notebook widget and the side panel: runs table, live charts,
 * comparison and development graph of one run store. All user strings are set with textContent.
 */
import { Widget } from '@lumino/widgets';
import { IDiffHunk } from '../core/diff';
import { isDefaultRankSeries } from '../core/ranks';
import { trans } from '../i18n';
import { ExecutionStatus, IRun, IRunStore, RunStoreChange } from '../tokens';
import { CellReferences, ICellLocator } from './cellref';
import { MetricChart } from './chart';
import { ILine, XAxis, YScale } from './chartdata';
import { compareCode, compareMetrics, compareParams, IComparisonRow } from './compare';
import { element, option } from './dom';
import { charWidth, detailRow, disclosureButton } from './foldedtable';
import { splitPowerLines } from './energy';
import { EnergyCharts } from './energyview';
import { renderGitComparison } from './gitview';
import { capLegend, ColourScale, colourByParam, ILegend, IRunIdentity, PARAM_RAMP, runIdentities } from './runidentity';
import { SweepView } from './sweepview';
import {
  artifactRows,
  buildTable,
  contextName,
  fitColumns,
  formatDuration,
  ISort,
  ITable,
  formatNumber,
  lowerIsBetter,
  MetricSummaries,
  nextSort
} from './tablemodel';
import { buildTimeline } from './timeline';

export type RunsTab = 'runs' | 'compare' | 'timeline';

/**
 * Chart and table refreshes are batched to at most one per this many ms, and to at most one per
 * RENDER_SHARE times the last refresh's duration: a refresh can reduce long lines whole again
 * (at 10 M points long enough to starve the page's ingest otherwise), and rebuild the table.
 */
const REFRESH_MS = 300;
const RENDER_SHARE = 4;
/**
 * While only new points arrive, the charts follow at every refresh, but the table and the sweep
 * view (last and best values) at most once per this many ms: rebuilding them made most of a
 * refresh over 1,000 runs, and so most of the wait before the charts showed a point.
 */
const SUMMARY_REFRESH_MS = 2000;
/**
 * Rows the runs table shows at first, and adds at each "show more", as MLflow pages its runs: the
 * browser's layout of a 1,000-row table alone took most of a second per filter keystroke.
 */
const PAGE_ROWS = 100;
/** Runs a chart legend names before "and N more" (the selected runs are always named). */
const LEGEND_CAP = 8;
/** Opacity of unselected runs while some are selected, and of raw values under a smoothed line. */
const FADED = 0.25;

function executionStatusLabel(status: ExecutionStatus): string {
  return {
    running: trans().__('running'),
    ok: trans().__('ok'),
    error: trans().__('error'),
    interrupted: trans().__('interrupted')
  }[status];
}

/** Views made so far in this page, for ids unique in the page. */
let viewCount = 0;

/** Runs Enter and Space like a click, for elements that are not buttons. */
function onActivate(node: HTMLElement, action: (event: Event) => void): void {
  node.addEventListener('click', action);
  node.addEventListener('keydown', event => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      action(event);
    }
  });
}

export class RunsView extends Widget {
  constructor() {
    super();
    this.addClass('nbprov-runs');
    this._buildToolbar();
    this.node.append(this._toolbar, this._message, this._runsSection, this._compareSection, this._timelineSection);
    this._moreRows.type = 'button';
    this._moreRows.addEventListener('click', () => {
      this._rowLimit += PAGE_ROWS;
      this._refresh('all');
    });
    this._runsSection.append(
      this._table,
      this._moreRows,
      this._cellRefs.notice,
      this._artifacts,
      this._colourKey,
      this._charts,
      this._sweep.node,
      this._energy.node
    );
    this._sweep.onControlChange = () => this._refresh('all');
    this._message.className = 'nbprov-message';
    this._message.setAttribute('role', 'status');
    this._showTab();
    // Charts take their colours from the theme when made: remake them when the theme changes.
    this._themeObserver.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-name'] });
    // The view's own width (a notebook output or the side panel, not the window) sizes the table
    // and the charts; Lumino's resize messages do not reach a widget inside an output area.
    this._resizeObserver.observe(this.node);
    // A web font still loading was measured as its fallback (charWidth): fit the table again.
    document.fonts?.addEventListener('loadingdone', this._onFontsLoaded);
  }

  /** Shows a store (or a message saying why there is none). */
  setStore(store: IRunStore | null, emptyMessage = trans().__('No runs recorded yet.')): void {
    if (this._store === store) {
      return;
    }
    this._store?.changed.disconnect(this._onStoreChanged, this);
    this._store = store;
    this._summaries = new MetricSummaries();
    this._emptyMessage = emptyMessage;
    this._selected.clear();
    this._rowLimit = PAGE_ROWS;
    this._sweep.clearBrushes();
    store?.changed.connect(this._onStoreChanged, this);
    this._rebuildCharts();
    this._refresh('all');
  }

  /** The tracker that cell references show notebook cells through (null: none here). */
  setCellLocator(locator: ICellLocator | null): void {
    this._cellRefs.locator = locator;
  }

  /** Restricts the view to these runs (empty: every run of the store). */
  setRunIds(runIds: readonly string[]): void {
    this._runIds = runIds.length ? new Set(runIds) : null;
    this._refresh('all');
  }

  /** Restricts the charts to these metrics (empty: every metric). */
  setMetrics(metrics: readonly string[]): void {
    this._metrics = metrics.length ? new Set(metrics) : null;
    this._refresh('all');
  }

  setXAxis(axis: XAxis): void {
    if (axis !== this._axis) {
      this._axis = axis;
      this._axisSelect.value = axis;
      this._rebuildCharts();
      this._refresh('all');
    }
  }

  setTab(tab: RunsTab): void {
    this._tab = tab;
    this._showTab();
    this._refresh('all');
  }

  /** Called when the user changes the x axis or the tab, so the notebook widget can sync them. */
  onUserChange: ((change: { xAxis?: XAxis; tab?: RunsTab }) => void) | null = null;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._store?.changed.disconnect(this._onStoreChanged, this);
    this._themeObserver.disconnect();
    this._resizeObserver.disconnect();
    document.fonts?.removeEventListener('loadingdone', this._onFontsLoaded);
    clearTimeout(this._timer);
    clearTimeout(this._summaryTimer);
    this._rebuildCharts();
    this._energy.dispose();
    super.dispose();
  }

  protected onAfterAttach(): void {
    this._refresh('all');
  }

  private _buildToolbar(): void {
    this._toolbar.className = 'nbprov-toolbar';
    this._filterInput.type = 'search';
    this._filterInput.placeholder = trans().__('Filter runs');
    this._filterInput.setAttribute('aria-label', trans().__('Filter runs'));
    this._filterInput.addEventListener('input', () => {
      this._filter = this._filterInput.value;
      this._refresh('all');
    });
    const axisLabel = element('label', 'nbprov-axis', `${trans().__('x axis')} `);
    for (const [value, text] of [
      ['step', trans().__('step')],
      ['epoch', trans().__('epoch')],
      ['relative', trans().__('time since start')],
      ['time', trans().__('wall time')]
    ]) {
      this._axisSelect.append(option(value, text));
    }
    this._axisSelect.addEventListener('change', () => {
      const axis = this._axisSelect.value as XAxis;
      this.setXAxis(axis);
      this.onUserChange?.({ xAxis: axis });
    });
    axisLabel.append(this._axisSelect);
    const scaleLabel = element('label', 'nbprov-scale', `${trans().__('y axis')} `);
    for (const [value, text] of [
      ['linear', trans().__('linear')],
      ['log', trans().__('log')]
    ]) {
      this._scaleSelect.append(option(value, text));
    }
    this._scaleSelect.addEventListener('change', () => {
      this._yScale = this._scaleSelect.value as YScale;
      this._rebuildCharts();
      this._refresh('all');
    });
    scaleLabel.append(this._scaleSelect);
    const smoothingLabel = element('label', 'nbprov-smoothing', `${trans().__('smoothing')} `);
    this._smoothingInput.type = 'range';
    this._smoothingInput.min = '0';
    this._smoothingInput.max = '0.99';
    this._smoothingInput.step = '0.01';
    this._smoothingInput.value = '0';
    this._smoothingValue.textContent = '0';
    this._smoothingInput.addEventListener('input', () => {
      this._smoothing = Number(this._smoothingInput.value);
      this._smoothingValue.textContent = String(this._smoothing);
      this._refresh('all');
    });
    smoothingLabel.append(this._smoothingInput, this._smoothingValue);
    const colourLabel = element('label', 'nbprov-colour-by', `${trans().__('colour by')} `);
    this._colourSelect.append(option('', trans().__('run')));
    this._colourSelect.addEventListener('change', () => {
      this._colourBy = this._colourSelect.value;
      this._refresh('all');
    });
    colourLabel.append(this._colourSelect);
    // ranks: the kernel's and rank 0's series by default, every rank's on demand
    this._allRanksCheck.type = 'checkbox';
    this._allRanksCheck.addEventListener('change', () => {
      this._allRanks = this._allRanksCheck.checked;
      this._rebuildCharts();
      this._refresh('all');
    });
    this._allRanksLabel.prepend(this._allRanksCheck);
    this._allRanksLabel.hidden = true;
    const tabs = element('div', 'nbprov-tabs');
    tabs.setAttribute('role', 'tablist');
    tabs.setAttribute('aria-label', trans().__('Views of the runs'));
    for (const [tab, text] of [
      ['runs', trans().__('Runs')],
      ['compare', trans().__('Compare')],
      ['timeline', trans().__('Development graph')]
    ] as [RunsTab, string][]) {
      const button = element('button', 'nbprov-tab', text);
      button.type = 'button';
      button.setAttribute('role', 'tab');
      button.dataset.tab = tab;
      // The WAI-ARIA tabs pattern: each tab names the panel it shows, which is labelled by it.
      const panel = this._sections()[tab];
      button.id = `${this._idPrefix}-tab-${tab}`;
      panel.id = `${this._idPrefix}-panel-${tab}`;
      button.setAttribute('aria-controls', panel.id);
      panel.setAttribute('role', 'tabpanel');
      panel.setAttribute('aria-labelledby', button.id);
      button.addEventListener('click', () => {
        this.setTab(tab);
        this.onUserChange?.({ tab });
      });
      tabs.append(button);
    }
    // The WAI-ARIA tabs pattern: arrows, Home and End move between tabs; Tab leaves the tab list.
    tabs.addEventListener('keydown', event => {
      const buttons = Array.from(tabs.querySelectorAll<HTMLButtonElement>('.nbprov-tab'));
      const current = buttons.findIndex(button => button.dataset.tab === this._tab);
      const next = {
        ArrowRight: (current + 1) % buttons.length,
        ArrowLeft: (current + buttons.length - 1) % buttons.length,
        Home: 0,
        End: buttons.length - 1
      }[event.key];
      if (next !== undefined) {
        event.preventDefault();
        buttons[next].click();
        buttons[next].focus();
      }
    });
    this._toolbar.append(this._filterInput, axisLabel, scaleLabel, smoothingLabel, colourLabel, this._allRanksLabel, tabs);
  }

  private _sections(): Record<RunsTab, HTMLElement> {
    return { runs: this._runsSection, compare: this._compareSection, timeline: this._timelineSection };
  }

  private _showTab(): void {
    for (const [tab, section] of Object.entries(this._sections())) {
      section.hidden = tab !== this._tab;
    }
    for (const button of this._toolbar.querySelectorAll<HTMLButtonElement>('.nbprov-tab')) {
      const selected = button.dataset.tab === this._tab;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
    }
  }

  private _onStoreChanged(_: IRunStore, changes: readonly RunStoreChange[]): void {
    for (const change of changes) {
      if (change.kind === 'points') {
        this._dirtyLines.add(`${change.runId}/${change.seriesKey}`);
      } else {
        this._runsChanged = true;
      }
    }
    this._refresh('dirty');
  }

  /**
   * Schedules a refresh; at most one runs per REFRESH_MS. New points wait longer after a costly
   * refresh (RENDER_SHARE), so a large ingest is not starved; a change the user made ('all') does not.
   */
  private _refresh(scope: 'all' | 'dirty'): void {
    if (scope === 'all') {
      this._runsChanged = true;
      this._allDirty = true;
    }
    const interval = scope === 'all' ? REFRESH_MS : Math.max(REFRESH_MS, RENDER_SHARE * this._lastRenderMs);
    const due = Math.max(Date.now(), this._lastRefresh + interval);
    if (this._timer !== undefined) {
      if (due >= this._timerDue) {
        return;
      }
      clearTimeout(this._timer);
    }
    this._timerDue = due;
    this._timer = setTimeout(() => {
      this._timer = undefined;
      const started = (this._lastRefresh = Date.now());
      this._render();
      // The charts reduce their lines in the microtasks after this task: timed from the next one.
      setTimeout(() => (this._lastRenderMs = Date.now() - started), 0);
    }, due - Date.now());
  }

  /** `summaries`: the table and the sweep view catch up with the points the charts drew. */
  private _render(summaries = false): void {
    if (this.isDisposed) {
      return;
    }
    // Read before the table is rebuilt: a width read after DOM changes makes the browser lay out
    // the whole page (a 1,000-row table: most of a second) before it would anyway.
    const width = this._chartAreaWidth();
    if (this._tab === 'runs' && !this._runsChanged && !this._allDirty && !summaries) {
      this._renderCharts(this._shownRuns, width);
      this._dirtyLines.clear();
      this._scheduleSummaries();
      return;
    }
    clearTimeout(this._summaryTimer);
    this._summaryTimer = undefined;
    this._lastSummaries = Date.now();
    const runs = this._visibleRuns();
    this._message.textContent = this._store ? (runs.length ? '' : this._emptyMessage) : this._emptyMessage;
    this._identities = this._colouredIdentities();
    const table = this._renderTable();
    if (this._tab === 'runs') {
      // The charts show the runs the table shows: filtered, in the table's order.
      const byId = new Map(runs.map(run => [run.id, run]));
      const shown = (this._shownRuns = table.rows.map(row => byId.get(row.runId)!));
      this._renderArtifacts(shown);
      this._renderColourKey();
      this._sweep.update(shown, this._identities, this._selected, this._summaries, width);
      this._renderCharts(shown, width);
    } else if (this._tab === 'compare') {
      this._renderCompare();
    } else {
      this._renderTimeline();
    }
    this._runsChanged = false;
    this._allDirty = false;
    this._dirtyLines.clear();
  }

  /**
   * The table and the sweep view catch up with new points SUMMARY_REFRESH_MS after they last did,
   * in a task of their own once the frame with the charts' points was painted: in the charts' task,
   * their rebuild delayed that paint.
   */
  private _scheduleSummaries(): void {
    if (this._summaryTimer !== undefined) {
      return;
    }
    // As the charts' refreshes: at most one per RENDER_SHARE times its cost (a 1,000-run table).
    const interval = Math.max(SUMMARY_REFRESH_MS, RENDER_SHARE * this._lastSummariesMs);
    const wait = Math.max(0, interval - (Date.now() - this._lastSummaries));
    const timer = setTimeout(() => {
      requestAnimationFrame(() =>
        setTimeout(() => {
          // Unless a full render came first.
          if (this._summaryTimer === timer) {
            this._summaryTimer = undefined;
            const started = Date.now();
            this._render(true);
            this._lastSummariesMs = Date.now() - started;
          }
        }, 0)
      );
    }, wait);
    this._summaryTimer = timer;
  }

  private _visibleRuns(): IRun[] {
    if (!this._store) {
      return [];
    }
    const runs = Array.from(this._store.runs.values());
    return this._runIds ? runs.filter(run => this._runIds!.has(run.id)) : runs;
  }

  private _selectedRuns(): IRun[] {
    return this._visibleRuns().filter(run => this._selected.has(run.id));
  }

  /**
   * Every run's label and colour: by run, or by the chosen input parameter (the choices follow the
   * parameters the store's runs have).
   */
  private _colouredIdentities(): Map<string, IRunIdentity> {
    const all = this._store ? Array.from(this._store.runs.values()) : [];
    const identities = runIdentities(all);
    const keys = Array.from(
      new Set(
        all.flatMap(run =>
          Array.from(run.params.values())
            .filter(one => one.role === 'input')
            .map(one => one.key)
        )
      )
    ).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    if (keys.join('\0') !== this._colourKeys.join('\0')) {
      this._colourKeys = keys;
      this._colourSelect.replaceChildren(this._colourSelect.options[0], ...keys.map(key => option(key, key)));
      this._colourSelect.value = keys.includes(this._colourBy) ? this._colourBy : '';
    }
    if (!keys.includes(this._colourBy)) {
      this._colourScale = { kind: 'run' };
      return identities;
    }
    const { colors, scale } = colourByParam(all, this._colourBy);
    this._colourScale = scale;
    for (const [runId, identity] of identities) {
      identity.color = colors.get(runId)!;
    }
    return identities;
  }

  /** What the colours mean when they stand for a parameter's values. */
  private _renderColourKey(): void {
    const scale = this._colourScale;
    if (scale.kind === 'run') {
      this._colourKey.replaceChildren();
      return;
    }
    if (scale.kind === 'continuous') {
      const bar = element('span', 'nbprov-colour-ramp');
      bar.style.background = `linear-gradient(to right, ${PARAM_RAMP.join(', ')})`;
      this._colourKey.replaceChildren(
        `${scale.param}: ${formatNumber(scale.min)} `,
        bar,
        ` ${formatNumber(scale.max)}${scale.log ? ` ${trans().__('(log scale)')}` : ''}`
      );
      return;
    }
    this._colourKey.replaceChildren(
      `${scale.param}: `,
      ...scale.values.flatMap(({ value, color }) => {
        const swatch = element('span', 'nbprov-swatch');
        swatch.style.backgroundColor = color;
        return [swatch, `${value} `];
      })
    );
  }

  /** The display label of a run, as every part of the view names it. */
  private _label(run: IRun): string {
    return this._identities.get(run.id)?.label ?? run.name;
  }

  private _labels(): Map<string, string> {
    return new Map(Array.from(this._identities, ([id, identity]) => [id, identity.label]));
  }

  private _renderTable(): ITable {
    const focusedKey = (document.activeElement as HTMLElement | null)?.dataset?.focusKey;
    const table = buildTable(this._visibleRuns(), this._summaries, {
      now: Date.now(),
      sort: this._sort,
      filter: this._filter,
      labels: this._labels()
    });
    const head = element('thead');
    const headRow = element('tr');
    const selectHeader = element('th', 'nbprov-select');
    selectHeader.setAttribute('aria-label', trans().__('Selected'));
    headRow.append(selectHeader);
    // One Tab stop for the header row (the last header used, else the first); arrows move along it.
    const headers: HTMLElement[] = [];
    const page = table.rows.slice(0, this._rowLimit);
    const buttons = new Map(page.map(row => [row.runId, this._nameButtons(row.runId)]));
    // The columns that do not fit fold into each run's detail row.
    const labels = new Map(Array.from(buttons, ([runId, shown]) => [runId, shown.map(button => button.textContent ?? '')]));
    const fit = fitColumns(table, this.node.clientWidth, charWidth(getComputedStyle(this.node)), labels);
    for (const column of fit.shown.map(index => table.columns[index])) {
      const th = element('th', `nbprov-col-${column.kind}`, column.label);
      th.tabIndex = -1;
      th.dataset.focusKey = `head:${column.key}`;
      th.addEventListener('focus', () => (this._headerFocus = column.key));
      headers.push(th);
      const sorted = this._sort?.column === column.key;
      th.setAttribute('aria-sort', sorted ? (this._sort!.descending ? 'descending' : 'ascending') : 'none');
      onActivate(th, () => {
        this._sort = nextSort(this._sort, column.key);
        this._refresh('all');
      });
      headRow.append(th);
    }
    (headers.find(th => th.dataset.focusKey === `head:${this._headerFocus}`) ?? headers[0]).tabIndex = 0;
    headRow.addEventListener('keydown', event => {
      const index = headers.indexOf(event.target as HTMLElement);
      const next =
        index < 0
          ? undefined
          : {
              ArrowRight: Math.min(index + 1, headers.length - 1),
              ArrowLeft: Math.max(index - 1, 0),
              Home: 0,
              End: headers.length - 1
            }[event.key];
      if (next !== undefined) {
        event.preventDefault();
        headers[index].tabIndex = -1;
        headers[next].tabIndex = 0;
        headers[next].focus();
      }
    });
    head.append(headRow);

    const body = element('tbody');
    for (const row of page) {
      const tr = element('tr', `nbprov-row nbprov-status-${row.status}`);
      const selected = this._selected.has(row.runId);
      tr.setAttribute('aria-selected', String(selected));
      const checkCell = element('td', 'nbprov-select');
      const check = element('input');
      check.type = 'checkbox';
      check.checked = selected;
      check.dataset.focusKey = `select:${row.runId}`;
      check.setAttribute('aria-label', trans().__('Select run %1', row.cells[0].text));
      check.addEventListener('change', () => this._toggle(row.runId, check.checked));
      checkCell.append(check);
      tr.append(checkCell);
      fit.shown.forEach(index => {
        const cell = row.cells[index];
        const td = element('td', `nbprov-col-${table.columns[index].kind}`, cell.text);
        if (cell.title) {
          td.title = cell.title;
        }
        tr.append(td);
      });
      if (row.depth > 0) {
        // Indented under its parent run, as a sweep's runs are grouped.
        tr.classList.add('nbprov-child-run');
        tr.dataset.depth = String(row.depth);
        tr.style.setProperty('--nbprov-depth', String(row.depth));
        tr.children[1].prepend('↳ ');
      }
      const swatch = element('span', 'nbprov-swatch');
      swatch.style.backgroundColor = this._identities.get(row.runId)?.color ?? 'transparent';
      swatch.setAttribute('aria-hidden', 'true');
      tr.children[1].prepend(swatch);
      if (row.children > 0) {
        tr.classList.add('nbprov-parent-run');
        tr.children[1].append(
          element('span', 'nbprov-child-count', ` ${trans()._n('(%1 nested)', '(%1 nested)', row.children)}`)
        );
      }
      for (const button of buttons.get(row.runId)!) {
        tr.children[1].append(' ', button);
      }
      body.append(tr);
      if (fit.folded.length) {
        const detailId = `${this._idPrefix}-detail-${row.runId}`;
        const expanded = this._expanded.has(row.runId);
        const disclosure = disclosureButton(row.cells[0].text, detailId, expanded, open => {
          if (open) {
            this._expanded.add(row.runId);
          } else {
            this._expanded.delete(row.runId);
          }
          disclosure.setAttribute('aria-expanded', String(open));
          detail.hidden = !open;
        });
        disclosure.dataset.focusKey = `detail:${row.runId}`;
        checkCell.append(disclosure);
        const detail = detailRow(table, row, fit, detailId, expanded);
        body.append(detail);
      }
    }
    const caption = element(
      'caption',
      undefined,
      trans()._n('%1 run(s), %2 selected', '%1 run(s), %2 selected', table.rows.length, this._selected.size)
    );
    this._table.replaceChildren(caption, head, body);
    const notShown = table.rows.length - page.length;
    this._moreRows.hidden = notShown === 0;
    this._moreRows.textContent = trans()._n(
      'Show %2 more run (%1 not shown)',
      'Show %2 more runs (%1 not shown)',
      notShown,
      Math.min(PAGE_ROWS, notShown)
    );
    this._table.className = fit.folded.length ? 'nbprov-table nbprov-table-folded' : 'nbprov-table';
    if (focusedKey) {
      this._table.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focusedKey)}"]`)?.focus();
    }
    return table;
  }

  /** The buttons of a run's name cell: to its notebook cell, and to its execution in the development graph. */
  private _nameButtons(runId: string): HTMLButtonElement[] {
    const run = this._store?.runs.get(runId);
    if (!run || !this._store) {
      return [];
    }
    const buttons: HTMLButtonElement[] = [];
    const cellRef = this._cellRefs.button(run, this._store, this._label(run));
    if (cellRef) {
      buttons.push(cellRef);
    }
    if (run.exec) {
      const jump = element('button', 'nbprov-jump', trans().__('⤴ graph'));
      jump.type = 'button';
      jump.title = trans().__('Show the cell execution that ran this run in the development graph');
      jump.setAttribute('aria-label', trans().__('Show the execution of run %1 in the development graph', this._label(run)));
      jump.dataset.focusKey = `jump:${runId}`;
      jump.addEventListener('click', () => this._jumpToExecution(run.exec!));
      buttons.push(jump);
    }
    return buttons;
  }

  private _toggle(runId: string, selected: boolean): void {
    // The selection no longer is what the sweep view's brushes describe.
    this._sweep.clearBrushes();
    if (selected) {
      this._selected.add(runId);
    } else {
      this._selected.delete(runId);
    }
    this._refresh('all');
  }

  /** The sweep view's brushes select runs: the selection becomes the runs inside them. */
  private _selectBrushed(runIds: ReadonlySet<string>): void {
    this._selected.clear();
    runIds.forEach(runId => this._selected.add(runId));
    this._refresh('all');
  }

  /** The width charts are laid out in. */
  private _chartAreaWidth(): number {
    return Math.max(240, Math.min(1200, (this._charts.clientWidth || 640) - 8));
  }

  private _rebuildCharts(): void {
    for (const chart of this._chartsByMetric.values()) {
      chart.dispose();
    }
    this._chartsByMetric.clear();
  }

  /**
   * Lines of the shown runs by metric, coloured and labelled as everywhere else. While some runs
   * are selected, the others are drawn faded; with smoothing, each line's raw values are drawn
   * faded under its smoothed line.
   */
  private _linesByMetric(runs: readonly IRun[]): Map<string, ILine[]> {
    const anySelected = runs.some(run => this._selected.has(run.id));
    const byMetric = new Map<string, ILine[]>();
    let ranked = false;
    for (const run of runs) {
      const identity = this._identities.get(run.id) ?? { label: run.name, color: 'gray' };
      const opacity = anySelected && !this._selected.has(run.id) ? FADED : 1;
      for (const [key, series] of run.series) {
        if (this._metrics && !this._metrics.has(series.metric)) {
          continue;
        }
        ranked ||= series.rank !== undefined;
        if (!this._allRanks && !isDefaultRankSeries(series)) {
          continue;
        }
        const lines = byMetric.get(series.metric) ?? [];
        const line: ILine = {
          key: `${run.id}/${key}`,
          runId: run.id,
          label: series.rank === undefined ? identity.label : trans().__('%1 [rank %2]', identity.label, series.rank),
          color: identity.color,
          opacity,
          context: contextName(run, series.ctx),
          series,
          start: run.start,
          smoothing: 0
        };
        if (this._smoothing > 0) {
          lines.push({ ...line, opacity: opacity * FADED }, { ...line, key: `${line.key}~smoothed`, smoothing: this._smoothing });
        } else {
          lines.push(line);
        }
        byMetric.set(series.metric, lines);
      }
    }
    this._allRanksLabel.hidden = !ranked;
    return byMetric;
  }

  /** A chart's legend: the selected runs, then the best by the chart's metric, capped for sweeps. */
  private _legend(metric: string, lines: readonly ILine[], runs: readonly IRun[]): ILegend {
    const byId = new Map(runs.map(run => [run.id, run]));
    const best = new Map<string, number | null>();
    for (const runId of new Set(lines.map(line => line.runId))) {
      const series = Array.from(byId.get(runId)?.series.values() ?? []).filter(one => one.metric === metric);
      best.set(runId, this._summaries.summarize(metric, series).best);
    }
    return capLegend(
      lines.map(line => line.runId),
      this._selected,
      best,
      lowerIsBetter(metric),
      LEGEND_CAP
    );
  }

  /** The files the selected runs (else every shown run) logged or saved. */
  private _renderArtifacts(runs: readonly IRun[]): void {
    const selected = runs.filter(run => this._selected.has(run.id));
    const rows = artifactRows(selected.length ? selected : runs, this._labels());
    if (!rows.length) {
      this._artifacts.replaceChildren();
      return;
    }
    const table = element('table', 'nbprov-artifacts-table');
    table.append(element('caption', undefined, trans().__('Artifacts (%1)', rows.length)));
    const head = element('tr');
    for (const label of [trans().__('Run'), trans().__('Artifact'), trans().__('Kind'), trans().__('Size')]) {
      head.append(element('th', undefined, label));
    }
    table.append(element('thead'), element('tbody'));
    table.tHead!.append(head);
    for (const row of rows) {
      const tr = element('tr', 'nbprov-artifact');
      tr.title = row.title;
      tr.append(...[row.run, row.name, row.kind, row.size].map(text => element('td', undefined, text)));
      table.tBodies[0].append(tr);
    }
    this._artifacts.replaceChildren(table);
  }

  private _renderCharts(runs: readonly IRun[], width: number): void {
    const { metrics: byMetric, power } = splitPowerLines(this._linesByMetric(runs));
    for (const [metric, chart] of this._chartsByMetric) {
      if (!byMetric.has(metric)) {
        chart.dispose();
        this._chartsByMetric.delete(metric);
      }
    }
    // A chart's width is fixed when it is made: remake the charts when the view's width changed.
    if (Math.abs(width - this._chartWidth) > 16) {
      this._rebuildCharts();
      this._chartWidth = width;
    }
    // A copy: the charts read it after awaiting their first embedding, when this render has ended
    // and cleared `_dirtyLines`.
    const dirtyLines = this._allDirty || this._runsChanged ? 'all' : new Set(this._dirtyLines);
    const metrics = Array.from(byMetric.keys()).sort();
    for (const metric of metrics) {
      let chart = this._chartsByMetric.get(metric);
      const isNew = !chart;
      if (!chart) {
        chart = new MetricChart(metric, this._axis, this._yScale, width);
        this._chartsByMetric.set(metric, chart);
      }
      this._charts.append(chart.node); // keeps charts in metric order
      const lines = byMetric.get(metric)!;
      chart.update(lines, isNew ? 'all' : dirtyLines, this._legend(metric, lines, runs), this._selected).catch(error => {
        chart!.node.textContent = trans().__('Chart of %1 failed: %2', metric, String(error));
      });
    }
    const powerLegend = capLegend(
      power.map(line => line.runId),
      this._selected,
      new Map(),
      true,
      LEGEND_CAP
    );
    this._energy.update(runs, power, dirtyLines, width, this._identities, powerLegend);
  }

  private _renderCompare(): void {
    const runs = this._selectedRuns();
    if (runs.length < 2) {
      this._compareSection.replaceChildren(
        element('p', 'nbprov-message', trans().__('Select two or more runs in the Runs tab to compare them.'))
      );
      return;
    }
    const only = element('label', 'nbprov-only-differences');
    const onlyBox = element('input');
    onlyBox.type = 'checkbox';
    onlyBox.checked = this._onlyDifferences;
    onlyBox.addEventListener('change', () => {
      this._onlyDifferences = onlyBox.checked;
      this._renderCompare();
    });
    only.append(onlyBox, ` ${trans().__('show only differences')}`);
    const tables = (
      [
        [trans().__('Parameters'), trans().__('parameter'), 'nbprov-compare-params', compareParams(runs, 'input')],
        [trans().__('Outputs'), trans().__('output'), 'nbprov-compare-outputs', compareParams(runs, 'output')],
        [trans().__('Metrics'), trans().__('metric'), 'nbprov-compare-metrics', compareMetrics(runs, this._summaries)]
      ] as const
    ).flatMap(([title, what, className, rows]) =>
      rows.length ? [this._comparisonTable(runs, title, what, className, rows)] : []
    );

    const code = element('div', 'nbprov-compare-code');
    code.append(element('h3', undefined, trans().__('Code compared with %1', this._label(runs[0]))));
    const executions = this._store ? this._store.executions : new Map();
    for (const comparison of compareCode(runs, executions)) {
      const run = runs.find(candidate => candidate.id === comparison.runId)!;
      code.append(element('h4', undefined, this._label(run)));
      if (comparison.missing) {
        code.append(element('p', 'nbprov-message', comparison.missing));
      } else if (!comparison.hunks.length) {
        code.append(element('p', 'nbprov-message', trans().__('Same cell source.')));
      } else {
        code.append(renderHunks(comparison.hunks));
      }
    }
    this._compareSection.replaceChildren(
      only,
      ...tables,
      renderGitComparison(runs, run => this._label(run), renderHunks),
      code
    );
  }

  /** A section of the comparison: one row per compared quantity, one column per run. */
  private _comparisonTable(
    runs: readonly IRun[],
    title: string,
    what: string,
    className: string,
    rows: readonly IComparisonRow[]
  ): HTMLTableElement {
    const shown = this._onlyDifferences ? rows.filter(row => row.differs) : rows;
    const table = element('table', `nbprov-table ${className}`);
    const differing = rows.filter(row => row.differs).length;
    table.append(
      element('caption', undefined, trans()._n('%2 (%1 of %3 differ)', '%2 (%1 of %3 differ)', differing, title, rows.length))
    );
    const headRow = element('tr');
    headRow.append(element('th', undefined, what), ...runs.map(run => element('th', undefined, this._label(run))));
    table.append(element('thead'));
    table.tHead!.append(headRow);
    const body = element('tbody');
    for (const row of shown) {
      const tr = element('tr', row.differs ? 'nbprov-differs' : undefined);
      if (row.differs) {
        tr.setAttribute('aria-label', trans().__('%1 differs', row.key));
      }
      tr.append(element('th', undefined, row.key), ...row.values.map(value => element('td', undefined, value)));
      body.append(tr);
    }
    table.append(body);
    return table;
  }

  private _renderTimeline(): void {
    if (!this._store) {
      this._timelineSection.replaceChildren();
      return;
    }
    const entries = buildTimeline(this._store.executions, this._store.runs.values());
    if (!entries.length) {
      this._timelineSection.replaceChildren(element('p', 'nbprov-message', trans().__('No cell executions recorded yet.')));
      return;
    }
    const list = element('ol', 'nbprov-timeline');
    list.setAttribute('aria-label', trans().__('Cell executions'));
    for (const entry of entries) {
      const { execution } = entry;
      const item = element('li', `nbprov-exec nbprov-exec-${execution.status}`);
      item.dataset.exec = execution.id;
      item.tabIndex = -1;
      const summary = element(
        'div',
        'nbprov-exec-summary',
        `[${execution.count ?? ' '}] ${executionStatusLabel(execution.status)} · ` +
          `${entry.duration === null ? trans().__('running') : formatDuration(entry.duration)} · ` +
          `${trans().__('version %1', entry.version)} · ${new Date(execution.start).toLocaleTimeString()}`
      );
      item.append(summary);
      const runNames = entry.runIds.map(id => this._identities.get(id)?.label ?? id);
      if (runNames.length) {
        item.append(element('div', 'nbprov-exec-runs', trans().__('runs: %1', runNames.join(', '))));
      }
      const details = element('details');
      details.append(
        element('summary', undefined, entry.changes?.length ? trans().__('source and changes') : trans().__('source'))
      );
      details.append(element('pre', 'nbprov-source', execution.source));
      if (entry.changes?.length) {
        details.append(renderHunks(entry.changes));
      }
      item.append(details);
      list.append(item);
    }
    this._timelineSection.replaceChildren(list);
    if (this._pendingJump) {
      const target = list.querySelector<HTMLElement>(`[data-exec="${CSS.escape(this._pendingJump)}"]`);
      this._pendingJump = null;
      if (target) {
        target.classList.add('nbprov-exec-target');
        target.scrollIntoView({ block: 'nearest' });
        target.focus();
      }
    }
  }

  private _jumpToExecution(exec: string): void {
    this._pendingJump = exec;
    this.setTab('timeline');
    this.onUserChange?.({ tab: 'timeline' });
  }

  private _store: IRunStore | null = null;
  private _summaries = new MetricSummaries();
  private _emptyMessage = trans().__('No runs recorded yet.');
  private _runIds: Set<string> | null = null;
  private _metrics: Set<string> | null = null;
  private _axis: XAxis = 'step';
  private _yScale: YScale = 'linear';
  private _smoothing = 0;
  private _onlyDifferences = false;
  /** The input parameter colouring the runs ('' colours by run). */
  private _colourBy = '';
  private _colourKeys: string[] = [];
  private _colourScale: ColourScale = { kind: 'run' };
  /** The header column that holds the header row's Tab stop. */
  private _headerFocus = '';
  private _identities = new Map<string, IRunIdentity>();
  private _tab: RunsTab = 'runs';
  private _sort: ISort | null = null;
  private _filter = '';
  private _selected = new Set<string>();
  private _pendingJump: string | null = null;
  private _dirtyLines = new Set<string>();
  private _runsChanged = true;
  private _allDirty = true;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _lastRefresh = 0;
  /** When the scheduled refresh runs (ms since the epoch). */
  private _timerDue = 0;
  private _lastRenderMs = 0;
  /** When the table and the sweep view were last rebuilt, and the runs the charts then showed. */
  private _lastSummaries = 0;
  /** How long the last catching up of the table and the sweep view took (its synchronous part). */
  private _lastSummariesMs = 0;
  private _shownRuns: IRun[] = [];
  private _summaryTimer: ReturnType<typeof setTimeout> | undefined;
  private _chartsByMetric = new Map<string, MetricChart>();
  private _chartWidth = 0;
  private _observedWidth = 0;
  private _resizeObserver = new ResizeObserver(entries => {
    const width = entries[entries.length - 1].contentRect.width;
    if (Math.abs(width - this._observedWidth) >= 4) {
      this._observedWidth = width;
      this._refresh('all');
    }
  });
  private _onFontsLoaded = (): void => this._refresh('all');
  /** Runs whose detail row (the folded columns) is open. */
  private _expanded = new Set<string>();
  /** Prefix of the ids of this view's elements (tabs, panels, detail rows): unique in the page. */
  private _idPrefix = `nbprov-view-${++viewCount}`;
  private _themeObserver = new MutationObserver(() => {
    this._rebuildCharts();
    this._refresh('all');
  });
  private _toolbar = element('div');
  private _filterInput = element('input', 'jp-mod-styled');
  private _axisSelect = element('select', 'jp-mod-styled');
  private _scaleSelect = element('select', 'jp-mod-styled');
  private _colourSelect = element('select', 'jp-mod-styled');
  private _colourKey = element('div', 'nbprov-colour-key');
  private _smoothingInput = element('input');
  private _smoothingValue = element('span', 'nbprov-smoothing-value');
  private _allRanks = false;
  private _allRanksCheck = element('input');
  private _allRanksLabel = element('label', 'nbprov-all-ranks', ` ${trans().__('all ranks')}`);
  private _message = element('div');
  private _runsSection = element('div', 'nbprov-section');
  private _table = element('table');
  private _moreRows = element('button', 'jp-mod-styled nbprov-more-rows');
  /** Rows the table shows: PAGE_ROWS more at each "show more". */
  private _rowLimit = PAGE_ROWS;
  private _charts = element('div', 'nbprov-charts');
  private _artifacts = element('div', 'nbprov-artifacts');
  private _energy = new EnergyCharts();
  private _cellRefs = new CellReferences(renderHunks);
  private _sweep = new SweepView(runIds => this._selectBrushed(runIds));
  private _compareSection = element('div', 'nbprov-section');
  private _timelineSection = element('div', 'nbprov-section');
}

/** A diff as text lines, each marked added / removed / context by class and prefix. */
export function renderHunks(hunks: readonly IDiffHunk[]): HTMLElement {
  const pre = element('pre', 'nbprov-diff');
  for (const hunk of hunks) {
    pre.append(
      element('span', 'nbprov-diff-hunk', `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@\n`)
    );
    for (const line of hunk.lines) {
      const prefix = line.kind === 'added' ? '+' : line.kind === 'removed' ? '-' : ' ';
      pre.append(element('span', `nbprov-diff-${line.kind}`, `${prefix}${line.text}\n`));
    }
  }
  return pre;
}
