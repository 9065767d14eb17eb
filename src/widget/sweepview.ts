/**
 * The sweep view of the runs view: a scatter of a parameter against a metric's aggregate, and
 * parallel coordinates over every input parameter plus that metric, drawn on canvas. Dragging
 * over the scatter or along an axis brushes an interval; the runs inside every brush become the
 * view's run selection (the table's checkboxes), and clearing the brushes clears it.
 * The data (aggregates, axes, brushes) is sweepdata.ts's; this module only draws and listens.
 */
import { IRun } from '../tokens';
import { themeColor } from './chart';
import { element, option } from './dom';
import { trans } from '../i18n';
import { IRunIdentity } from './runidentity';
import {
  Aggregate,
  Brush,
  brushBetween,
  brushedRuns,
  brushExtent,
  dimension,
  IDimension,
  ITick,
  metricAggregates,
  parameterDimensions,
  position,
  sweepMetrics,
  ticks
} from './sweepdata';
import { MetricSummaries } from './tablemodel';

/** Opacity of runs outside the selection while some are selected (as the line charts fade them). */
const FADED = 0.2;
/** Runs an aria-label names before "and N more". */
const NAMED_RUNS = 8;
/** A pointer that moved less than this (px) between press and release clicked: it clears the brush. */
const CLICK_PX = 3;

/** The plot area inside a canvas, in CSS pixels. */
interface IFrame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A pointer position relative to the element it acts on, in CSS pixels. */
interface IPoint {
  x: number;
  y: number;
}

/** What the last update showed, for redrawing while brushing. */
interface IShown {
  runIds: string[];
  identities: ReadonlyMap<string, IRunIdentity>;
  selected: ReadonlySet<string>;
  metric: IDimension;
  x: IDimension | null;
  axes: IDimension[];
}

/** The ticks of a vertical axis this many CSS pixels high. */
function verticalTicks(axis: IDimension, height: number): ITick[] {
  return ticks(axis, Math.max(2, Math.floor(height / 40)));
}

/**
 * The room left of a vertical axis for its tick labels, so that none is cut at the canvas's
 * edge: the widest label and a gap, at least `least` px (without a canvas, `least`).
 */
function labelRoom(context: CanvasRenderingContext2D | null, axis: IDimension, height: number, least: number): number {
  if (!context) {
    return least;
  }
  const widest = Math.max(0, ...verticalTicks(axis, height).map(tick => context.measureText(tick.label).width));
  return Math.max(least, Math.ceil(widest) + 12);
}

export class SweepView {
  readonly node = element('section', 'nbprov-sweep');

  /** `onSelect` receives the runs inside the brushes: an empty set when the brushes were cleared. */
  constructor(private readonly _onSelect: (runIds: Set<string>) => void) {
    this.node.setAttribute('aria-label', trans().__('Sweep'));
    const controls = element('div', 'nbprov-sweep-controls');
    controls.append(
      this._labelled(trans().__('metric'), this._metricSelect),
      this._labelled(trans().__('aggregate'), this._aggregateSelect),
      this._labelled(trans().__('scatter x'), this._xSelect),
      this._clearButton,
      this._status
    );
    for (const [value, text] of [
      ['last', trans().__('last')],
      ['min', trans().__('min')],
      ['max', trans().__('max')]
    ]) {
      this._aggregateSelect.append(option(value, text));
    }
    for (const select of [this._metricSelect, this._aggregateSelect, this._xSelect]) {
      select.addEventListener('change', () => this._onControlChange());
    }
    this._clearButton.type = 'button';
    this._clearButton.textContent = trans().__('Clear brush');
    this._clearButton.addEventListener('click', () => this._setBrushes([]));
    this._status.setAttribute('role', 'status');
    for (const [chart, canvas] of [
      [this._scatter, this._scatterCanvas],
      [this._parallel, this._parallelCanvas]
    ] as const) {
      chart.setAttribute('role', 'img');
      chart.append(canvas);
    }
    this._scatter.dataset.chart = 'scatter';
    this._parallel.dataset.chart = 'parallel';
    this._listenToScatter();
    const charts = element('div', 'nbprov-sweep-charts');
    charts.append(this._scatter, this._parallel);
    this.node.append(controls, charts);
    this.node.hidden = true;
  }

  /**
   * Shows these runs (the table's, in its order) as the identities colour them; `selected` is
   * the view's selection. Hidden while no run has both an input parameter and a metric.
   */
  update(
    runs: readonly IRun[],
    identities: ReadonlyMap<string, IRunIdentity>,
    selected: ReadonlySet<string>,
    summaries: MetricSummaries,
    width: number
  ): void {
    const metrics = sweepMetrics(runs);
    const parameters = parameterDimensions(runs);
    this._fillSelect(this._metricSelect, metrics, metrics);
    this._fillSelect(
      this._xSelect,
      parameters.map(axis => axis.key),
      parameters.map(axis => axis.title)
    );
    if (!metrics.length || !parameters.length || runs.length < 2) {
      this.node.hidden = true;
      this._shown = null;
      return;
    }
    this.node.hidden = false;
    const metricName = this._metricSelect.value;
    const aggregate = this._aggregateSelect.value as Aggregate;
    const metric = dimension(
      'metric',
      `${metricName} (${this._aggregateSelect.selectedOptions[0]?.textContent ?? aggregate})`,
      metricAggregates(runs, metricName, aggregate, summaries)
    ) ?? { key: 'metric', title: metricName, kind: 'linear', domain: [0, 0], categories: [], values: new Map() };
    const x = parameters.find(axis => axis.key === this._xSelect.value) ?? null;
    this._shown = { runIds: runs.map(run => run.id), identities, selected, metric, x, axes: [...parameters, metric] };
    this._width = width;
    this._draw();
  }

  /** Forgets the brushes without touching the selection (the table's checkboxes changed it). */
  clearBrushes(): void {
    if (this._brushes.length) {
      this._brushes = [];
      this._draw();
    }
  }

  private _labelled(text: string, control: HTMLElement): HTMLLabelElement {
    const label = element('label', 'nbprov-sweep-control', `${text} `);
    label.append(control);
    return label;
  }

  /** Replaces a select's options when they changed, keeping the chosen value while it is offered. */
  private _fillSelect(select: HTMLSelectElement, values: readonly string[], texts: readonly string[]): void {
    const current = Array.from(select.options, one => one.value);
    if (current.join('\0') !== values.join('\0')) {
      const chosen = select.value;
      select.replaceChildren(...values.map((value, index) => option(value, texts[index])));
      select.value = values.includes(chosen) ? chosen : (values[0] ?? '');
    }
  }

  /** Called when a control changed, so that the owner updates this view with the new choice. */
  onControlChange: (() => void) | null = null;

  private _onControlChange(): void {
    // The metric axis now stands for another quantity: its brush would select by the old one.
    if (this._brushOf('metric')) {
      this._setBrushes(this._withBrush('metric', null));
    }
    this.onControlChange?.();
  }

  /**
   * Sets the brushes and redraws at once. Only a `final` change (a release, a click, a control)
   * hands the runs inside them to the owner as its selection: during a drag that would lay the
   * page out again under the pointer (the line charts' legends grow with the selection, and this
   * view sits below them), and the axis being dragged would move away from it.
   */
  private _setBrushes(brushes: Brush[], final = true): void {
    this._brushes = brushes;
    if (!this._shown) {
      return;
    }
    const runIds = this._brushes.length ? brushedRuns(this._shown.runIds, this._shown.axes, this._brushes) : new Set<string>();
    this._shown = { ...this._shown, selected: runIds };
    this._draw();
    if (final) {
      this._onSelect(runIds);
    }
  }

  private _brushOf(key: string): Brush | undefined {
    return this._brushes.find(brush => brush.key === key);
  }

  private _withBrush(key: string, brush: Brush | null): Brush[] {
    return [...this._brushes.filter(one => one.key !== key), ...(brush ? [brush] : [])];
  }

  // ---- drawing

  private _draw(): void {
    const shown = this._shown;
    if (!shown) {
      return;
    }
    const wide = this._width >= 760;
    const scatterWidth = wide ? Math.round(this._width * 0.38) : this._width;
    const parallelWidth = wide ? this._width - scatterWidth - 12 : this._width;
    this._drawScatter(shown, scatterWidth);
    this._drawParallel(shown, parallelWidth);
    const count = shown.runIds.filter(runId => shown.selected.has(runId)).length;
    this._status.textContent = this._brushes.length
      ? trans().__('%1 of %2 runs inside the brush', count, shown.runIds.length)
      : '';
    this._clearButton.disabled = !this._brushes.length;
    this.node.dataset.brushed = String(this._brushes.length ? count : 0);
  }

  /** A canvas sized for `width` × `height` CSS pixels at the screen's resolution, cleared. */
  private _context(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | null {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const context = canvas.getContext('2d');
    if (!context) {
      return null; // no canvas here (a DOM without one): the aria-label still describes the chart
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = themeColor('--jp-layout-color1', 'white');
    context.fillRect(0, 0, width, height);
    context.font = `11px ${themeColor('--jp-ui-font-family', 'sans-serif')}`;
    return context;
  }

  /** The runs drawn, faded ones first so that the selected are drawn on top. */
  private _drawOrder(shown: IShown): { runId: string; color: string; alpha: number }[] {
    const anySelected = shown.runIds.some(runId => shown.selected.has(runId));
    const runs = shown.runIds.map(runId => ({
      runId,
      color: shown.identities.get(runId)?.color ?? 'gray',
      alpha: anySelected && !shown.selected.has(runId) ? FADED : 1
    }));
    return [...runs.filter(run => run.alpha < 1), ...runs.filter(run => run.alpha === 1)];
  }

  private _drawScatter(shown: IShown, width: number): void {
    const height = 240;
    const context = this._context(this._scatterCanvas, width, height);
    const { x, metric } = shown;
    const plotHeight = height - 24 - 40;
    const left = labelRoom(context, metric, plotHeight, 56);
    const frame: IFrame = { left, top: 24, width: width - left - 14, height: plotHeight };
    this._scatterFrame = frame;
    this._scatter.dataset.x = x?.title ?? '';
    this._scatter.setAttribute(
      'aria-label',
      trans().__('Scatter of %1 against %2: %3.', metric.title, x?.title ?? '', this._runNames(shown, metric)) +
        ' ' +
        this._howToSelect()
    );
    if (!context || !x) {
      return;
    }
    const text = themeColor('--jp-ui-font-color1', '#222');
    context.fillStyle = text;
    context.textAlign = 'left';
    context.fillText(trans().__('%1 against %2', metric.title, x.title), 4, 14);
    this._drawAxis(context, x, frame, 'horizontal');
    this._drawAxis(context, metric, frame, 'vertical');
    for (const run of this._drawOrder(shown)) {
      const xValue = x.values.get(run.runId);
      const yValue = metric.values.get(run.runId);
      const tx = xValue === undefined ? null : position(x, xValue);
      const ty = yValue === undefined ? null : position(metric, yValue);
      if (tx === null || ty === null) {
        continue;
      }
      context.globalAlpha = run.alpha;
      context.fillStyle = run.color;
      context.beginPath();
      context.arc(frame.left + tx * frame.width, frame.top + (1 - ty) * frame.height, 3.5, 0, 2 * Math.PI);
      context.fill();
    }
    context.globalAlpha = 1;
    const xBrush = this._brushOf(x.key);
    const yBrush = this._brushOf(metric.key);
    if (xBrush || yBrush) {
      const [x0, x1] = (xBrush && brushExtent(x, xBrush)) || [0, 1];
      const [y0, y1] = (yBrush && brushExtent(metric, yBrush)) || [0, 1];
      this._drawBrush(context, {
        left: frame.left + x0 * frame.width,
        top: frame.top + (1 - y1) * frame.height,
        width: (x1 - x0) * frame.width,
        height: (y1 - y0) * frame.height
      });
    }
  }

  private _drawParallel(shown: IShown, width: number): void {
    const height = 260;
    const { axes } = shown;
    const context = this._context(this._parallelCanvas, width, height);
    const plotHeight = height - 34 - 16;
    const left = labelRoom(context, axes[0], plotHeight, 48);
    const frame: IFrame = { left, top: 34, width: width - left - 48, height: plotHeight };
    const xOf = (index: number) => frame.left + (axes.length === 1 ? frame.width / 2 : (index * frame.width) / (axes.length - 1));
    this._parallelFrame = frame;
    this._parallel.setAttribute(
      'aria-label',
      trans().__(
        'Parallel coordinates of %1 over %2: %3.',
        shown.metric.title,
        axes
          .slice(0, -1)
          .map(axis => axis.title)
          .join(', '),
        this._runNames(shown, shown.metric)
      ) +
        ' ' +
        this._howToSelect()
    );
    this._placeAxisHandles(axes, frame, xOf);
    if (!context) {
      return;
    }
    context.lineWidth = 1.25;
    for (const run of this._drawOrder(shown)) {
      context.globalAlpha = run.alpha;
      context.strokeStyle = run.color;
      context.beginPath();
      let drawing = false;
      axes.forEach((axis, index) => {
        const value = axis.values.get(run.runId);
        const t = value === undefined ? null : position(axis, value);
        if (t === null) {
          drawing = false; // a missing value breaks the line: nothing is made up
          return;
        }
        const [px, py] = [xOf(index), frame.top + (1 - t) * frame.height];
        if (drawing) {
          context.lineTo(px, py);
        } else {
          context.moveTo(px, py);
        }
        drawing = true;
      });
      context.stroke();
    }
    context.globalAlpha = 1;
    const text = themeColor('--jp-ui-font-color1', '#222');
    axes.forEach((axis, index) => {
      const axisX = xOf(index);
      const column: IFrame = { left: axisX, top: frame.top, width: 0, height: frame.height };
      this._drawAxis(context, axis, column, 'vertical');
      context.fillStyle = text;
      context.textAlign = index === 0 ? 'left' : index === axes.length - 1 ? 'right' : 'center';
      context.fillText(axis.title, axisX + (index === 0 ? -20 : index === axes.length - 1 ? 20 : 0), frame.top - 20);
      const brush = this._brushOf(axis.key);
      const extent = brush && brushExtent(axis, brush);
      if (extent) {
        this._drawBrush(context, {
          left: axisX - 8,
          top: frame.top + (1 - extent[1]) * frame.height,
          width: 16,
          height: (extent[1] - extent[0]) * frame.height
        });
      }
    });
  }

  /** An axis line with its ticks: along the frame's bottom, or at its left edge. */
  private _drawAxis(
    context: CanvasRenderingContext2D,
    axis: IDimension,
    frame: IFrame,
    orientation: 'horizontal' | 'vertical'
  ): void {
    const line = themeColor('--jp-border-color1', '#bbb');
    const muted = themeColor('--jp-ui-font-color2', '#666');
    context.strokeStyle = line;
    context.fillStyle = muted;
    context.lineWidth = 1;
    context.beginPath();
    if (orientation === 'horizontal') {
      const y = frame.top + frame.height;
      context.moveTo(frame.left, y);
      context.lineTo(frame.left + frame.width, y);
      context.textAlign = 'center';
      for (const tick of ticks(axis, Math.max(2, Math.floor(frame.width / 70)))) {
        const x = frame.left + tick.position * frame.width;
        context.moveTo(x, y);
        context.lineTo(x, y + 4);
        context.fillText(tick.label, x, y + 15);
      }
      context.fillText(axis.title + (axis.kind === 'log' ? trans().__(' (log)') : ''), frame.left + frame.width / 2, y + 31);
    } else {
      context.moveTo(frame.left, frame.top);
      context.lineTo(frame.left, frame.top + frame.height);
      context.textAlign = 'right';
      for (const tick of verticalTicks(axis, frame.height)) {
        const y = frame.top + (1 - tick.position) * frame.height;
        context.moveTo(frame.left - 4, y);
        context.lineTo(frame.left, y);
        context.fillText(tick.label, frame.left - 6, y + 4);
      }
    }
    context.stroke();
  }

  private _drawBrush(context: CanvasRenderingContext2D, box: IFrame): void {
    context.fillStyle = themeColor('--jp-brand-color1', '#1976d2');
    context.globalAlpha = 0.15;
    context.fillRect(box.left, box.top, box.width, box.height);
    context.globalAlpha = 0.8;
    context.strokeStyle = themeColor('--jp-brand-color1', '#1976d2');
    context.strokeRect(box.left, box.top, box.width, box.height);
    context.globalAlpha = 1;
  }

  /** The runs a chart shows, named for its text alternative: the selected first, capped. */
  private _runNames(shown: IShown, metric: IDimension): string {
    const plotted = shown.runIds.filter(runId => metric.values.has(runId));
    const ordered = [
      ...plotted.filter(runId => shown.selected.has(runId)),
      ...plotted.filter(runId => !shown.selected.has(runId))
    ];
    const names = ordered.slice(0, NAMED_RUNS).map(runId => shown.identities.get(runId)?.label ?? runId);
    const selected = plotted.filter(runId => shown.selected.has(runId)).length;
    const more = ordered.length - names.length;
    return (
      trans()._n('%1 run', '%1 runs', plotted.length) +
      (selected ? ' ' + trans().__('(%1 selected)', selected) : '') +
      (names.length ? ', ' + names.join(', ') : '') +
      (more ? ' ' + trans().__('and %1 more', more) : '')
    );
  }

  private _howToSelect(): string {
    return trans().__('Drag along an axis to select the runs inside; by keyboard, select runs with the runs table’s checkboxes.');
  }

  // ---- brushing

  /**
   * One handle per axis, over the canvas: dragging along it brushes that axis, a click clears it.
   * The handles are for the pointer only (aria-hidden); the table's checkboxes are the keyboard's.
   */
  private _placeAxisHandles(axes: readonly IDimension[], frame: IFrame, xOf: (index: number) => number): void {
    // Kept across redraws (keyed by axis): a handle being dragged must stay in the page.
    const handles = axes.map((axis, index) => {
      let handle = this._handles.get(axis.key);
      if (!handle) {
        handle = this._axisHandle(axis.key);
        this._handles.set(axis.key, handle);
      }
      handle.style.left = `${xOf(index) - 10}px`;
      handle.style.top = `${frame.top}px`;
      handle.style.height = `${frame.height}px`;
      return handle;
    });
    for (const key of this._handles.keys()) {
      if (!axes.some(axis => axis.key === key)) {
        this._handles.delete(key);
      }
    }
    const children = [this._parallelCanvas, ...handles];
    const placed = this._parallel.children;
    // Re-inserting the handle being dragged would end its pointer capture.
    if (placed.length !== children.length || children.some((child, index) => placed[index] !== child)) {
      this._parallel.replaceChildren(...children);
    }
  }

  private _axisHandle(key: string): HTMLElement {
    const handle = element('div', 'nbprov-sweep-axis');
    handle.dataset.axis = key;
    handle.setAttribute('aria-hidden', 'true');
    this._dragOn(handle, (start, end, moved, final) => {
      const axis = this._shown?.axes.find(one => one.key === key);
      const height = this._parallelFrame?.height;
      if (!axis || !height) {
        return;
      }
      const t = (point: IPoint) => 1 - point.y / height;
      this._setBrushes(this._withBrush(key, moved ? brushBetween(axis, t(start), t(end)) : null), final);
    });
    return handle;
  }

  /** Dragging over the scatter brushes its parameter and the metric; a click clears both. */
  private _listenToScatter(): void {
    this._dragOn(this._scatterCanvas, (start, end, moved, final) => {
      const shown = this._shown;
      const frame = this._scatterFrame;
      if (!shown?.x || !frame) {
        return;
      }
      const tx = (point: IPoint) => (point.x - frame.left) / frame.width;
      const ty = (point: IPoint) => 1 - (point.y - frame.top) / frame.height;
      let brushes = this._withBrush(shown.x.key, moved ? brushBetween(shown.x, tx(start), tx(end)) : null);
      brushes = [
        ...brushes.filter(one => one.key !== 'metric'),
        ...(moved ? [brushBetween(shown.metric, ty(start), ty(end))] : [])
      ];
      this._setBrushes(brushes, final);
    });
  }

  /**
   * Calls `brush` on every move of a drag that started on `node`, and once more at its release
   * (`final`), with points relative to the node where each event happened (the page may scroll
   * during a drag). The moves and the release are followed on the window: the pointer may leave
   * the node while dragging.
   */
  private _dragOn(node: HTMLElement, brush: (start: IPoint, end: IPoint, moved: boolean, final: boolean) => void): void {
    const at = (event: PointerEvent): IPoint => {
      const box = node.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    };
    node.addEventListener('pointerdown', down => {
      if (down.button !== 0) {
        return;
      }
      down.preventDefault();
      node.setPointerCapture?.(down.pointerId);
      const start = at(down);
      let last = start;
      const moved = (end: IPoint) => Math.hypot(end.x - start.x, end.y - start.y) >= CLICK_PX;
      const onMove = (event: PointerEvent) => {
        last = at(event);
        if (moved(last)) {
          brush(start, last, true, false);
        }
      };
      // A cancelled drag (the browser took the pointer) keeps what was brushed until then.
      const onEnd = (event: PointerEvent) => {
        window.removeEventListener('pointermove', onMove);
        window.removeEventListener('pointerup', onEnd);
        window.removeEventListener('pointercancel', onEnd);
        const end = event.type === 'pointerup' ? at(event) : last;
        brush(start, end, moved(end), true);
      };
      window.addEventListener('pointermove', onMove);
      window.addEventListener('pointerup', onEnd);
      window.addEventListener('pointercancel', onEnd);
    });
  }

  private _metricSelect = element('select', 'jp-mod-styled');
  private _aggregateSelect = element('select', 'jp-mod-styled');
  private _xSelect = element('select', 'jp-mod-styled');
  private _clearButton = element('button', 'jp-mod-styled nbprov-sweep-clear');
  private _status = element('span', 'nbprov-sweep-status');
  private _scatter = element('div', 'nbprov-sweep-chart');
  private _parallel = element('div', 'nbprov-sweep-chart');
  private _scatterCanvas = element('canvas');
  private _parallelCanvas = element('canvas');
  private _scatterFrame: IFrame | null = null;
  private _parallelFrame: IFrame | null = null;
  private _handles = new Map<string, HTMLElement>();
  private _brushes: Brush[] = [];
  private _shown: IShown | null = null;
  private _width = 640;
}
