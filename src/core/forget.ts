/**
 * What `forget` deletes from a notebook's provenance folder: a pure plan over the folder's listing
 * and its journal texts, carried out by the CLI (filesystem) and the lab command (Contents API).
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
 * not parse are dropped from a rewritten file: they may hold what is to be forgotten.
 */

import { JOURNAL_FILE } from './records';
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
  /** Journal files to replace with `text`. */
  rewrite: { path: string; text: string }[];
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

interface ILine {
  text: string;
  record: Record<string, unknown> | null;
}

function linesOf(text: string): ILine[] {
  return text
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => {
      try {
        const parsed = JSON.parse(line) as unknown;
        return {
          text: line,
          record:
            typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null
        };
      } catch {
        return { text: line, record: null };
      }
    });
}

function timeOf(record: Record<string, unknown>): number {
  return typeof record.t === 'string' ? Date.parse(record.t) : NaN;
}

function hasOutputs(record: Record<string, unknown>): boolean {
  return (record.type === 'exec_output' || record.type === 'kernel_output') && Array.isArray(record.outputs);
}

/** The blob and artifact names a record refers to. */
function referencesOf(record: Record<string, unknown>, into: Set<string>): void {
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

/** The plan; it deletes and rewrites only `journal/`, `blobs/` and `artifacts/` entries of the listing. */
export function planForget(listing: IProvListing, options: IForgetOptions): IForgetPlan {
  const before = options.before?.getTime() ?? Infinity;
  const plan: IForgetPlan = {
    delete: [],
    rewrite: [],
    keptSessions: [],
    records: 0,
    outputs: 0,
    blobs: 0,
    artifacts: 0,
    journalFiles: 0,
    damagedLines: 0,
    exported: listing.exported
  };
  const referenced = new Set<string>();
  const whole = !options.outputsOnly && options.before === null;
  for (const file of [...listing.journal].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!JOURNAL_FILE.test(file.name)) {
      continue;
    }
    const path = `journal/${file.name}`;
    const lines = linesOf(file.text);
    if (whole) {
      plan.delete.push(path);
      plan.journalFiles++;
      plan.records += lines.length;
      continue;
    }
    const old = (line: ILine): boolean => line.record === null || !(timeOf(line.record) >= before);
    if (!options.outputsOnly && file.name.startsWith('k-')) {
      if (lines.every(old)) {
        plan.delete.push(path);
        plan.journalFiles++;
        plan.records += lines.length;
      } else {
        plan.keptSessions.push(file.name.slice(2, -'.jsonl'.length));
        lines.forEach(line => line.record && referencesOf(line.record, referenced));
      }
      continue;
    }
    const kept: string[] = [];
    let changed = false;
    for (const line of lines) {
      if (line.record === null) {
        plan.damagedLines++;
        changed = true;
      } else if (!old(line)) {
        kept.push(line.text);
        referencesOf(line.record, referenced);
      } else if (options.outputsOnly) {
        if (hasOutputs(line.record) && (line.record.outputs as unknown[]).length > 0) {
          plan.outputs += (line.record.outputs as unknown[]).length;
          kept.push(JSON.stringify({ ...line.record, outputs: [] }));
          changed = true;
        } else {
          kept.push(line.text);
          referencesOf(line.record, referenced);
        }
      } else {
        plan.records++;
        changed = true;
      }
    }
    if (kept.length === 0) {
      plan.delete.push(path);
      plan.journalFiles++;
    } else if (changed) {
      plan.rewrite.push({ path, text: kept.join('\n') + '\n' });
    }
  }
  for (const blob of listing.blobs) {
    if (!referenced.has(`blobs/${blob}`)) {
      plan.delete.push(`blobs/${blob}`);
      plan.blobs++;
    }
  }
  if (!options.outputsOnly) {
    for (const artifact of listing.artifacts) {
      if (STORED_ARTIFACT.test(artifact) && !referenced.has(`artifacts/${artifact}`)) {
        plan.delete.push(`artifacts/${artifact}`);
        plan.artifacts++;
      }
    }
  }
  for (const path of [...plan.delete, ...plan.rewrite.map(r => r.path)]) {
    assertSafeRelativePath(path);
  }
  return plan;
}

/** True when the listing holds anything nbprov recorded (journal files, blobs, stored artifacts). */
export function hasHistory(listing: IProvListing): boolean {
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
