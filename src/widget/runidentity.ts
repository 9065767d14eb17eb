/**
 * How a run is shown everywhere in the widget: one label and one colour, the same in the table,
 * every chart, its legend and the comparison. Pure, so the rules are unit-tested.
 */
import { runDisplayName } from '../core/model';
import { IRun, paramKey } from '../tokens';

/**
 * Line colours readable on both themes: each has a contrast of about 4:1 against the light
 * theme's white and the dark theme's #212121 (WCAG asks 3:1 for graphics), and the hues differ.
 */
export const RUN_PALETTE: readonly string[] = [
  '#3b81d1',
  '#c66510',
  '#2a904c',
  '#df4958',
  '#9a68cd',
  '#1a8b96',
  '#997c08',
  '#cc4fa2',
  '#7979b7',
  '#7e7e7e'
];

/** The id characters a label shows when names collide: never fewer than this. */
const MIN_ID_CHARS = 4;

export interface IRunIdentity {
  /** The run's name, plus the shortest id prefix telling it apart when another run has the same name. */
  label: string;
  color: string;
}

/**
 * Labels and colours of every run of a store. Colours follow the order the runs started in (then
 * their ids), which the journal fixes, so a run keeps its colour across reloads and filters.
 * Call it with all the store's runs, not the shown ones, for the same reason.
 */
export function runIdentities(runs: Iterable<Pick<IRun, 'id' | 'name' | 'start'>>): Map<string, IRunIdentity> {
  const ordered = Array.from(runs).sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byLabel = new Map<string, string[]>();
  for (const run of ordered) {
    const label = runDisplayName(run);
    byLabel.set(label, [...(byLabel.get(label) ?? []), run.id]);
  }
  const labels = new Map<string, string>();
  for (const [label, ids] of byLabel) {
    if (ids.length === 1) {
      labels.set(ids[0], label);
      continue;
    }
    const chars = shortestUniquePrefix(ids);
    for (const id of ids) {
      labels.set(id, `${label} (${id.slice(0, chars)})`);
    }
  }
  return new Map(
    ordered.map((run, index) => [run.id, { label: labels.get(run.id)!, color: RUN_PALETTE[index % RUN_PALETTE.length] }])
  );
}

/** The fewest leading characters (at least MIN_ID_CHARS) that tell these distinct ids apart. */
function shortestUniquePrefix(ids: readonly string[]): number {
  const longest = Math.max(...ids.map(id => id.length));
  for (let chars = MIN_ID_CHARS; chars < longest; chars++) {
    if (new Set(ids.map(id => id.slice(0, chars))).size === ids.length) {
      return chars;
    }
  }
  return longest;
}

/** A legend: the runs it names, in order, and how many more are drawn but not named. */
export interface ILegend {
  runIds: string[];
  more: number;
}

/**
 * A chart's legend for a sweep: the selected runs, then the best by the chart's metric, up to
 * `cap` names, then "and N more". `best` maps a run to its best value of the metric (runs
 * without one come last); `lowerIsBetter` says which way is best.
 */
export function capLegend(
  runIds: readonly string[],
  selected: ReadonlySet<string>,
  best: ReadonlyMap<string, number | null>,
  lowerIsBetter: boolean,
  cap: number
): ILegend {
  const unique = Array.from(new Set(runIds));
  const picked = unique.filter(id => selected.has(id));
  const rest = unique
    .filter(id => !selected.has(id))
    .map((id, order) => ({ id, order, value: best.get(id) ?? null }))
    .sort((a, b) => {
      if (a.value === null || b.value === null) {
        return a.value === b.value ? a.order - b.order : a.value === null ? 1 : -1;
      }
      return (lowerIsBetter ? a.value - b.value : b.value - a.value) || a.order - b.order;
    });
  const named = [...picked, ...rest.map(entry => entry.id)].slice(0, Math.max(cap, picked.length));
  return { runIds: named, more: unique.length - named.length };
}

/**
 * The ramp that colours runs by a numeric parameter: blue to ochre through purple and red, every
 * colour on it (between the stops too) about 3.8:1 or more against both themes' backgrounds.
 */
export const PARAM_RAMP: readonly string[] = ['#4a7cdf', '#9863e3', '#db33bf', '#df4955', '#a4771d'];
/** Runs that lack the parameter colouring the runs. */
export const NO_VALUE_COLOUR = '#7e7e7e';

/** How runs are coloured: by run, or by a parameter on a continuous or a categorical scale. */
export type ColourScale =
  | { kind: 'run' }
  | { kind: 'continuous'; param: string; min: number; max: number; log: boolean }
  | { kind: 'categorical'; param: string; values: { value: string; color: string }[] };

/** An input parameter's value as colouring uses it: its text, and its number when it is one. */
function inputValue(run: IRun, key: string): { text: string; number: number | null } | null {
  const param = run.params.get(paramKey(key, 'input'));
  if (!param) {
    return null;
  }
  const number = typeof param.value === 'number' && Number.isFinite(param.value) ? param.value : null;
  return { text: typeof param.value === 'string' ? param.value : JSON.stringify(param.value), number };
}

/** A point of the ramp, t in [0, 1]: the stops mixed linearly in RGB. */
export function rampColour(t: number): string {
  const position = Math.min(Math.max(t, 0), 1) * (PARAM_RAMP.length - 1);
  const index = Math.min(Math.floor(position), PARAM_RAMP.length - 2);
  const rgb = (hex: string) => [1, 3, 5].map(offset => parseInt(hex.slice(offset, offset + 2), 16));
  const [from, to] = [rgb(PARAM_RAMP[index]), rgb(PARAM_RAMP[index + 1])];
  const fraction = position - index;
  return (
    '#' +
    from
      .map((v, i) =>
        Math.round(v + (to[i] - v) * fraction)
          .toString(16)
          .padStart(2, '0')
      )
      .join('')
  );
}

/** Whether positive values from min to max span two decades or more: a log scale shows them best. */
export function spansDecades(min: number, max: number): boolean {
  return min > 0 && max / min >= 100;
}

/**
 * Colours of runs by an input parameter, as W&B colours a sweep: a continuous ramp when every
 * value is a number (logarithmic when all are positive and span two decades or more, as learning
 * rates do), else one palette colour per distinct value in natural order. Runs without the
 * parameter are grey.
 */
export function colourByParam(runs: readonly IRun[], key: string): { colors: Map<string, string>; scale: ColourScale } {
  const values = new Map(runs.map(run => [run.id, inputValue(run, key)]));
  const present = Array.from(values.values()).filter(value => value !== null);
  const colors = new Map<string, string>();
  if (present.length && present.every(value => value.number !== null)) {
    const numbers = present.map(value => value.number!);
    const [min, max] = [Math.min(...numbers), Math.max(...numbers)];
    const log = spansDecades(min, max);
    const position = (n: number) => (max === min ? 0 : log ? Math.log(n / min) / Math.log(max / min) : (n - min) / (max - min));
    for (const [runId, value] of values) {
      colors.set(runId, value ? rampColour(position(value.number!)) : NO_VALUE_COLOUR);
    }
    return { colors, scale: { kind: 'continuous', param: key, min, max, log } };
  }
  const distinct = Array.from(new Set(present.map(value => value.text))).sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true })
  );
  // The palette's last colour is the grey of runs without a value.
  const colours = RUN_PALETTE.filter(colour => colour !== NO_VALUE_COLOUR);
  const colorOf = new Map(distinct.map((text, index) => [text, colours[index % colours.length]]));
  for (const [runId, value] of values) {
    colors.set(runId, value ? colorOf.get(value.text)! : NO_VALUE_COLOUR);
  }
  return {
    colors,
    scale: { kind: 'categorical', param: key, values: distinct.map(value => ({ value, color: colorOf.get(value)! })) }
  };
}
