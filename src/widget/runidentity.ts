/**
 * How a run is shown everywhere in the widget: one label and one colour, the same in the table,
 * every chart, its legend and the comparison. Pure, so the rules are unit-tested.
 */
import { IRun } from '../tokens';

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

/** The name a run is known by: its name, or for an unnamed run the start of its id. */
export function baseLabel(run: Pick<IRun, 'id' | 'name'>): string {
  return run.name || run.id.slice(0, 8);
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
    const label = baseLabel(run);
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
