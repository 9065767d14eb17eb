/**
 * Energy in the runs view: a "Power (W)" chart of the sampled power series against wall time, and
 * a metric-versus-energy trade-off chart (one point per run) with the runs it cannot plot listed
 * beside it with their reason. Glue over the pure `energy.ts`; Vega-Lite through the same lazy
 * vega-embed as the metric charts.
 */
import type { View } from 'vega';
import { IRun } from '../tokens';
import { MetricChart, themeConfig } from './chart';
import { ILine } from './chartdata';
import { element } from './dom';
import { buildTradeoff, groupOmissions, ITradeoff, ITradeoffMetric, TradeoffStatistic, tradeoffMetrics } from './energy';
import { ILegend, IRunIdentity } from './runidentity';
import { formatJoules, formatNumber, MetricSummaries } from './tablemodel';

export const POWER_CHART_TITLE = 'Power (W)';
const DATA = 'runs';

export class EnergyCharts {
  readonly node = element('div', 'nbprov-energy');

  constructor() {
    this.node.append(this._powerSlot, this._tradeoff.node);
  }

  /**
   * Brings both charts up to date; `dirty` names power lines with new points; `identities` are
   * the runs' labels and colours, `legend` the runs the power chart names.
   */
  update(
    runs: readonly IRun[],
    power: readonly ILine[],
    dirty: ReadonlySet<string> | 'all',
    width: number,
    identities: ReadonlyMap<string, IRunIdentity>,
    legend: ILegend
  ): void {
    if (!power.length) {
      this._power?.dispose();
      this._power = null;
    } else {
      const isNew = !this._power;
      if (!this._power) {
        this._power = new MetricChart(POWER_CHART_TITLE, 'time', 'linear', width);
        this._powerSlot.append(this._power.node);
      }
      const chart = this._power;
      chart.update(power, isNew ? 'all' : dirty, legend).catch(error => {
        chart.node.textContent = `Power chart failed: ${String(error)}`;
      });
    }
    this._tradeoff.update(runs, width, identities);
  }

  dispose(): void {
    this._power?.dispose();
    this._power = null;
    this._tradeoff.dispose();
  }

  private _powerSlot = element('div', 'nbprov-power');
  private _power: MetricChart | null = null;
  private _tradeoff = new TradeoffChart();
}

function tradeoffSpec(metric: ITradeoffMetric, statistic: TradeoffStatistic, width: number): Record<string, unknown> {
  const valueTitle = `${metric.label} (${statistic})`;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${valueTitle} vs energy`,
    width,
    height: 200,
    data: { name: DATA },
    mark: { type: 'point', filled: true, size: 80 },
    encoding: {
      x: { field: 'joules', type: 'quantitative', title: 'run energy (J)' },
      y: { field: 'value', type: 'quantitative', title: valueTitle, scale: { zero: false } },
      color: { field: 'color', type: 'nominal', scale: null, legend: null },
      shape: { field: 'measured', type: 'nominal', title: 'energy' },
      tooltip: [
        { field: 'run', type: 'nominal' },
        { field: 'energy', type: 'nominal', title: 'energy' },
        { field: 'value', type: 'quantitative', title: valueTitle }
      ]
    },
    config: themeConfig()
  };
}

/** Metric against run energy across runs. Re-embedded when the metric or statistic changes. */
class TradeoffChart {
  readonly node = element('div', 'nbprov-tradeoff');

  constructor() {
    this.node.setAttribute('aria-label', 'Metric against energy across runs');
    const metricLabel = element('label', undefined, 'metric ');
    metricLabel.append(this._metricSelect);
    const statisticLabel = element('label', undefined, 'value ');
    for (const statistic of ['last', 'best'] as TradeoffStatistic[]) {
      const option = element('option', undefined, statistic);
      option.value = statistic;
      this._statisticSelect.append(option);
    }
    statisticLabel.append(this._statisticSelect);
    this._metricSelect.addEventListener('change', () => this._selectionChanged());
    this._statisticSelect.addEventListener('change', () => this._selectionChanged());
    const controls = element('div', 'nbprov-tradeoff-controls');
    controls.append(element('span', 'nbprov-tradeoff-title', 'Trade-off: metric vs energy'), metricLabel, statisticLabel);
    const body = element('div', 'nbprov-tradeoff-body');
    this._plot.className = 'nbprov-chart-plot';
    this._plot.setAttribute('role', 'img');
    this._omitted.setAttribute('aria-label', 'Runs not plotted');
    // The embed target gets vega-embed's own display style, so a wrapper is what hides it.
    this._plotBox.append(this._plot);
    body.append(this._plotBox, this._omittedBox);
    this._omittedBox.append(element('div', 'nbprov-tradeoff-omitted-title', 'Not plotted'), this._omitted);
    this.node.append(controls, this._message, body);
  }

  update(runs: readonly IRun[], width: number, identities: ReadonlyMap<string, IRunIdentity>): void {
    this._runs = runs;
    this._width = width;
    this._identities = identities;
    const metrics = tradeoffMetrics(runs);
    this.node.hidden = metrics.length === 0;
    if (!metrics.length) {
      return;
    }
    this._syncMetricOptions(metrics);
    this._metrics = metrics;
    const metric = metrics.find(candidate => candidate.key === this._metricSelect.value) ?? metrics[0];
    const statistic = this._statisticSelect.value as TradeoffStatistic;
    const tradeoff = buildTradeoff(runs, metric, statistic, this._summaries, identities);
    this._renderOmitted(tradeoff);
    this._message.textContent = tradeoff.points.length ? '' : `No run has both an energy figure and a value of ${metric.label}.`;
    this._plotBox.hidden = tradeoff.points.length === 0;
    // Narrower than the metric charts, so the runs not plotted fit beside it.
    const plotWidth = Math.max(200, Math.min(420, Math.round(width / 2)));
    const specKey = JSON.stringify([metric.key, statistic, plotWidth]);
    if (specKey !== this._specKey) {
      this._specKey = specKey;
      this._embedded?.then(view => view.finalize());
      this._embedded = this._embed(tradeoffSpec(metric, statistic, plotWidth));
    }
    const embedded = this._embedded!;
    void embedded
      .then(view => {
        if (embedded !== this._embedded || !this._vega) {
          return;
        }
        const rows = tradeoff.points.map(point => ({
          run: point.run,
          color: point.color,
          joules: point.joules,
          value: point.value,
          energy: formatJoules(point.joules) + (point.partial ? ' (partial)' : ''),
          measured: point.partial ? 'partial (some devices unmeasured)' : 'all devices'
        }));
        this._plot.setAttribute(
          'aria-label',
          `${metric.label} (${statistic}) against energy: ` +
            tradeoff.points.map(point => `${point.run} ${formatNumber(point.value)} at ${formatJoules(point.joules)}`).join(', ')
        );
        return view
          .change(
            DATA,
            this._vega
              .changeset()
              .remove(() => true)
              .insert(rows)
          )
          .runAsync();
      })
      .catch(error => {
        this._plot.textContent = `Trade-off chart failed: ${String(error)}`;
      });
  }

  dispose(): void {
    this._embedded?.then(view => view.finalize());
    this._embedded = null;
    this.node.remove();
  }

  private _selectionChanged(): void {
    this.update(this._runs, this._width, this._identities);
  }

  /** Keeps the options in step with the metrics present, keeping the user's choice. */
  private _syncMetricOptions(metrics: readonly ITradeoffMetric[]): void {
    const same = metrics.length === this._metrics.length && metrics.every((metric, i) => metric.key === this._metrics[i].key);
    if (same) {
      return;
    }
    const chosen = this._metricSelect.value;
    this._metricSelect.replaceChildren(
      ...metrics.map(metric => {
        const option = element('option', undefined, metric.label);
        option.value = metric.key;
        return option;
      })
    );
    if (metrics.some(metric => metric.key === chosen)) {
      this._metricSelect.value = chosen;
    }
  }

  /** The runs not plotted, one line per reason: with no sensor, one line says why for every run. */
  private _renderOmitted(tradeoff: ITradeoff): void {
    this._omittedBox.hidden = tradeoff.omitted.length === 0;
    this._omitted.replaceChildren(
      ...groupOmissions(tradeoff.omitted).map(group => {
        const item = element('li', 'nbprov-tradeoff-omitted');
        const who =
          group.runs.length > 1 && group.runs.length === this._runs.length
            ? `All ${group.runs.length} runs`
            : group.runs.map(entry => entry.run).join(', ');
        item.dataset.runs = group.runs.map(entry => entry.runId).join(' ');
        item.title = group.runs.map(entry => entry.run).join('\n');
        item.append(element('strong', undefined, who), `: ${group.reason}`);
        return item;
      })
    );
  }

  private async _embed(spec: Record<string, unknown>): Promise<View> {
    const { default: embed, vega } = await import('vega-embed');
    this._vega = vega;
    const result = await embed(this._plot, spec as never, { actions: false, renderer: 'canvas', tooltip: false });
    return result.view;
  }

  private _runs: readonly IRun[] = [];
  private _identities: ReadonlyMap<string, IRunIdentity> = new Map();
  private _width = 400;
  private _metrics: ITradeoffMetric[] = [];
  private _summaries = new MetricSummaries();
  private _specKey = '';
  private _embedded: Promise<View> | null = null;
  private _vega: typeof import('vega') | null = null;
  private _metricSelect = element('select', 'jp-mod-styled');
  private _statisticSelect = element('select', 'jp-mod-styled');
  private _message = element('div', 'nbprov-message');
  private _plotBox = element('div', 'nbprov-tradeoff-plot');
  private _plot = element('div');
  private _omittedBox = element('div', 'nbprov-tradeoff-omitted-box');
  private _omitted = element('ul');
}
