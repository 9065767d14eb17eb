/**
 * W3C PROV-JSON builder for a session model (mapping documented in ARCHITECTURE.md, section
 * "PROV mapping"). Deterministic: identifiers derive from journal ids, keys are sorted and
 * no export time is recorded, so the same history always gives the same bytes.
 */

import { unifiedDiff } from './diff';
import { paramProvValue } from './params';
import { runDisplayName } from './model';
import { energyTotals } from './ranks';
import type { ICodeState } from './records';
import {
  compareTimes,
  type IEnergyReading,
  type IExecution,
  type IRun as ISessionRun,
  type ISeriesHead,
  type ISession as ISessionOf,
  type ISourceVersion
} from './session';
import { metricGroupPath, METRICS_ROOT } from './zarr';

// PROV names a series and counts its points: either form of the series will do.
type IRun = ISessionRun<ISeriesHead>;
type ISession = ISessionOf<ISeriesHead>;

export const PROV_PREFIXES: Record<string, string> = {
  prov: 'http://www.w3.org/ns/prov#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  dcterms: 'http://purl.org/dc/terms/',
  provml: 'https://w3id.org/provml#',
  nbprov: 'urn:nbprov:'
};

/** Attribute values the `prov` package round-trips: scalars or typed literals, never arrays. */
type ProvValue = string | number | boolean | { $: string; type: string };
type ProvAttributes = Record<string, ProvValue>;
type ProvSection = Record<string, ProvAttributes>;

export interface IProvDocument {
  prefix: Record<string, string>;
  entity?: ProvSection;
  activity?: ProvSection;
  agent?: ProvSection;
  used?: ProvSection;
  wasGeneratedBy?: ProvSection;
  wasInformedBy?: ProvSection;
  wasDerivedFrom?: ProvSection;
  hadMember?: ProvSection;
  wasAssociatedWith?: ProvSection;
  wasAttributedTo?: ProvSection;
  actedOnBehalfOf?: ProvSection;
}

type RelationKind = Exclude<keyof IProvDocument, 'prefix' | 'entity' | 'activity' | 'agent'>;

/** Output text kept inline in the PROV document; the full content is identified by its hash. */
export const PROV_TEXT_LIMIT = 4096;
const SHA256 = /^[0-9a-f]{64}$/;

const qualified = (name: string): { $: string; type: string } => ({ $: name, type: 'prov:QUALIFIED_NAME' });

/**
 * Escapes a user string for use inside a qualified name's local part: letters, digits and `-`
 * stay, every other UTF-8 byte becomes `_XX`. `.` is left free to separate id components.
 */
export function escapeLocal(text: string): string {
  if (/^[A-Za-z0-9-]+$/.test(text)) {
    return text;
  }
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(ch) ? ch : '_' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out === '' ? '_' : out;
}

export const provIds = {
  notebook: (): string => 'nbprov:notebook',
  notebookVersion: (version: number): string => `nbprov:notebook.v${version}`,
  /** The n-th change (1-based, by time) to the notebook's cells: added, moved or removed. */
  structureChange: (n: number): string => `nbprov:structure.${n}`,
  sourceVersion: (cell: string, version: number): string => `nbprov:cell.${escapeLocal(cell)}.v${version}`,
  /** The source of an execution whose cell is unknown: one entity per execution. */
  executionSource: (exec: string): string => `nbprov:source.${escapeLocal(exec)}`,
  execution: (exec: string): string => `nbprov:exec.${escapeLocal(exec)}`,
  output: (exec: string, index: number): string => `nbprov:output.${escapeLocal(exec)}.${index}`,
  user: (user: string): string => `nbprov:user.${escapeLocal(user)}`,
  software: (): string => 'nbprov:software.nbprov',
  kernel: (session: string): string => `nbprov:kernel.${escapeLocal(session)}`,
  run: (run: string): string => `nbprov:run.${run}`,
  context: (run: string, ctx: number): string => `nbprov:context.${run}.${ctx < 0 ? 'm' + -ctx : ctx}`,
  param: (run: string, role: string, index: number): string => `nbprov:param.${run}.${role}.${index}`,
  artifact: (run: string, index: number): string => `nbprov:artifact.${run}.${index}`,
  metric: (run: string, index: number): string => `nbprov:metric.${run}.${index}`,
  /** A code state, by its content key: one entity however many runs used it. */
  codeState: (sha256: string): string => `nbprov:code.${sha256}`
};

class DocumentBuilder {
  readonly doc: IProvDocument = { prefix: { ...PROV_PREFIXES } };
  private readonly counters = new Map<RelationKind, number>();

  /**
   * Adds (or extends) a node. `prov:type` is always written as a `prov:QUALIFIED_NAME` literal, so
   * that readers (the `prov` package) get a qualified name, not a string; a node always has a
   * string `prov:label` (yProv Explorer shows nothing else), its id's local part when none is given.
   */
  node(section: 'entity' | 'activity' | 'agent', id: string, attributes: Record<string, ProvValue | null | undefined>): void {
    const target = (this.doc[section] ??= {});
    const clean: ProvAttributes = target[id] ?? {};
    for (const [key, value] of Object.entries(attributes)) {
      // PROV has no null; an unknown attribute is simply absent.
      if (value !== null && value !== undefined && !(typeof value === 'number' && !Number.isFinite(value))) {
        clean[key] = key === 'prov:type' && typeof value === 'string' ? qualified(value) : value;
      }
    }
    if (typeof clean['prov:label'] !== 'string' || clean['prov:label'] === '') {
      clean['prov:label'] = id.slice(id.indexOf(':') + 1);
    }
    target[id] = clean;
  }

  has(section: 'entity' | 'activity' | 'agent', id: string): boolean {
    return this.doc[section]?.[id] !== undefined;
  }

  relation(kind: RelationKind, attributes: ProvAttributes): void {
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    (this.doc[kind] ??= {})[`_:${kind}${n}`] = attributes;
  }
}

export interface IProvOptions {
  /** Notebook file name (label only; never used as a path). */
  notebook: string;
  nbprovVersion: string;
  /** Names of the blobs present in `blobs/`; an output refers only to these (default: none). */
  blobs?: readonly string[];
}

function energyAttributes(readings: IEnergyReading[]): Record<string, ProvValue> {
  const measured = readings.filter(r => r.joules !== null);
  if (measured.length === 0) {
    const reasons = [...new Set(readings.map(r => r.reason ?? 'no reason recorded'))].sort();
    return { 'nbprov:energy': 'unavailable', 'nbprov:energy_reason': reasons.join('; ') };
  }
  const methods = [...new Set(measured.map(r => r.method))].sort();
  return {
    'provml:energy': measured.reduce((sum, r) => sum + (r.joules as number), 0),
    'nbprov:energy_unit': 'J',
    'nbprov:energy_method': methods.join(', '),
    'nbprov:energy_resolution_limited': measured.some(r => r.resolutionLimited),
    // Per-device detail as a JSON string: `prov` would turn an array into a set.
    'nbprov:energy_devices': JSON.stringify(
      measured.map(r => ({ device: r.device, joules: r.joules, method: r.method, resolution_limited: r.resolutionLimited }))
    ),
    ...rankEnergyAttributes(measured) // ranks
  };
}

/** ranks: per-node joules of a run whose readings carry their host (one reading per physical device). */
function rankEnergyAttributes(measured: IEnergyReading[]): Record<string, ProvValue> {
  if (!measured.every(r => r.host !== undefined)) {
    return {};
  }
  const totals = energyTotals(measured);
  return { 'nbprov:energy_nodes': JSON.stringify(Object.fromEntries(Object.entries(totals.nodes).sort())) };
}

/** ranks: the processes that joined a run, and which of them set its status. */
function rankAttributes(run: IRun): Record<string, ProvValue> {
  if (!run.ranks) {
    return {};
  }
  const ranks = run.ranks.map(p => ({
    rank: p.rank,
    local_rank: p.localRank,
    world_size: p.worldSize,
    node_rank: p.nodeRank,
    launcher: p.launcher,
    host: p.hostname,
    session: p.session,
    status: p.status,
    ...(p.ename !== null ? { ename: p.ename } : {}),
    ...(p.duplicate ? { duplicate: true } : {})
  }));
  return {
    'nbprov:ranks': JSON.stringify(ranks),
    'nbprov:world_size': Math.max(...run.ranks.map(p => p.worldSize ?? p.rank + 1)),
    ...(run.statusRank !== undefined ? { 'nbprov:status_rank': run.statusRank } : {}),
    ...(run.ranks.some(p => p.duplicate) ? { 'nbprov:duplicate_ranks': true } : {})
  };
}

/** A code state's attributes (the entity every run with that state `used`). */
function codeAttributes(code: ICodeState): Record<string, ProvValue | null | undefined> {
  const git = code.git;
  const packages = code.packages ?? null;
  return {
    'nbprov:python': code.python,
    'nbprov:packages':
      packages === null
        ? null
        : JSON.stringify(Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a < b ? -1 : 1)))),
    'nbprov:git': git ? null : 'not a git repository',
    'nbprov:git_root': git?.root,
    'nbprov:git_commit': git?.commit,
    'nbprov:git_branch': git?.branch,
    'nbprov:git_remote': git?.remote,
    'nbprov:git_remotes': git?.remotes ? JSON.stringify(git.remotes) : null,
    'nbprov:git_dirty': git?.dirty,
    'nbprov:git_diff': git?.diff,
    'nbprov:git_diff_encoding': git?.diff_encoding,
    'nbprov:git_diff_sha256': git?.diff_sha256,
    'nbprov:git_diff_size': git?.diff_size,
    'nbprov:git_diff_truncated': git?.diff_truncated,
    'nbprov:git_untracked': git?.untracked ? JSON.stringify(git.untracked) : null,
    'nbprov:git_notebook': git?.notebook
  };
}

/** The person of a history whose kernels recorded no user. */
export const UNKNOWN_PERSON = 'unknown';

/**
 * The people of a session: one per operating-system user its kernels ran as (sorted), else one
 * unknown person. A browser page's JupyterLab identity is no person: anonymous JupyterLab makes a
 * new one per page, so it stays in the page's journal records.
 */
export function personsOf(session: ISession): string[] {
  const users = [...new Set(session.kernelSessions.map(k => k.user).filter(user => user !== ''))].sort();
  return users.length ? users : [UNKNOWN_PERSON];
}

/**
 * One `prov:Person` per person and one `prov:SoftwareAgent` per kernel session, acting on behalf
 * of the person it ran as; returns the agent an activity of a kernel session is associated with.
 */
function addAgents(b: DocumentBuilder, session: ISession): (kernelSession: string | null) => string {
  const persons = personsOf(session);
  for (const person of persons) {
    b.node('agent', provIds.user(person), { 'prov:type': 'prov:Person', 'prov:label': person });
  }
  const kernels = new Set<string>();
  for (const kernel of session.kernelSessions) {
    const id = provIds.kernel(kernel.id);
    kernels.add(kernel.id);
    b.node('agent', id, {
      'prov:type': 'prov:SoftwareAgent',
      'prov:label': `kernel ${kernel.id}${kernel.hostname ? ' on ' + kernel.hostname : ''}`,
      'nbprov:kernel_session': kernel.id,
      'nbprov:hostname': kernel.hostname || null,
      'nbprov:python': kernel.python || null
    });
    b.relation('actedOnBehalfOf', { 'prov:delegate': id, 'prov:responsible': provIds.user(kernel.user || persons[0]) });
  }
  return kernelSession =>
    kernelSession !== null && kernels.has(kernelSession) ? provIds.kernel(kernelSession) : provIds.user(persons[0]);
}

/**
 * The 0-based position of an execution's cell in the notebook when it ran: in the page's snapshot
 * taken at the execution request (the last one not after the execution's start), else in the
 * notebook file as the kernel read it; null for an unidentified cell.
 */
function cellIndexer(session: ISession): (execution: IExecution) => number | null {
  const snapshots = session.notebookVersions.filter(version => !version.derived);
  return execution => {
    if (execution.cell === null) {
      return null;
    }
    let low = 0;
    let high = snapshots.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareTimes(snapshots[middle].t, execution.started) <= 0) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    const index = low > 0 ? snapshots[low - 1].cells.findIndex(c => c.cell === execution.cell) : -1;
    return index >= 0 ? index : execution.kernelCellIndex;
  };
}

function addDevelopmentGraph(
  b: DocumentBuilder,
  session: ISession,
  options: IProvOptions
): (kernelSession: string | null) => string {
  const agentOf = addAgents(b, session);
  const person = provIds.user(personsOf(session)[0]);
  b.node('entity', provIds.notebook(), { 'prov:type': 'nbprov:Notebook', 'prov:label': options.notebook });

  // Source versions and their derivations.
  const versionBySha = new Map<string, ISourceVersion>();
  for (const [cell, chain] of session.cells) {
    chain.forEach((version, i) => {
      const id = provIds.sourceVersion(cell, version.version);
      versionBySha.set(`${cell}\u0000${version.sha256}`, version);
      b.node('entity', id, {
        'prov:type': 'nbprov:CellSource',
        'prov:label': `cell ${cell} v${version.version}`,
        'nbprov:cell': cell,
        'nbprov:cell_type': version.cellType,
        'nbprov:version': version.version,
        'nbprov:source': version.source,
        'nbprov:sha256': version.sha256,
        'prov:generatedAtTime': version.t
      });
      if (i > 0) {
        const previous = chain[i - 1];
        b.relation('wasDerivedFrom', {
          'prov:generatedEntity': id,
          'prov:usedEntity': provIds.sourceVersion(cell, previous.version),
          'prov:type': qualified('prov:Revision'),
          'nbprov:diff': unifiedDiff(
            previous.source,
            version.source,
            `${cell} v${previous.version}`,
            `${cell} v${version.version}`
          )
        });
      }
    });
  }

  // Executions.
  const cellIndexOf = cellIndexer(session);
  const presentBlobs = new Set(options.blobs ?? []);
  const previousInSession = new Map<string, IExecution>();
  for (const execution of session.executions) {
    const id = provIds.execution(execution.id);
    b.node('activity', id, {
      'prov:type': 'nbprov:CellExecution',
      'prov:label': `In [${execution.count ?? ' '}]: ${execution.cell ?? 'unidentified cell'}`,
      'prov:startTime': execution.started,
      'prov:endTime': execution.ended,
      'nbprov:cell': execution.cell,
      'nbprov:cell_index': cellIndexOf(execution),
      'nbprov:cell_match': execution.cell === null ? 'none' : execution.cellMatch,
      'nbprov:cell_candidates': execution.cellCandidates.length ? JSON.stringify(execution.cellCandidates) : null,
      'nbprov:cell_role': execution.cellRole,
      'nbprov:outputs_recorded_by': execution.outputsFrom,
      'nbprov:outputs_complete': execution.outputsFrom === 'kernel' ? execution.outputsComplete : null,
      'nbprov:execution_count': execution.count,
      'nbprov:status': execution.status,
      'nbprov:ename': execution.ename,
      'nbprov:evalue': execution.evalue,
      'nbprov:kernel_session': execution.kernelSession,
      'nbprov:exec_index': execution.index,
      'nbprov:msg_id': execution.msgId
    });
    if (execution.ownSource !== null) {
      const own = execution.ownSource;
      const sourceId = provIds.executionSource(execution.id);
      b.node('entity', sourceId, {
        'prov:type': 'nbprov:CellSource',
        'prov:label': `source of ${execution.id} (cell unidentified)`,
        'nbprov:cell_type': own.cellType,
        'nbprov:cell_match': 'none',
        'nbprov:source': own.source,
        'nbprov:sha256': own.sha256,
        'prov:generatedAtTime': own.t
      });
      b.relation('used', { 'prov:activity': id, 'prov:entity': sourceId, 'prov:time': execution.started });
    } else if (execution.sourceVersion !== null && execution.cell !== null) {
      b.relation('used', {
        'prov:activity': id,
        'prov:entity': provIds.sourceVersion(execution.cell, execution.sourceVersion),
        'prov:time': execution.started
      });
    }
    execution.outputs.forEach((output, index) => {
      const outputId = provIds.output(execution.id, index);
      const text = output.text;
      // Only a well-formed hash of a blob that was written becomes a path (content-addressed store).
      const blob = output.blob && SHA256.test(output.blob) ? output.blob : null;
      const blobPresent = blob !== null && presentBlobs.has(blob);
      b.node('entity', outputId, {
        'prov:type': 'nbprov:Output',
        'prov:label': `${output.output_type}${output.mime ? ' ' + output.mime : ''}`,
        'nbprov:output_type': output.output_type,
        'nbprov:name': output.name,
        'nbprov:mime': output.mime,
        'nbprov:sha256': output.sha256,
        'nbprov:size': output.size,
        'nbprov:text': text === undefined ? null : text.slice(0, PROV_TEXT_LIMIT),
        'nbprov:truncated': output.truncated || (text !== undefined && text.length > PROV_TEXT_LIMIT),
        'nbprov:blob': blobPresent ? `blobs/${blob}` : null,
        'nbprov:blob_missing': output.blob !== undefined && !blobPresent ? true : null,
        'nbprov:recorded_by': execution.outputsFrom
      });
      b.relation('wasGeneratedBy', {
        'prov:entity': outputId,
        'prov:activity': id,
        ...(execution.ended ? { 'prov:time': execution.ended } : {})
      });
    });
    if (execution.kernelSession !== null) {
      const previous = previousInSession.get(execution.kernelSession);
      if (previous) {
        b.relation('wasInformedBy', {
          'prov:informed': id,
          'prov:informant': provIds.execution(previous.id)
        });
      }
      previousInSession.set(execution.kernelSession, execution);
    }
    b.relation('wasAssociatedWith', { 'prov:activity': id, 'prov:agent': agentOf(execution.kernelSession) });
  }

  // Notebook versions.
  session.notebookVersions.forEach((version, i) => {
    const id = provIds.notebookVersion(version.version);
    b.node('entity', id, {
      'prov:type': 'nbprov:NotebookVersion',
      'prov:label': `${options.notebook} v${version.version}`,
      'prov:generatedAtTime': version.t,
      'nbprov:version': version.version,
      'nbprov:cell_count': version.cells.length,
      'nbprov:derived_from_kernel': version.derived,
      // Cell order as a JSON string: `prov` treats arrays as unordered sets.
      'nbprov:cell_order': JSON.stringify(version.cells.map(c => c.cell))
    });
    b.relation('wasDerivedFrom', {
      'prov:generatedEntity': id,
      'prov:usedEntity': i === 0 ? provIds.notebook() : provIds.notebookVersion(version.version - 1)
    });
    b.relation('wasAttributedTo', { 'prov:entity': id, 'prov:agent': person });
    for (const { cell, sha256 } of version.cells) {
      const member = versionBySha.get(`${cell}\u0000${sha256}`);
      if (member) {
        b.relation('hadMember', {
          'prov:collection': id,
          'prov:entity': provIds.sourceVersion(cell, member.version)
        });
      }
    }
  });

  // Structure changes: each an activity that used the notebook version it changed (the last one before it).
  session.structure.forEach((change, index) => {
    const id = provIds.structureChange(index + 1);
    b.node('activity', id, {
      'prov:type': qualified('nbprov:StructureChange'),
      'prov:label': `${change.op} cell ${change.cell}`,
      'prov:startTime': change.t,
      'prov:endTime': change.t,
      'nbprov:op': change.op,
      'nbprov:cell': change.cell,
      'nbprov:from': change.from,
      'nbprov:to': change.to
    });
    const changed = session.notebookVersions.filter(version => compareTimes(version.t, change.t) < 0).pop();
    b.relation('used', {
      'prov:activity': id,
      'prov:entity': changed ? provIds.notebookVersion(changed.version) : provIds.notebook(),
      'prov:time': change.t
    });
    // The page makes the change for the person (pages are not agents: see addAgents).
    b.relation('wasAssociatedWith', { 'prov:activity': id, 'prov:agent': person });
  });
  return agentOf;
}

function addRun(b: DocumentBuilder, run: IRun, agentOf: (kernelSession: string | null) => string): void {
  const runId = provIds.run(run.id);
  const runEnergy = run.energy.filter(e => e.scope === 'run');
  b.node('activity', runId, {
    'prov:type': 'provml:RunExecution',
    'prov:label': runDisplayName(run),
    'prov:startTime': run.started,
    'prov:endTime': run.ended,
    'nbprov:run_id': run.id,
    'nbprov:experiment': run.experiment,
    'nbprov:status': run.status,
    'nbprov:ename': run.ename,
    'nbprov:evalue': run.evalue,
    'nbprov:kernel_session': run.kernelSession,
    ...(run.lostPoints ? { 'nbprov:lost_points': run.lostPoints, 'nbprov:lost_reason': run.lostReasons.join('; ') } : {}),
    ...(Object.keys(run.tags).length
      ? { 'nbprov:tags': JSON.stringify(Object.fromEntries(Object.entries(run.tags).sort())) }
      : {}),
    ...(run.parent !== null ? { 'nbprov:parent_run': provIds.run(run.parent) } : {}),
    ...(run.codeUnavailable !== null
      ? { 'nbprov:code_state': 'unavailable', 'nbprov:code_state_reason': run.codeUnavailable }
      : {}),
    ...rankAttributes(run), // ranks
    ...(runEnergy.length
      ? energyAttributes(runEnergy)
      : run.energyRequested
        ? { 'nbprov:energy': 'unavailable', 'nbprov:energy_reason': 'no reading recorded' }
        : {})
  });
  for (const exec of [...(run.exec !== null ? [run.exec] : []), ...run.contributingExecs]) {
    if (b.has('activity', provIds.execution(exec))) {
      b.relation('wasInformedBy', { 'prov:informed': runId, 'prov:informant': provIds.execution(exec) });
    }
  }
  if (run.parent !== null && b.has('activity', provIds.run(run.parent))) {
    // A nested run (a sweep's child) is informed by the run it belongs to.
    b.relation('wasInformedBy', { 'prov:informed': runId, 'prov:informant': provIds.run(run.parent) });
  }
  b.relation('wasAssociatedWith', { 'prov:activity': runId, 'prov:agent': agentOf(run.kernelSession) });
  b.relation('wasAssociatedWith', { 'prov:activity': runId, 'prov:agent': provIds.software() });
  if (run.code !== null && run.codeSha256 !== null) {
    const codeId = provIds.codeState(run.codeSha256);
    if (!b.has('entity', codeId)) {
      b.node('entity', codeId, {
        'prov:type': 'nbprov:CodeState',
        'prov:label': `code state ${run.codeSha256.slice(0, 12)}`,
        'nbprov:sha256': run.codeSha256,
        ...codeAttributes(run.code)
      });
    }
    b.relation('used', { 'prov:activity': runId, 'prov:entity': codeId, 'prov:time': run.started });
  }

  for (const context of run.contexts) {
    const id = provIds.context(run.id, context.ctx);
    const readings = run.energy.filter(
      e => (e.scope === 'context' || e.scope === 'epoch') && (e.ctx ?? Number(e.ref)) === context.ctx
    );
    b.node('activity', id, {
      'prov:type': context.epoch === null ? 'provml:Context' : 'provml:Epoch',
      'prov:label': context.name,
      'prov:startTime': context.started,
      'prov:endTime': context.ended,
      'provml:context': context.name,
      'nbprov:ctx': context.ctx,
      'nbprov:epoch': context.epoch,
      'nbprov:rank': context.rank, // ranks
      ...(readings.length ? energyAttributes(readings) : {})
    });
    const parent = context.parent === null ? null : provIds.context(run.id, context.parent);
    b.relation('wasInformedBy', {
      'prov:informed': id,
      'prov:informant': parent && run.contexts.some(c => c.ctx === context.parent) ? parent : runId
    });
  }
  const cellReadings = run.energy.filter(e => e.scope === 'cell');
  for (const ref of new Set(cellReadings.map(e => String(e.ref)))) {
    const execId = provIds.execution(ref);
    if (b.has('activity', execId)) {
      b.node('activity', execId, energyAttributes(cellReadings.filter(e => String(e.ref) === ref)));
    }
  }

  // Inputs of the run are `used`, outputs `wasGeneratedBy` it.
  const addRoleEntity = (
    id: string,
    role: 'input' | 'output',
    attributes: Record<string, ProvValue | null | undefined>
  ): void => {
    b.node('entity', id, { ...attributes, 'nbprov:role': role });
    b.relation(role === 'input' ? 'used' : 'wasGeneratedBy', { 'prov:activity': runId, 'prov:entity': id });
  };
  const roleIndex = { input: 0, output: 0 };
  for (const param of run.params) {
    addRoleEntity(provIds.param(run.id, param.role, roleIndex[param.role]++), param.role, {
      'prov:type': 'provml:Parameter',
      'prov:label': param.key,
      'prov:value': paramProvValue(param.value, param.valueType)
    });
  }
  run.artifacts.forEach((artifact, index) => {
    addRoleEntity(provIds.artifact(run.id, index), artifact.role, {
      'prov:type': 'provml:Artifact',
      'prov:label': artifact.name || artifact.path,
      // The path is recorded as written by the user; it is never opened by the export.
      'nbprov:path': artifact.path,
      'nbprov:sha256': artifact.sha256,
      'nbprov:size': artifact.size
    });
  });
  run.metrics.forEach((series, index) => {
    const id = provIds.metric(run.id, index);
    const context = series.ctx === null ? undefined : run.contexts.find(c => c.ctx === series.ctx);
    b.node('entity', id, {
      'prov:type': 'provml:Metric',
      'prov:label': series.metric,
      'provml:context': context?.name ?? 'run',
      'provml:source': 'nbprov',
      'dcterms:identifier': metricGroupPath(run, index),
      'dcterms:format': 'application/x-zarr-v3',
      'nbprov:store': METRICS_ROOT,
      'nbprov:points': series.points,
      'nbprov:rank': series.rank, // ranks
      'nbprov:rank_session': series.process
    });
    b.relation('wasGeneratedBy', {
      'prov:entity': id,
      'prov:activity': context ? provIds.context(run.id, context.ctx) : runId
    });
  });
}

export function buildProvDocument(session: ISession, options: IProvOptions): IProvDocument {
  const b = new DocumentBuilder();
  b.node('agent', provIds.software(), {
    'prov:type': 'prov:SoftwareAgent',
    'prov:label': 'nbprov',
    'nbprov:version': options.nbprovVersion
  });
  const agentOf = addDevelopmentGraph(b, session, options);
  for (const run of session.runs) {
    addRun(b, run, agentOf);
  }
  return b.doc;
}

/** The object with its keys in sorted order. */
function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  const sorted: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) {
    sorted[key] = record[key];
  }
  return sorted;
}

/**
 * PROV-JSON for byte-identical output: sections, prefixes and each record's attributes in sorted
 * order; records keep the builder's order, which depends only on the journal (ids, sequence numbers).
 */
export function stableStringify(doc: IProvDocument): string {
  const out: Record<string, unknown> = {};
  for (const section of Object.keys(doc).sort() as (keyof IProvDocument)[]) {
    const records = doc[section] as Record<string, Record<string, unknown>>;
    if (section === 'prefix') {
      out[section] = sortKeys(records);
      continue;
    }
    const ordered: Record<string, unknown> = {};
    for (const id of Object.keys(records)) {
      ordered[id] = sortKeys(records[id]);
    }
    out[section] = ordered;
  }
  return JSON.stringify(out);
}
