/**
 * Runs that span processes: folding the journals of rank processes (`k-<session>-r<rank>.jsonl`,
 * written by `nbprov.ranks` in processes the notebook launched) into the kernel's run.
 *
 * Pure. Two steps around the reducer:
 * - `foldRankJournals(records)` before it: recognises rank journals (their `kernel_start` has a
 *   `rank` object), leaves out those of a run no kernel journal starts (with a warning), renumbers
 *   each rank's contexts and metric batches so that they never meet the kernel's or another rank's,
 *   tags its series, contexts and energy readings with the rank and host, drops parameters the run
 *   already has (parameters are logged once), and takes out `rank_end` records.
 * - `mergeRankParts(runs, fold, liveSessions)` after it: attaches each run's ranks (status, host,
 *   duplicates flagged), makes the run's status the worst of the kernel's and its ranks' (naming the
 *   rank), and replaces the run's energy by one reading per physical device (host + device), so
 *   that ranks sharing a GPU or a node count it once.
 */

import type { ILocatedRecord, IJournalWarning, JournalRecord } from './journal';
import type { IEnergyReading, IRun, RunStatus } from './session';

/** The `rank` object of a rank journal's `kernel_start`. */
export interface IRankStart {
  run: string;
  parent_session: string | null;
  rank: number;
  local_rank: number | null;
  world_size: number | null;
  node_rank: number | null;
  launcher: string;
}

/** One rank process's part of a run, as the merged run lists it. */
export interface IRankPart {
  rank: number;
  localRank: number | null;
  worldSize: number | null;
  nodeRank: number | null;
  launcher: string;
  session: string;
  file: string;
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

export interface IRankFold {
  /** The records for the reducer: kernel and page records, and rank records rewritten. */
  records: ILocatedRecord[];
  /** Per run id, its rank parts (by rank, then session). */
  parts: Map<string, IRankPart[]>;
  /** Per kernel session, its host (to key the kernel's own energy readings). */
  hosts: Map<string, string>;
}

/** The name `nbprov.ranks` gives a rank process's journal. */
export const RANK_JOURNAL = /^k-[0-9a-f]+-r\d+\.jsonl$/;

// Ranks' contexts and batches are moved into a space of their own per rank journal: part p's
// ctx c becomes (p + 1) * RANK_ID_SPACE + c. A kernel numbers its contexts from 1 and never reaches it.
const RANK_ID_SPACE = 2 ** 24;

function nullableInt(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}

/** The validated `rank` object of a `kernel_start`, or null when it is absent or malformed. */
export function parseRankStart(value: unknown): IRankStart | null {
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const o = value as Record<string, unknown>;
  const rank = nullableInt(o.rank);
  if (typeof o.run !== 'string' || rank === null) {
    return null;
  }
  return {
    run: o.run,
    parent_session: typeof o.parent_session === 'string' ? o.parent_session : null,
    rank,
    local_rank: nullableInt(o.local_rank),
    world_size: nullableInt(o.world_size),
    node_rank: nullableInt(o.node_rank),
    launcher: typeof o.launcher === 'string' ? o.launcher : 'unknown'
  };
}

/** Statuses from the least to the most severe: a run is as bad as its worst process. */
const SEVERITY: RunStatus[] = ['finished', 'running', 'interrupted', 'crashed', 'failed'];

export function worseStatus(a: RunStatus, b: RunStatus): RunStatus {
  return SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a;
}

function paramIdentity(r: { key: string; role: string }): string {
  return `${r.role}\u0000${r.key}`;
}

export function foldRankJournals(records: ILocatedRecord[], warnings: IJournalWarning[]): IRankFold {
  const rankOfFile = new Map<string, { start: IRankStart; session: string; hostname: string; pid: number; t: string }>();
  const hosts = new Map<string, string>();
  const startedRuns = new Set<string>();
  const kernelParams = new Map<string, Map<string, unknown>>();
  for (const { file, record: r } of records) {
    if (r.type === 'kernel_start') {
      hosts.set(r.session, r.hostname);
      const start = parseRankStart((r as { rank?: unknown }).rank);
      if (start !== null) {
        rankOfFile.set(file, { start, session: r.session, hostname: r.hostname, pid: r.pid, t: r.t });
      }
    }
  }
  // A rank journal whose first line was lost cannot be placed: it must not pass for a kernel's.
  const unplaced = new Set(records.map(located => located.file).filter(file => RANK_JOURNAL.test(file) && !rankOfFile.has(file)));
  for (const file of unplaced) {
    warnings.push({ file, line: 0, reason: 'rank journal without a readable kernel_start: ignored' });
  }
  for (const { file, record: r } of records) {
    if (rankOfFile.has(file) || unplaced.has(file)) {
      continue;
    }
    if (r.type === 'run_start') {
      startedRuns.add(r.run);
    } else if (r.type === 'param') {
      const params = kernelParams.get(r.run) ?? new Map<string, unknown>();
      params.set(paramIdentity(r), r.value);
      kernelParams.set(r.run, params);
    }
  }
  if (rankOfFile.size === 0 && unplaced.size === 0) {
    return { records, parts: new Map(), hosts };
  }

  // Parts in a deterministic order: by run, rank, then session (file names are random ids).
  const files = [...rankOfFile.entries()].sort(
    ([, a], [, b]) =>
      (a.start.run < b.start.run ? -1 : a.start.run > b.start.run ? 1 : 0) ||
      a.start.rank - b.start.rank ||
      (a.session < b.session ? -1 : a.session > b.session ? 1 : 0)
  );
  const parts = new Map<string, IRankPart[]>();
  const partOfFile = new Map<string, { part: IRankPart; index: number }>();
  const ignored = new Set<string>(unplaced);
  files.forEach(([file, info], index) => {
    if (!startedRuns.has(info.start.run)) {
      ignored.add(file);
      warnings.push({
        file,
        line: 0,
        reason: `rank journal of run ${info.start.run}, which no kernel journal here starts (another run's): ignored`
      });
      return;
    }
    const part: IRankPart = {
      rank: info.start.rank,
      localRank: info.start.local_rank,
      worldSize: info.start.world_size,
      nodeRank: info.start.node_rank,
      launcher: info.start.launcher,
      session: info.session,
      file,
      hostname: info.hostname,
      pid: info.pid,
      started: info.t,
      ended: null,
      status: 'crashed',
      ename: null,
      evalue: null,
      duplicate: false
    };
    const list = parts.get(info.start.run) ?? [];
    const twin = list.find(p => p.rank === part.rank);
    if (twin) {
      twin.duplicate = part.duplicate = true;
      warnings.push({
        file,
        line: 0,
        reason: `rank ${part.rank} of run ${info.start.run} is claimed by two processes: both kept`
      });
    }
    list.push(part);
    parts.set(info.start.run, list);
    partOfFile.set(file, { part, index });
  });

  const seenParams = new Map<string, Map<string, unknown>>(kernelParams);
  const rewritten: ILocatedRecord[] = [];
  // Rank records follow the kernel's, part by part, so the kernel's parameters come first.
  const rankRecords: ILocatedRecord[] = [];
  for (const located of records) {
    if (ignored.has(located.file)) {
      continue;
    }
    (partOfFile.has(located.file) ? rankRecords : rewritten).push(located);
  }
  const order = new Map([...partOfFile.entries()].map(([file, { index }]) => [file, index]));
  rankRecords.sort((a, b) => order.get(a.file)! - order.get(b.file)! || a.line - b.line);
  for (const located of rankRecords) {
    const { part, index } = partOfFile.get(located.file)!;
    const r = located.record;
    const runId = rankOfFile.get(located.file)!.start.run;
    if (r.type === 'kernel_start') {
      rewritten.push(located);
      continue;
    }
    if (!('run' in r) || r.run === null) {
      continue;
    }
    if (r.run !== runId) {
      warnings.push({
        file: located.file,
        line: located.line,
        reason: `${r.type} for run ${r.run} in a rank journal of run ${runId}: ignored`
      });
      continue;
    }
    const record = rewriteRankRecord(r, part, index, seenParams, located, warnings);
    if (record !== null) {
      rewritten.push({ ...located, record });
    }
  }
  return { records: rewritten, parts, hosts };
}

/** Where a rank process's records go in its run, wherever they are folded (export or page). */
export interface IRankPlace {
  rank: number;
  session: string;
  host: string;
  /** Its contexts and batches are moved by this much (see `RANK_ID_SPACE`). */
  base: number;
}

/**
 * A rank's context, metrics or energy record moved into its run: contexts and batches renumbered
 * by `place.base`, series and contexts tagged with the rank (series also with the rank's session),
 * energy with the host and rank. Other records are returned as they are. Loose records (the
 * page's) and typed ones (the export's) alike.
 */
export function placeRankRecord<R extends { type: string }>(r: R, place: IRankPlace): R {
  const o = r as unknown as Record<string, unknown>;
  const moveCtx = (ctx: unknown): unknown => (typeof ctx === 'number' ? place.base + ctx : ctx);
  const tag = { rank: place.rank, host: place.host };
  switch (r.type) {
    case 'context_start':
      return { ...r, ctx: moveCtx(o.ctx), parent: moveCtx(o.parent), ...tag };
    case 'context_end':
      return { ...r, ctx: moveCtx(o.ctx) };
    case 'metrics':
      return {
        ...r,
        batch: place.base + Number(o.batch),
        series: (o.series as Record<string, unknown>[]).map(s => ({
          ...s,
          ctx: moveCtx(s.ctx),
          rank: place.rank,
          process: place.session
        }))
      };
    case 'energy':
      return { ...r, ctx: moveCtx(o.ctx), ref: o.scope === 'context' ? moveCtx(o.ref) : o.ref, ...tag };
    default:
      return r;
  }
}

/**
 * The page's side: rank records arrive one session at a time, live or read from the files. It
 * remembers each rank session's place (from its `kernel_start`) and moves its records into the run.
 */
export class LiveRankPlaces {
  /** The record as the store applies it; null for one a rank journal must not hold. */
  place<R extends { type: string }>(session: string, r: R): R | null {
    const o = r as unknown as Record<string, unknown>;
    if (r.type === 'kernel_start') {
      const start = parseRankStart(o.rank);
      if (start !== null && !this._places.has(session)) {
        const base = (this._places.size + 1) * RANK_ID_SPACE;
        this._places.set(session, { run: start.run, place: { rank: start.rank, session, host: String(o.hostname ?? ''), base } });
      }
      return r;
    }
    const known = this._places.get(session);
    if (!known) {
      return r;
    }
    if (o.run !== known.run || r.type === 'run_start' || r.type === 'run_end') {
      return null;
    }
    return placeRankRecord(r, known.place);
  }

  /** Whether a session is a rank process's (its `kernel_start` said so). */
  isRank(session: string): boolean {
    return this._places.has(session);
  }

  private _places = new Map<string, { run: string; place: IRankPlace }>();
}

function rewriteRankRecord(
  r: JournalRecord,
  part: IRankPart,
  index: number,
  seenParams: Map<string, Map<string, unknown>>,
  located: ILocatedRecord,
  warnings: IJournalWarning[]
): JournalRecord | null {
  switch (r.type) {
    case 'rank_end':
      part.status = r.status;
      part.ended = r.t;
      part.ename = r.ename ?? null;
      part.evalue = r.evalue ?? null;
      return null;
    case 'param': {
      const params = seenParams.get(r.run) ?? new Map<string, unknown>();
      seenParams.set(r.run, params);
      const identity = paramIdentity(r);
      if (params.has(identity)) {
        if (params.get(identity) !== r.value) {
          warnings.push({
            file: located.file,
            line: located.line,
            reason: `rank ${part.rank} logged ${r.role} parameter ${JSON.stringify(r.key)} with another value than the run has: the first is kept`
          });
        }
        return null;
      }
      params.set(identity, r.value);
      return r;
    }
    case 'run_start':
    case 'run_end':
      warnings.push({ file: located.file, line: located.line, reason: `${r.type} in a rank journal: ignored` });
      return null;
    default:
      return placeRankRecord(r, {
        rank: part.rank,
        session: part.session,
        host: part.hostname,
        base: (index + 1) * RANK_ID_SPACE
      });
  }
}

/** The run's ranks, status and energy once the reducer has folded the rewritten records. */
export function mergeRankParts(runs: IRun[], fold: IRankFold): void {
  for (const run of runs) {
    const parts = fold.parts.get(run.id);
    if (!parts) {
      continue;
    }
    for (const part of parts) {
      if (part.ended === null) {
        part.status = run.status === 'running' ? 'running' : 'crashed';
      }
    }
    run.ranks = parts;
    let status = run.status;
    for (const part of parts) {
      status = worseStatus(status, part.status);
    }
    if (status !== run.status) {
      // The lowest rank with the worst status is the one named.
      const culprit = parts.find(p => p.status === status)!;
      run.status = status;
      run.statusRank = culprit.rank;
      run.ename = culprit.ename ?? run.ename;
      run.evalue = culprit.evalue ?? run.evalue;
    }
    const host = fold.hosts.get(run.kernelSession) ?? '';
    run.energy = distinctDeviceEnergy(run.energy, host);
    run.energyTotals = energyTotals(run.energy.filter(e => e.scope === 'run'));
  }
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
