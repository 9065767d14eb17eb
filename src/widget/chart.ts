/**
 * One live metric chart: Vega-Lite through vega-embed (loaded on first use), fed incrementally
 * with Vega changesets from a ChartFeed; Vega draws the axes and the lines' extent, and the lines
 * are drawn on a canvas of the chart's own through Vega's scales. Zooming (x scale bound to
 * drag/wheel) re-reads the visible range from the store at full detail.
 */
import type { View } from 'vega';
import {
  ChartFeed,
  formatRounded,
  hoverValues,
  ChartRows,
  drawCanvasLines,
  drawnDash,
  IChartChange,
  ILine,
  logTicks,
  XAxis,
  YScale
} from './chartdata';
import { trans } from '../i18n';
import { element } from './dom';
import { ILegend } from './runidentity';

const DATA = 'points';
const ZOOM = 'zoom';
/** The Vega expression function giving a log y axis its tick values (chartdata.ts `logTicks`). */
const LOG_TICKS = 'nbprovLogTicks';
/** Runs a hover tooltip lists before "and N more", as the legends do (the selected always). */
const TOOLTIP_CAP = 8;
/** The namespace of the context key's dash samples. */
const SVG = 'http://www.w3.org/2000/svg';
/** A line is listed at a hovered x within this many pixels of its first and last points. */
const HOVER_REACH_PX = 6;

/** Reads a CSS custom property of the lab theme (light or dark). */
export function themeColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

/** Vega config from the JupyterLab theme variables, so charts follow light and dark themes. */
export function themeConfig(): Record<string, unknown> {
  const text = themeColor('--jp-ui-font-color1', '#222');
  const muted = themeColor('--jp-ui-font-color2', '#666');
  const grid = themeColor('--jp-border-color2', '#ddd');
  const font = themeColor('--jp-ui-font-family', 'sans-serif');
  return {
    background: themeColor('--jp-layout-color1', 'white'),
    font,
    axis: { labelColor: muted, titleColor: text, gridColor: grid, domainColor: grid, tickColor: grid },
    legend: { labelColor: muted, titleColor: text },
    title: { color: text }
  };
}

function xAxisTitle(axis: XAxis): string {
  return {
    step: trans().__('step'),
    epoch: trans().__('epoch'),
    time: trans().__('wall time'),
    relative: trans().__('time since the run started (s)')
  }[axis];
}

function spec(metric: string, axis: XAxis, yScale: YScale, width: number): Record<string, unknown> {
  const xTitle = xAxisTitle(axis);
  const xType = axis === 'time' ? 'temporal' : 'quantitative';
  // Colours and fading come with the rows (runidentity.ts decides them for every view alike), so
  // the charts draw no colour legend of their own: the view lists the runs once, capped for sweeps.
  const encoding = {
    // About one tick per 90 px, so a narrow chart (the side panel) does not run its labels together.
    x: {
      field: 'x',
      type: xType,
      title: xTitle,
      axis: { labelOverlap: true, labelFlush: true, tickCount: Math.max(2, Math.floor(width / 90)) }
    },
    y: {
      field: 'y',
      type: 'quantitative',
      title: metric,
      // A log domain rounded out to whole decades left most of a chart empty: the data's extent.
      scale: yScale === 'log' ? { type: 'log', nice: false } : { zero: false },
      axis: {
        format: '~g',
        labelOverlap: true,
        // Vega's own log ticks, thinned by overlap, left uneven gaps (2, 0.9, 0.7, 0.5, 0.3).
        ...(yScale === 'log' ? { values: { expr: `${LOG_TICKS}(domain('y'), height)` } } : {})
      }
    },
    color: { field: 'color', type: 'nominal', scale: null, legend: null },
    opacity: { field: 'opacity', type: 'quantitative', scale: null, legend: null },
    // The scale gives each context its dash; the chart draws the key itself (Vega's would show the
    // invisible points' dots), and only when some line has a context.
    // No per-point tooltip: the chart lists every run at the hovered x itself (MetricChart._hover).
    strokeDash: { field: 'context', type: 'nominal', legend: null }
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: metric,
    // Vega labels its container with this (else with its own English "Vega visualization").
    description: trans().__('Chart of metric %1', metric),
    // `width` is the whole chart's: the axes are laid out inside it again on every update
    // (the first layout runs on empty data, so a fixed layout would clip the axis labels).
    width,
    height: 180,
    autosize: { type: 'fit-x', contains: 'padding', resize: true },
    data: { name: DATA },
    encoding,
    layer: [
      {
        // The lines are drawn on the chart's own canvas: these invisible points span their extent.
        transform: [{ filter: 'datum.frame' }],
        mark: { type: 'point', filled: true, clip: true },
        params: [{ name: ZOOM, select: { type: 'interval', encodings: ['x'] }, bind: 'scales' }]
      },
      // A line of one point has no segment: its point is drawn as a dot.
      { transform: [{ filter: 'datum.solo' }], mark: { type: 'point', filled: true, clip: true, size: 40 } }
    ],
    config: themeConfig()
  };
}

/** The plot area's top left in Vega's canvas: its padding, then the origin of the data rectangle. */
function plotOrigin(view: View): [number, number] {
  const padding = view.padding();
  const { left = 0, top = 0 } = typeof padding === 'number' ? { left: padding, top: padding } : padding;
  const [x, y] = view.origin();
  return [left + x, top + y];
}

export class MetricChart {
  readonly node = document.createElement('div');

  constructor(
    readonly metric: string,
    private _axis: XAxis,
    private _yScale: YScale,
    private _width: number
  ) {
    this.node.className = 'nbprov-chart';
    this.node.dataset.metric = metric;
    this.node.setAttribute('role', 'img');
    this._plot.className = 'nbprov-chart-plot';
    this._legend.className = 'nbprov-legend';
    this._contextKey.className = 'nbprov-legend nbprov-context-key';
    this._note.className = 'nbprov-chart-note';
    this._rule.className = 'nbprov-hover-rule';
    this._linesCanvas.className = 'nbprov-chart-lines';
    this._tooltip.className = 'nbprov-hover-tooltip';
    this._rule.hidden = this._tooltip.hidden = true;
    this._plot.addEventListener('pointermove', event => this._onPointer(event));
    this._plot.addEventListener('pointerleave', () => this._hideHover());
    this.node.append(this._plot, this._contextKey, this._legend, this._note);
    this._feed = new ChartFeed(_axis, _width, _yScale);
  }

  /**
   * Brings the chart up to date with the given lines; `dirty` names lines with new points.
   * `legend` names the runs drawn (by their lines' labels and colours).
   */
  async update(
    lines: readonly ILine[],
    dirty: ReadonlySet<string> | 'all',
    legend: ILegend,
    selected: ReadonlySet<string> = new Set()
  ): Promise<void> {
    this._lines = lines;
    this._selected = selected;
    this._renderLegend(lines, legend);
    const view = await this._view();
    if (this._disposed) {
      return;
    }
    const change = this._feed.update(lines, dirty);
    // Nothing to draw again (the table's catching up redraws the view): Vega is not run.
    if (this._draws > 0 && !change.removeLines.size && !change.truncate.size && !change.insert.length) {
      return;
    }
    this._apply(view, change);
  }

  dispose(): void {
    this._disposed = true;
    cancelAnimationFrame(this._hoverFrame);
    cancelAnimationFrame(this._linesFrame);
    this._embedded?.then(view => view.finalize());
    this.node.remove();
  }

  /** The legend as text, and the chart's text alternative: a canvas is invisible to screen readers. */
  private _renderLegend(lines: readonly ILine[], legend: ILegend): void {
    const byRun = new Map(lines.map(line => [line.runId, line]));
    const items = legend.runIds.flatMap(runId => {
      const line = byRun.get(runId);
      if (!line) {
        return [];
      }
      const item = element('span', 'nbprov-legend-item');
      const swatch = element('span', 'nbprov-swatch');
      swatch.style.backgroundColor = line.color;
      item.append(swatch, line.label);
      item.dataset.run = runId;
      item.classList.toggle('nbprov-faded', line.opacity < 1);
      return [item];
    });
    const more = legend.more
      ? [element('span', 'nbprov-legend-more', trans()._n('and %1 more', 'and %1 more', legend.more))]
      : [];
    this._legend.replaceChildren(...items, ...more);
    const names = legend.runIds.map(runId => byRun.get(runId)?.label).filter(Boolean);
    const named = legend.more ? trans()._n('%2 and %1 more', '%2 and %1 more', legend.more, names.join(', ')) : names.join(', ');
    this.node.setAttribute(
      'aria-label',
      names.length
        ? trans().__('Chart of metric %1: %2', this.metric, named)
        : trans().__('Chart of metric %1: no runs', this.metric)
    );
  }

  /** Clears the chart and draws every line again. */
  private _redraw(view: View): void {
    this._feed.reset();
    this._rows = new ChartRows();
    this._apply(view, this._feed.update(this._lines, 'all'));
  }

  private _apply(view: View, change: IChartChange): void {
    const changes = this._vega!.changeset()
      .remove(() => true)
      .insert(this._rows.apply(change));
    // The points drawn, and how many times the chart was drawn, for tests and benchmarks reading
    // the chart from the page (a redraw can leave the count of points as it was).
    const points = this._rows.points;
    void view
      .change(DATA, changes)
      .runAsync()
      .then(() => {
        this._renderContextKey(view);
        this._drawLines(view);
        this.node.dataset.points = String(points);
        this.node.dataset.draws = String(++this._draws);
      });
    const notes = [];
    if (this._feed.nonFinite) {
      notes.push(
        trans()._n(
          '%1 non-finite value(s) (NaN/inf) not drawn',
          '%1 non-finite value(s) (NaN/inf) not drawn',
          this._feed.nonFinite
        )
      );
    }
    if (this._feed.nonPositive) {
      notes.push(
        trans()._n(
          '%1 value(s) ≤ 0 not drawn on the log scale',
          '%1 value(s) ≤ 0 not drawn on the log scale',
          this._feed.nonPositive
        )
      );
    }
    this._note.textContent = notes.join('; ');
  }

  /**
   * Draws the lines over Vega's plot area, through its current scales: after every Vega run, and
   * at each zoom step. The canvas lies beside Vega's, at the top left of their container (CSS), so
   * the plot's origin places it without reading the layout: a read here made the browser lay out
   * the page (a 1,000-row table) in the middle of the update.
   */
  private _drawLines(view: View): void {
    const canvas = this._linesCanvas;
    const vegaCanvas = this._plot.querySelector<HTMLCanvasElement>('canvas:not(.nbprov-chart-lines)');
    if (!vegaCanvas) {
      return;
    }
    const [originX, originY] = plotOrigin(view);
    const width = view.width();
    const height = view.height();
    const ratio = window.devicePixelRatio || 1;
    const size = [`${originX}px`, `${originY}px`, `${width}px`, `${height}px`];
    if (size.join() !== [canvas.style.left, canvas.style.top, canvas.style.width, canvas.style.height].join()) {
      [canvas.style.left, canvas.style.top, canvas.style.width, canvas.style.height] = size;
    }
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    if (!canvas.isConnected) {
      // Under the hover rule and tooltip, which come after it.
      vegaCanvas.after(canvas);
    }
    const context = canvas.getContext('2d');
    if (!context) {
      return;
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const x = view.scale('x') as (value: number) => number;
    const y = view.scale('y') as (value: number) => number;
    // The spec's context encoding: its scale gives each context Vega's dash pattern.
    const dash = view.scale('strokeDash') as (context: string) => number[] | undefined;
    drawCanvasLines(context, this._rows.canvasLines.values(), x, y, name => dash(name) ?? []);
  }

  /** Which dash stands for which context, drawn as the lines are; nothing while no line has one. */
  private _renderContextKey(view: View): void {
    const scale = view.scale('strokeDash') as (context: string) => number[] | undefined;
    const dash = (context: string): number[] => scale(context) ?? [];
    const contexts = this._rows.contexts;
    const shown = contexts.some(Boolean) ? contexts : [];
    if (shown.join('\0') === this._contextKey.dataset.contexts) {
      return;
    }
    this._contextKey.dataset.contexts = shown.join('\0');
    this._contextKey.replaceChildren(
      ...shown.map(name => {
        const item = element('span', 'nbprov-legend-item');
        const sample = document.createElementNS(SVG, 'svg');
        sample.setAttribute('class', 'nbprov-dash-sample');
        sample.setAttribute('aria-hidden', 'true');
        const stroke = document.createElementNS(SVG, 'line');
        for (const [attribute, value] of Object.entries({ x1: '0', y1: '5', x2: '24', y2: '5' })) {
          stroke.setAttribute(attribute, value);
        }
        stroke.setAttribute('stroke-dasharray', drawnDash(dash(name)).join(' '));
        sample.append(stroke);
        item.append(sample, name || trans().__('(none)'));
        return item;
      })
    );
    this._contextKey.hidden = shown.length === 0;
  }

  /** At most one hover computation per frame, however fast the pointer moves. */
  private _onPointer(event: PointerEvent): void {
    this._pointer = { clientX: event.clientX, clientY: event.clientY };
    if (this._hoverFrame === 0) {
      this._hoverFrame = requestAnimationFrame(() => {
        this._hoverFrame = 0;
        this._hover();
      });
    }
  }

  /**
   * A vertical rule at the hovered x and one tooltip listing every drawn run's value there (its
   * point nearest to x), with the run's swatch and label, rounded, largest first, capped.
   */
  private _hover(): void {
    const view = this._shownView;
    const canvas = this._plot.querySelector('canvas');
    if (!view || !canvas || !this._pointer) {
      return;
    }
    const box = canvas.getBoundingClientRect();
    const [originX, originY] = plotOrigin(view);
    const plotX = this._pointer.clientX - box.left - originX;
    const plotY = this._pointer.clientY - box.top - originY;
    if (plotX < 0 || plotX > view.width() || plotY < 0 || plotY > view.height()) {
      this._hideHover();
      return;
    }
    const scale = view.scale('x') as ((value: number) => number) & { invert(pixel: number): number | Date };
    const x = Number(scale.invert(plotX));
    const tolerance = Math.abs(Number(scale.invert(plotX + HOVER_REACH_PX)) - x);
    const hover = hoverValues(this._lines, this._axis, x, tolerance, this._selected, TOOLTIP_CAP);
    if (hover.x === null) {
      this._hideHover();
      return;
    }
    // Positions inside the plot container, which holds the canvas at its top left.
    const plotBox = this._plot.getBoundingClientRect();
    const ruleX = box.left - plotBox.left + originX + scale(hover.x);
    this._rule.style.left = `${ruleX}px`;
    this._rule.style.top = `${box.top - plotBox.top + originY}px`;
    this._rule.style.height = `${view.height()}px`;
    const header = element('div', 'nbprov-hover-x', `${xAxisTitle(this._axis)} ${this._formatX(hover.x)}`);
    const rows = hover.entries.map(entry => {
      const row = element('div', 'nbprov-hover-row');
      row.dataset.run = entry.runId;
      const swatch = element('span', 'nbprov-swatch');
      swatch.style.backgroundColor = entry.color;
      row.append(
        swatch,
        element('span', 'nbprov-hover-label', entry.label),
        element('span', 'nbprov-hover-value', formatRounded(entry.value))
      );
      return row;
    });
    const more = hover.more ? [element('div', 'nbprov-legend-more', trans().__('and %1 more', hover.more))] : [];
    this._tooltip.replaceChildren(header, ...rows, ...more);
    this._tooltip.dataset.x = String(hover.x);
    this._rule.hidden = this._tooltip.hidden = false;
    // Beside the rule, on the side with more room.
    const left = ruleX + 12 + this._tooltip.offsetWidth > plotBox.width ? ruleX - 12 - this._tooltip.offsetWidth : ruleX + 12;
    this._tooltip.style.left = `${Math.max(0, left)}px`;
    this._tooltip.style.top = `${Math.max(0, this._pointer.clientY - plotBox.top - 20)}px`;
    if (!this._rule.isConnected) {
      this._plot.append(this._rule, this._tooltip);
    }
  }

  private _hideHover(): void {
    this._pointer = null;
    this._rule.hidden = this._tooltip.hidden = true;
  }

  private _formatX(x: number): string {
    if (this._axis === 'time') {
      return new Date(x).toLocaleString();
    }
    return this._axis === 'relative' ? `${formatRounded(x)} s` : String(x);
  }

  private _view(): Promise<View> {
    if (!this._embedded) {
      this._embedded = this._embed();
    }
    return this._embedded;
  }

  private async _embed(): Promise<View> {
    const { default: embed, vega } = await import('vega-embed');
    this._vega = vega;
    vega.expressionFunction(LOG_TICKS, (domain: unknown, height: number) =>
      Array.isArray(domain) && domain.length === 2 ? logTicks([Number(domain[0]), Number(domain[1])], height) : []
    );
    // No vega-tooltip (HTML) and no actions menu: tooltips use Vega's plain-text handler.
    const result = await embed(this._plot, spec(this.metric, this._axis, this._yScale, this._width) as never, {
      actions: false,
      renderer: 'canvas',
      tooltip: false
    });
    result.view.addSignalListener(ZOOM, (_name, value: Record<string, [number, number]>) => {
      // The canvas lines follow each zoom step at once; the lines are re-read at full detail later.
      cancelAnimationFrame(this._linesFrame);
      this._linesFrame = requestAnimationFrame(() => this._drawLines(result.view));
      this._onZoom(value);
    });
    this._shownView = result.view;
    return result.view;
  }

  /** Debounced: re-reads the lines at full detail for the visible domain (or whole when reset). */
  private _onZoom(value: Record<string, [number, number]> | null): void {
    const range = value?.x;
    const domain: [number, number] | null = range && range.length === 2 ? [Number(range[0]), Number(range[1])] : null;
    clearTimeout(this._zoomTimer);
    this._zoomTimer = setTimeout(() => {
      void this._view().then(view => {
        if (this._disposed) {
          return;
        }
        this._feed.domain = domain;
        this._redraw(view);
      });
    }, 150);
  }

  private _plot = document.createElement('div');
  private _legend = document.createElement('div');
  private _contextKey = document.createElement('div');
  private _note = document.createElement('div');
  private _feed: ChartFeed;
  private _rows = new ChartRows();
  private _linesCanvas = document.createElement('canvas');
  private _linesFrame = 0;
  private _draws = 0;
  private _lines: readonly ILine[] = [];
  private _selected: ReadonlySet<string> = new Set();
  private _shownView: View | null = null;
  private _rule = document.createElement('div');
  private _tooltip = document.createElement('div');
  private _pointer: { clientX: number; clientY: number } | null = null;
  private _hoverFrame = 0;
  private _embedded: Promise<View> | null = null;
  private _vega: typeof import('vega') | null = null;
  private _disposed = false;
  private _zoomTimer: ReturnType<typeof setTimeout> | undefined;
}
