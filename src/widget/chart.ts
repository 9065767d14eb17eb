/**
 * One live metric chart: Vega-Lite through vega-embed (loaded on first use), fed incrementally
 * with Vega changesets from a ChartFeed. Zooming (x scale bound to drag/wheel) re-reads the
 * visible range from the store at full detail.
 */
import type { View } from 'vega';
import { ChartFeed, IChartChange, ILine, XAxis } from './chartdata';

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

function spec(metric: string, axis: XAxis, width: number): Record<string, unknown> {
  const xTitle = { step: 'step', epoch: 'epoch', time: 'wall time' }[axis];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: metric,
    // `width` is the whole chart's: axes and legend are laid out inside it again on every update
    // (the first layout runs on empty data, so a fixed layout would clip the axis labels).
    width,
    height: 180,
    autosize: { type: 'fit-x', contains: 'padding', resize: true },
    data: { name: DATA },
    mark: { type: 'line', clip: true, interpolate: 'linear' },
    params: [{ name: ZOOM, select: { type: 'interval', encodings: ['x'] }, bind: 'scales' }],
    encoding: {
      x: { field: 'x', type: axis === 'time' ? 'temporal' : 'quantitative', title: xTitle },
      y: { field: 'y', type: 'quantitative', title: metric, scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: 'run' },
      strokeDash: { field: 'context', type: 'nominal', title: 'context' },
      detail: { field: 'key', type: 'nominal' },
      order: { field: 'i', type: 'quantitative' },
      tooltip: [
        { field: 'run', type: 'nominal' },
        { field: 'context', type: 'nominal' },
        { field: 'x', type: axis === 'time' ? 'temporal' : 'quantitative', title: xTitle },
        { field: 'y', type: 'quantitative', title: metric }
      ]
    },
    config: themeConfig()
  };
}

export class MetricChart {
  readonly node = document.createElement('div');

  constructor(
    readonly metric: string,
    private _axis: XAxis,
    private _width: number
  ) {
    this.node.className = 'nbprov-chart';
    this.node.setAttribute('role', 'img');
    this.node.setAttribute('aria-label', `Chart of metric ${metric}`);
    this._plot.className = 'nbprov-chart-plot';
    this._note.className = 'nbprov-chart-note';
    this.node.append(this._plot, this._note);
    this._feed = new ChartFeed(_axis, _width);
  }

  /** Brings the chart up to date with the given lines; `dirty` names lines with new points. */
  async update(lines: readonly ILine[], dirty: ReadonlySet<string> | 'all'): Promise<void> {
    this._lines = lines;
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
    const hidden = this._feed.nonFinite;
    this._note.textContent = hidden ? `${hidden} non-finite value(s) (NaN/inf) not drawn` : '';
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
    const result = await embed(this._plot, spec(this.metric, this._axis, this._width) as never, {
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
  private _note = document.createElement('div');
  private _feed: ChartFeed;
  private _lines: readonly ILine[] = [];
  private _embedded: Promise<View> | null = null;
  private _vega: typeof import('vega') | null = null;
  private _disposed = false;
  private _zoomTimer: ReturnType<typeof setTimeout> | undefined;
}
