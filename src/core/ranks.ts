/**
 * Runs that span processes: how the one reducer (`core/model.ts`) places the records of rank
 * processes (`k-<session>-r<rank>.jsonl`, written by `nbprov.ranks` in processes the notebook
 * launched) into the kernel's run, and how a run's ranks decide its status and energy.
 *
 * Pure. The reducer calls three things, for the export and the page's store alike:
 * - `joinRank` on a `kernel_start` with a `rank` object: the session becomes a rank place (its
 *   contexts and metric batches get a number space of their own, so that they never meet the
 *   kernel's or another rank's; two processes claiming one rank are both kept and flagged);
 * - `placeRankRecord` on every later record of that session: tagged with rank and host, renumbered,
 *   `rank_end` taken into the place, run records of another run or a `run_start`/`run_end` left out;
 * - `rankParts` / `rankedStatus` / `distinctDeviceEnergy` when a run is read (finalize, the store's
 *   run view): status the worst of kernel and ranks (naming the rank), energy once per device.
 */

import type { IJournalWarning, ILocatedRecord } from './reader';
import type { IEnergyReading, RunStatus } from './model';
import type { IRankStart, JournalRecord } from './records';

/** One rank process's part of a run, as the merged run lists it. */
export interface IRankPart {
  rank: number;
  localRank: number | null;
  worldSize: number | null;
  nodeRank: number | null;
  launcher: string;
  session: string;
  hostname: string;
  pid: number;
  started: string;
  ended: string | null;
  /** From its `rank_end`; without one: `running` while the run is, else `crashed`. */
  status: RunStatus;
  ename: string | null;
  evalue: string | null;
  /** Another process claimed the same rank of the same run: both are kept. */
  duplicate: boolean;
}

/** Energy of a run, once per physical device. */
export interface IRunEnergyTotals {
  /** `<host>/<device>` → joules (the largest reading of that device among the processes). */
  devices: Record<string, number>;
  /** host → joules, summed over its devices. */
  nodes: Record<string, number>;
  total: number;
}

/** Where a rank session's records go: its run, and the number space of its contexts and batches. */
export interface IRankPlace {
  run: string;
  /** Its contexts and batches are moved by this much (see `RANK_ID_SPACE`). */
  base: number;
  part: IRankPart;
}

/** What the reducer's model keeps of ranks: per rank session, its place. */
export type RankPlaces = Map<string, IRankPlace>;

// A rank's contexts and batches are moved into a space of their own: the p-th rank session seen gets
// ctx c → (p + 1) * RANK_ID_SPACE + c. A kernel numbers its contexts from 1 and never reaches it.
const RANK_ID_SPACE = 2 ** 24;

/** Statuses from the least to the most severe: a run is as bad as its worst process. */
const SEVERITY: RunStatus[] = ['finished', 'running', 'interrupted', 'crashed', 'failed'];

export function worseStatus(a: RunStatus, b: RunStatus): RunStatus {
  return SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a;
}

/** A rank session's `kernel_start`: it becomes a place of its run (the first `kernel_start` of a session counts). */
export function joinRank(
  places: RankPlaces,
  r: { session: string; hostname: string; pid: number; t: string; rank: IRankStart },
  located: ILocatedRecord,
  warnings: IJournalWarning[]
): void {
  if (places.has(r.session)) {
    return;
  }
  const part: IRankPart = {
    rank: r.rank.rank,
    localRank: r.rank.local_rank,
    worldSize: r.rank.world_size,
    nodeRank: r.rank.node_rank,
    launcher: r.rank.launcher,
    session: r.session,
    hostname: r.hostname,
    pid: r.pid,
    started: r.t,
    ended: null,
    status: 'running',
    ename: null,
    evalue: null,
    duplicate: false
  };
  for (const other of places.values()) {
    if (other.run === r.rank.run && other.part.rank === part.rank) {
      if (!part.duplicate) {
        warnings.push({
          file: located.file,
          line: located.line,
          reason: `rank ${part.rank} of run ${r.rank.run} is claimed by two processes: both kept`
        });
      }
      other.part.duplicate = part.duplicate = true;
    }
  }
  places.set(r.session, { run: r.rank.run, base: (places.size + 1) * RANK_ID_SPACE, part });
}

/**
 * A rank's record as the reducer folds it, or null for one that stays out of the run: contexts and
 * batches renumbered, series and contexts tagged with the rank (series also with its session),
 * energy with host and rank; its `rank_end` is taken into its place.
 */
export function placeRankRecord(place: IRankPlace, located: ILocatedRecord, warnings: IJournalWarning[]): JournalRecord | null {
  const r = located.record;
  if (!('run' in r) || r.run === null) {
    return r;
  }
  const leaveOut = (reason: string): null => {
    warnings.push({ file: located.file, line: located.line, reason });
    return null;
  };
  if (r.run !== place.run) {
    return leaveOut(`${r.type} for run ${r.run} in a rank journal of run ${place.run}: ignored`);
  }
  const moveCtx = (ctx: number | null): number | null => (ctx === null ? null : place.base + ctx);
  const tag = { rank: place.part.rank, host: place.part.hostname };
  switch (r.type) {
    case 'run_start':
    case 'run_end':
      return leaveOut(`${r.type} in a rank journal: ignored`);
    case 'rank_end':
      place.part.status = r.status;
      place.part.ended = r.t;
      place.part.ename = r.ename ?? null;
      place.part.evalue = r.evalue ?? null;
      return r;
    case 'context_start':
      return { ...r, ctx: place.base + r.ctx, parent: moveCtx(r.parent), ...tag };
    case 'context_end':
      return { ...r, ctx: place.base + r.ctx };
    case 'metrics':
      return {
        ...r,
        batch: place.base + r.batch,
        series: r.series.map(s => ({ ...s, ctx: moveCtx(s.ctx), rank: place.part.rank, process: place.part.session }))
      };
    case 'energy':
      return {
        ...r,
        ctx: moveCtx(r.ctx),
        ref: r.scope === 'context' && typeof r.ref === 'number' ? place.base + r.ref : r.ref,
        ...tag
      };
    default:
      return r;
  }
}

/** The rank parts of a run, by rank then session (file and arrival order are random). */
export function rankParts(places: RankPlaces, run: string): IRankPart[] {
  return [...places.values()]
    .filter(place => place.run === run)
    .map(place => place.part)
    .sort((a, b) => a.rank - b.rank || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0));
}

/** A part's status: its `rank_end`'s; without one, `running` while the run is, else `crashed`. */
function partStatus(part: IRankPart, runStatus: RunStatus): RunStatus {
  return part.ended !== null ? part.status : runStatus === 'running' ? 'running' : 'crashed';
}

/** The run's status with its ranks': the worst, and the lowest rank that has it when it is a rank's. */
export function rankedStatus(runStatus: RunStatus, parts: IRankPart[]): { status: RunStatus; culprit: IRankPart | null } {
  let status = runStatus;
  for (const part of parts) {
    status = worseStatus(status, partStatus(part, runStatus));
  }
  const culprit = status === runStatus ? null : parts.find(part => partStatus(part, runStatus) === status)!;
  return { status, culprit };
}

/** Parts as a finalized run lists them: statuses of unended parts settled against the run's. */
export function settledParts(parts: IRankPart[], runStatus: RunStatus): IRankPart[] {
  return parts.map(part => ({ ...part, status: partStatus(part, runStatus) }));
}

/**
 * Run-scope readings once per physical device: `<host>/<device>` (a device name holds the PCI bus
 * id or the CPU package), the largest reading of it among the processes that measured it. Every
 * process on a node sees the same counters over overlapping windows, so adding them would count
 * the device once per process; the largest window is the kernel's or the longest-lived rank's.
 */
export function distinctDeviceEnergy(readings: IEnergyReading[], kernelHost: string): IEnergyReading[] {
  const others: IEnergyReading[] = [];
  const byDevice = new Map<string, IEnergyReading>();
  const unavailable = new Map<string, IEnergyReading>();
  for (const reading of readings) {
    if (reading.scope !== 'run') {
      others.push(reading);
      continue;
    }
    const host = reading.host ?? kernelHost;
    const device = `${host}/${reading.device}`;
    const keyed = { ...reading, host, device };
    if (reading.joules === null) {
      unavailable.set(`${device}\u0000${reading.reason ?? ''}`, keyed);
      continue;
    }
    const kept = byDevice.get(device);
    if (!kept || (kept.joules as number) < reading.joules) {
      byDevice.set(device, keyed);
    }
  }
  const sorted = [...byDevice.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  // A device one process could not read while another could is measured.
  const missing = [...unavailable.values()].filter(r => !byDevice.has(r.device));
  return [...others, ...sorted, ...missing];
}

export function energyTotals(readings: IEnergyReading[]): IRunEnergyTotals {
  const devices: Record<string, number> = {};
  const nodes: Record<string, number> = {};
  let total = 0;
  for (const reading of readings) {
    if (reading.joules === null) {
      continue;
    }
    devices[reading.device] = reading.joules;
    const host = reading.host ?? '';
    nodes[host] = (nodes[host] ?? 0) + reading.joules;
    total += reading.joules;
  }
  return { devices, nodes, total };
}

/** The series of the default view: the kernel's own and rank 0's (a run without ranks: all). */
export function isDefaultRankSeries(series: { rank?: number }): boolean {
  return series.rank === undefined || series.rank === 0;
}

/** A label for a series in the "all ranks" view. */
export function rankLabel(series: { metric: string; rank?: number }): string {
  return series.rank === undefined ? series.metric : `${series.metric} [rank ${series.rank}]`;
}
