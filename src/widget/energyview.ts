/**
 * Energy in the runs view: a "Power (W)" chart of the sampled power series against wall time, and
 * a metric-versus-energy trade-off chart (one point per run) with the runs it cannot plot listed
 * beside it with their reason. Glue over the pure `energy.ts`; Vega-Lite through the same lazy
 * vega-embed as the metric charts.
 */
import type { View } from 'vega';
import { trans } from '../i18n';
import { IRun } from '../tokens';
import { MetricChart, themeConfig } from './chart';
import { ILine } from './chartdata';
import { element, option } from './dom';
import { buildTradeoff, groupOmissions, ITradeoff, ITradeoffMetric, TradeoffStatistic, tradeoffMetrics } from './energy';
import { ILegend, IRunIdentity } from './runidentity';
import { formatJoules, formatNumber, MetricSummaries } from './tablemodel';

const DATA = 'runs';

function statisticLabel(statistic: TradeoffStatistic): string {
  return statistic === 'last' ? trans().__('last') : trans().__('best');
}

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
        this._power = new MetricChart(trans().__('Power (W)'), 'time', 'linear', width);
        this._powerSlot.append(this._power.node);
      }
      const chart = this._power;
      chart.update(power, isNew ? 'all' : dirty, legend).catch(error => {
        chart.node.textContent = trans().__('Power chart failed: %1', String(error));
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
  const valueTitle = `${metric.label} (${statisticLabel(statistic)})`;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: trans().__('%1 vs energy', valueTitle),
    // Vega labels its container with this (else with its own English "Vega visualization").
    description: trans().__('%1 vs energy', valueTitle),
    width,
    height: 200,
    data: { name: DATA },
    mark: { type: 'point', filled: true, size: 80 },
    encoding: {
      x: { field: 'joules', type: 'quantitative', title: trans().__('run energy (J)') },
      y: { field: 'value', type: 'quantitative', title: valueTitle, scale: { zero: false } },
      color: { field: 'color', type: 'nominal', scale: null, legend: null },
      shape: { field: 'measured', type: 'nominal', title: trans().__('energy') },
      tooltip: [
        { field: 'run', type: 'nominal', title: trans().__('run') },
        { field: 'energy', type: 'nominal', title: trans().__('energy') },
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
    this.node.setAttribute('aria-label', trans().__('Metric against energy across runs'));
    const metricLabel = element('label', undefined, `${trans().__('metric')} `);
    metricLabel.append(this._metricSelect);
    const valueLabel = element('label', undefined, `${trans().__('value')} `);
    for (const statistic of ['last', 'best'] as TradeoffStatistic[]) {
      this._statisticSelect.append(option(statistic, statisticLabel(statistic)));
    }
    valueLabel.append(this._statisticSelect);
    this._metricSelect.addEventListener('change', () => this._selectionChanged());
    this._statisticSelect.addEventListener('change', () => this._selectionChanged());
    const controls = element('div', 'nbprov-tradeoff-controls');
    controls.append(element('span', 'nbprov-tradeoff-title', trans().__('Trade-off: metric vs energy')), metricLabel, valueLabel);
    const body = element('div', 'nbprov-tradeoff-body');
    this._plot.className = 'nbprov-chart-plot';
    this._plot.setAttribute('role', 'img');
    this._omitted.setAttribute('aria-label', trans().__('Runs not plotted'));
    // The embed target gets vega-embed's own display style, so a wrapper is what hides it.
    this._plotBox.append(this._plot);
    body.append(this._plotBox, this._omittedBox);
    this._omittedBox.append(element('div', 'nbprov-tradeoff-omitted-title', trans().__('Not plotted')), this._omitted);
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
    this._message.textContent = tradeoff.points.length
      ? ''
      : trans().__('No run has both an energy figure and a value of %1.', metric.label);
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
          energy: point.partial ? trans().__('%1 (partial)', formatJoules(point.joules)) : formatJoules(point.joules),
          measured: point.partial ? trans().__('partial (some devices unmeasured)') : trans().__('all devices')
        }));
        this._plot.setAttribute(
          'aria-label',
          trans().__(
            '%1 (%2) against energy: %3',
            metric.label,
            statisticLabel(statistic),
            tradeoff.points
              .map(point => trans().__('%1 %2 at %3', point.run, formatNumber(point.value), formatJoules(point.joules)))
              .join(', ')
          )
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
        this._plot.textContent = trans().__('Trade-off chart failed: %1', String(error));
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
    this._metricSelect.replaceChildren(...metrics.map(metric => option(metric.key, metric.label)));
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
            ? trans()._n('All %1 runs', 'All %1 runs', group.runs.length)
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
