/**
 * What `forget` deletes from a notebook's provenance folder: a pure plan over the folder's listing
 * and its journal files, carried out by the CLI (filesystem) and the lab command (Contents API).
 *
 * - everything (default): every journal file, every blob and every artifact; `identity.json` and
 *   an earlier export stay (the export was written on purpose; the plan names it).
 * - `outputsOnly`: every output item of `exec_output` / `kernel_output` records is removed (the
 *   records stay with `outputs: []`, so executions keep their times and status), and every blob.
 * - `before`: page records (`f-*`) older than the date are removed; a kernel journal (`k-*`) is
 *   removed whole when its last record is older, else kept whole (its `seq` numbers and runs stay
 *   consistent) and named in `keptSessions`. Blobs and artifacts no kept record names are removed.
 *   With `outputsOnly`, only the outputs of the older records are removed.
 *
 * A journal file is rewritten whole (the executor replaces it atomically) or deleted. Lines that do
 * not parse are dropped from a rewritten file: they may hold what is to be forgotten. Journal files
 * are read line by line (`JournalForget`, fed by the reader's `LineSplitter`): the CLI streams each
 * file and its kept lines, so a journal of any size is never one string.
 */

import { LineSplitter, sortJournalNames } from './reader';
import { JOURNAL_FILE, JOURNAL_SUFFIX, kernelSessionOf } from './records';
import { assertSafeRelativePath } from './sink';

export interface IForgetOptions {
  outputsOnly: boolean;
  /** Forget what was recorded before this time; null: whatever its time. */
  before: Date | null;
}

export interface IProvListing {
  /** `journal/*.jsonl` files with their text (never read through a symbolic link). */
  journal: { name: string; text: string }[];
  /** File names in `blobs/`. */
  blobs: string[];
  /** File names in `artifacts/`. */
  artifacts: string[];
  /** Whether `prov.json` (an export) exists. */
  exported: boolean;
}

export interface IForgetPlan {
  /** Paths relative to the provenance folder, to delete. */
  delete: string[];
  /** Journal files to replace with the lines they keep. */
  rewrite: string[];
  /** Kernel sessions kept whole because they recorded after `before`. */
  keptSessions: string[];
  records: number;
  outputs: number;
  blobs: number;
  artifacts: number;
  journalFiles: number;
  /** Damaged lines removed from rewritten files. */
  damagedLines: number;
  exported: boolean;
}

/** A plan over journal texts (the page), with the text each rewritten file gets. */
export interface ITextForgetPlan extends IForgetPlan {
  texts: Map<string, string>;
}

const STORED_ARTIFACT = /^[0-9a-f]{64}(\.[A-Za-z0-9]+)?$/;

/** Parses `--before`: an ISO date (midnight UTC) or date-time; throws a message for anything else. */
export function parseBefore(text: string): Date {
  const valid = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(text);
  const date = new Date(/T/.test(text) && !/(Z|[+-]\d{2}:\d{2})$/.test(text) ? `${text}Z` : text);
  if (!valid || Number.isNaN(date.getTime())) {
    throw new Error(`--before takes a date (2026-12-01, midnight UTC) or an ISO date-time, not ${JSON.stringify(text)}`);
  }
  return date;
}

type RawRecord = Record<string, unknown>;

function parseLine(text: string): RawRecord | null {
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as RawRecord) : null;
  } catch {
    return null;
  }
}

function timeOf(record: RawRecord): number {
  return typeof record.t === 'string' ? Date.parse(record.t) : NaN;
}

function hasOutputs(record: RawRecord): boolean {
  return (record.type === 'exec_output' || record.type === 'kernel_output') && Array.isArray(record.outputs);
}

/** The blob and artifact names a record refers to. */
function referencesOf(record: RawRecord, into: Set<string>): void {
  if (hasOutputs(record)) {
    for (const item of record.outputs as { blob?: unknown }[]) {
      if (typeof item?.blob === 'string') {
        into.add(`blobs/${item.blob}`);
      }
    }
  }
  if (record.type === 'artifact' && typeof record.stored === 'string') {
    into.add(record.stored);
  }
}

/**
 * The plan, built file by file: `journal(name)` gives the line-by-line judge of one journal file,
 * `finish` adds the blobs and artifacts no kept record names. Journal files come in name order, so
 * they are deleted before the blobs and artifacts they name (a forget cut short leaves no record
 * naming a deleted blob).
 */
export class ForgetPlanner {
  readonly plan: IForgetPlan;

  constructor(
    readonly options: IForgetOptions,
    exported: boolean
  ) {
    this.plan = {
      delete: [],
      rewrite: [],
      keptSessions: [],
      records: 0,
      outputs: 0,
      blobs: 0,
      artifacts: 0,
      journalFiles: 0,
      damagedLines: 0,
      exported
    };
  }

  /** The judge of journal file `name`, or null for a name that is no journal file (left alone). */
  journal(name: string): JournalForget | null {
    return JOURNAL_FILE.test(name) ? new JournalForget(this, name) : null;
  }

  /** The plan, once every journal file was judged to its end. */
  finish(blobs: readonly string[], artifacts: readonly string[]): IForgetPlan {
    const plan = this.plan;
    for (const blob of blobs) {
      if (!this.referenced.has(`blobs/${blob}`)) {
        plan.delete.push(`blobs/${blob}`);
        plan.blobs++;
      }
    }
    if (!this.options.outputsOnly) {
      for (const artifact of artifacts) {
        if (STORED_ARTIFACT.test(artifact) && !this.referenced.has(`artifacts/${artifact}`)) {
          plan.delete.push(`artifacts/${artifact}`);
          plan.artifacts++;
        }
      }
    }
    for (const path of [...plan.delete, ...plan.rewrite]) {
      assertSafeRelativePath(path);
    }
    return plan;
  }

  /** Blobs and artifacts named by records that stay. */
  readonly referenced = new Set<string>();
}

/**
 * One journal file judged line by line: `line(text)` returns the text a rewrite keeps for the line
 * (null: dropped, or the file is not rewritten line by line: see `rewrites`); `end()` decides the
 * file's fate (deleted, rewritten, or kept as it is) and adds it to the plan.
 */
export class JournalForget {
  /** Whether kept lines may make a rewritten file (else the file is kept or deleted whole). */
  readonly rewrites: boolean;
  readonly path: string;

  constructor(
    private readonly _planner: ForgetPlanner,
    readonly name: string
  ) {
    const { outputsOnly, before } = _planner.options;
    this.path = `journal/${name}`;
    this._whole = !outputsOnly && before === null;
    this._kernelWhole = !outputsOnly && before !== null && kernelSessionOf(name) !== null;
    this.rewrites = !this._whole && !this._kernelWhole;
    this._before = before?.getTime() ?? Infinity;
  }

  line(text: string): string | null {
    if (text.trim() === '') {
      return null;
    }
    this._lines++;
    if (this._whole) {
      return null;
    }
    const record = parseLine(text);
    const old = record === null || !(timeOf(record) >= this._before);
    if (this._kernelWhole) {
      this._allOld &&= old;
      if (record !== null) {
        referencesOf(record, this._references);
      }
      return null;
    }
    if (record === null) {
      this._damaged++;
      this._changed = true;
      return null;
    }
    if (!old) {
      this._kept++;
      referencesOf(record, this._references);
      return text;
    }
    if (this._planner.options.outputsOnly) {
      this._kept++;
      if (hasOutputs(record) && (record.outputs as unknown[]).length > 0) {
        this._outputs += (record.outputs as unknown[]).length;
        this._changed = true;
        return JSON.stringify({ ...record, outputs: [] });
      }
      referencesOf(record, this._references);
      return text;
    }
    this._removed++;
    this._changed = true;
    return null;
  }

  /** After the last line: what happens to the file. */
  end(): 'delete' | 'rewrite' | 'keep' {
    const plan = this._planner.plan;
    const remove = (records: number): 'delete' => {
      plan.delete.push(this.path);
      plan.journalFiles++;
      plan.records += records;
      return 'delete';
    };
    if (this._whole || (this._kernelWhole && this._allOld)) {
      return remove(this._lines);
    }
    for (const reference of this._references) {
      this._planner.referenced.add(reference);
    }
    if (this._kernelWhole) {
      plan.keptSessions.push(this.name.slice('k-'.length, -JOURNAL_SUFFIX.length));
      return 'keep';
    }
    plan.damagedLines += this._damaged;
    plan.outputs += this._outputs;
    plan.records += this._removed;
    if (this._kept === 0) {
      return remove(0);
    }
    if (!this._changed) {
      return 'keep';
    }
    plan.rewrite.push(this.path);
    return 'rewrite';
  }

  private readonly _whole: boolean;
  private readonly _kernelWhole: boolean;
  private readonly _before: number;
  private readonly _references = new Set<string>();
  private _lines = 0;
  private _kept = 0;
  private _removed = 0;
  private _damaged = 0;
  private _outputs = 0;
  private _changed = false;
  private _allOld = true;
}

/** The plan over journal texts (the page: the Contents API returns whole files). */
export function planForget(listing: IProvListing, options: IForgetOptions): ITextForgetPlan {
  const planner = new ForgetPlanner(options, listing.exported);
  const texts = new Map<string, string>();
  for (const file of sortJournalNames(listing.journal)) {
    const judge = planner.journal(file.name);
    if (judge === null) {
      continue;
    }
    const kept: string[] = [];
    const lines = new LineSplitter(text => {
      const keep = judge.line(text);
      if (keep !== null) {
        kept.push(keep);
      }
    });
    lines.push(file.text);
    lines.end();
    if (judge.end() === 'rewrite') {
      texts.set(judge.path, kept.join('\n') + '\n');
    }
  }
  return { ...planner.finish(listing.blobs, listing.artifacts), texts };
}

/** True when the listing holds anything nbprov recorded (journal files, blobs, stored artifacts). */
export function hasHistory(listing: {
  journal: readonly { name: string }[];
  blobs: readonly string[];
  artifacts: readonly string[];
}): boolean {
  return (
    listing.journal.some(file => JOURNAL_FILE.test(file.name)) ||
    listing.blobs.length > 0 ||
    listing.artifacts.some(name => STORED_ARTIFACT.test(name))
  );
}

/** True when the plan removes nothing. */
export function planIsEmpty(plan: IForgetPlan): boolean {
  return plan.delete.length === 0 && plan.rewrite.length === 0;
}

/** What the plan removes, in one sentence (the dialog, the CLI, the kernel). */
export function describePlan(plan: IForgetPlan, options: IForgetOptions): string {
  const parts: string[] = [];
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (plan.journalFiles) {
    parts.push(count(plan.journalFiles, 'journal file'));
  }
  if (plan.records) {
    parts.push(count(plan.records, 'record'));
  }
  if (plan.outputs) {
    parts.push(count(plan.outputs, 'output'));
  }
  if (plan.blobs) {
    parts.push(count(plan.blobs, 'blob'));
  }
  if (plan.artifacts) {
    parts.push(count(plan.artifacts, 'stored artifact'));
  }
  if (plan.damagedLines) {
    parts.push(count(plan.damagedLines, 'damaged journal line'));
  }
  const scope = [options.outputsOnly ? 'outputs' : 'history', options.before ? `before ${options.before.toISOString()}` : '']
    .filter(Boolean)
    .join(' ');
  let text = parts.length ? `${scope}: ${parts.join(', ')}` : `${scope}: nothing to remove`;
  if (plan.keptSessions.length) {
    text += `; ${count(plan.keptSessions.length, 'kernel session')} kept whole (recorded after that time too): ${plan.keptSessions.join(', ')}`;
  }
  if (plan.exported) {
    text += '; an earlier export (prov.json, metrics.zarr/, ro-crate-metadata.json) is kept: delete it or export again';
  }
  return text;
}
