/**
 * One live metric chart: Vega-Lite through vega-embed (loaded on first use), fed incrementally
 * with Vega changesets from a ChartFeed. Zooming (x scale bound to drag/wheel) re-reads the
 * visible range from the store at full detail.
 */
import type { View } from 'vega';
import { ChartFeed, IChartChange, ILine, XAxis, YScale } from './chartdata';
import { trans } from '../i18n';
import { element } from './dom';
import { ILegend } from './runidentity';

const DATA = 'points';
const ZOOM = 'zoom';

/** Reads a CSS custom property of the lab theme (light or dark). */
function themeColor(name: string, fallback: string): string {
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
      scale: yScale === 'log' ? { type: 'log' } : { zero: false },
      axis: { format: '~g', labelOverlap: true }
    },
    color: { field: 'color', type: 'nominal', scale: null, legend: null },
    opacity: { field: 'opacity', type: 'quantitative', scale: null, legend: null },
    strokeDash: { field: 'context', type: 'nominal', title: trans().__('context') },
    detail: { field: 'key', type: 'nominal' },
    order: { field: 'i', type: 'quantitative' },
    tooltip: [
      { field: 'label', type: 'nominal', title: trans().__('run') },
      { field: 'context', type: 'nominal', title: trans().__('context') },
      axis === 'time'
        ? { field: 'x', type: 'temporal', title: xTitle, format: '%Y-%m-%d %H:%M:%S.%L' }
        : { field: 'x', type: 'quantitative', title: xTitle, format: axis === 'relative' ? '.4~g' : ',~g' },
      { field: 'y', type: 'quantitative', title: metric, format: '.5~g' }
    ]
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: metric,
    // Vega labels its container with this (else with its own English "Vega visualization").
    description: trans().__('Chart of metric %1', metric),
    // `width` is the whole chart's: axes and legend are laid out inside it again on every update
    // (the first layout runs on empty data, so a fixed layout would clip the axis labels).
    width,
    height: 180,
    autosize: { type: 'fit-x', contains: 'padding', resize: true },
    data: { name: DATA },
    encoding,
    layer: [
      {
        mark: { type: 'line', clip: true, interpolate: 'linear' },
        params: [{ name: ZOOM, select: { type: 'interval', encodings: ['x'] }, bind: 'scales' }]
      },
      // A line of one point draws nothing: its point is drawn as a dot.
      { transform: [{ filter: 'datum.solo' }], mark: { type: 'point', filled: true, clip: true, size: 40 } }
    ],
    config: themeConfig()
  };
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
    this._note.className = 'nbprov-chart-note';
    this.node.append(this._plot, this._legend, this._note);
    this._feed = new ChartFeed(_axis, _width, _yScale);
  }

  /**
   * Brings the chart up to date with the given lines; `dirty` names lines with new points.
   * `legend` names the runs drawn (by their lines' labels and colours).
   */
  async update(lines: readonly ILine[], dirty: ReadonlySet<string> | 'all', legend: ILegend): Promise<void> {
    this._lines = lines;
    this._renderLegend(lines, legend);
    const view = await this._view();
    if (this._disposed) {
      return;
    }
    this._apply(view, this._feed.update(lines, dirty));
  }

  dispose(): void {
    this._disposed = true;
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

  private _apply(view: View, change: IChartChange): void {
    const changes = this._vega!.changeset();
    if (change.removeLines.size) {
      changes.remove((row: { key: string }) => change.removeLines.has(row.key));
    }
    if (change.insert.length) {
      changes.insert(change.insert);
    }
    // The rows drawn, for tests and scripts reading the chart from the page.
    void view
      .change(DATA, changes)
      .runAsync()
      .then(() => {
        this.node.dataset.points = String(view.data(DATA).length);
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

  private _view(): Promise<View> {
    if (!this._embedded) {
      this._embedded = this._embed();
    }
    return this._embedded;
  }

  private async _embed(): Promise<View> {
    const { default: embed, vega } = await import('vega-embed');
    this._vega = vega;
    // No vega-tooltip (HTML) and no actions menu: tooltips use Vega's plain-text handler.
    const result = await embed(this._plot, spec(this.metric, this._axis, this._yScale, this._width) as never, {
      actions: false,
      renderer: 'canvas',
      tooltip: false
    });
    result.view.addSignalListener(ZOOM, (_name, value: Record<string, [number, number]>) => this._onZoom(value));
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
        this._feed.reset();
        this._feed.domain = domain;
        const change = this._feed.update(this._lines, 'all');
        change.removeLines = new Set(this._lines.map(line => line.key));
        this._apply(view, change);
      });
    }, 150);
  }

  private _plot = document.createElement('div');
  private _legend = document.createElement('div');
  private _note = document.createElement('div');
  private _feed: ChartFeed;
  private _lines: readonly ILine[] = [];
  private _embedded: Promise<View> | null = null;
  private _vega: typeof import('vega') | null = null;
  private _disposed = false;
  private _zoomTimer: ReturnType<typeof setTimeout> | undefined;
}
