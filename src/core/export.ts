/**
 * The export pipeline: journal file texts in, `prov.json`, `metrics.zarr/` and
 * `ro-crate-metadata.json` out through a sink. Shared by the CLI (filesystem sink) and the
 * JupyterLab command (Contents API sink), so one export implementation exists.
 */

import { foldJournals, type IJournalWarning, type JournalSource } from './reader';
import { buildProvDocument, stableStringify } from './prov';
import { buildCrateMetadata, licenseUri, ROCRATE_METADATA } from './rocrate';
import { newModel } from './model';
import { finalizeSessionWith } from './session';
import { CheckedSink, type IFileSink } from './sink';
import { type IScratch, memoryScratch, SeriesSpill } from './spill';
import { writeMetricsZarr } from './zarr';

export type { IFileSink } from './sink';
export type { IJournalFile, IJournalStream, IJournalWarning, JournalSource } from './reader';
export type { IScratch } from './spill';

export const PROV_FILE = 'prov.json';

export interface IExportInput {
  /** Notebook file name, e.g. `train.ipynb` (a label: never used as a path). */
  notebook: string;
  /** `<stem>.prov/journal/*.jsonl`, as texts or streams; `name` is the file name inside `journal/`. */
  journal: JournalSource[];
  /** The folder's notebook id (`identity.json`): a journal naming another notebook is left out. */
  notebookId?: string | null;
  /** Kernel sessions still running: their unfinished runs are `running`, not `crashed`. */
  liveSessions?: string[];
  /** Names of the files present in `<stem>.prov/blobs/` (sha256 hex). */
  blobs?: string[];
  nbprovVersion: string;
  /** ISO date-time recorded as the crate's `datePublished`; defaults to now. */
  datePublished?: string;
  /** The crate's licence: an http(s) URL or an SPDX identifier (`licenseUri`); defaults to CC BY 4.0. */
  license?: string;
  /**
   * Where metric points wait between the fold and the Zarr write (the CLI and the page: a file, so
   * memory does not grow with the journal); memory by default. The export closes it.
   */
  scratch?: IScratch;
  /** Points held in memory before they go to `scratch` (default `SPILL_POINTS`; tests make it tiny). */
  spillPoints?: number;
  /** Called after each step with steps done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface IExportSummary {
  /** Relative paths written, in write order. */
  files: string[];
  bytes: number;
  provBytes: number;
  zarrBytes: number;
  executions: number;
  runs: number;
  metricSeries: number;
  points: number;
  /** Lines skipped while reading the journal and records that could not be placed. */
  warnings: IJournalWarning[];
}

/**
 * Writes the export through `sink`; a staging sink gets `commit` after the last file, or `abort`
 * when anything fails, so a failed export never leaves half of one in place.
 */
export async function exportSession(input: IExportInput, sink: IFileSink): Promise<IExportSummary> {
  const out = new CheckedSink(sink);
  const scratch = input.scratch ?? memoryScratch();
  try {
    let summary: IExportSummary;
    try {
      summary = await writeExport(input, out, scratch);
    } catch (error) {
      await scratch.close().catch(() => undefined); // the export's own error is the one to report
      throw error;
    }
    // Freed before the commit: nothing reads it afterwards, and the page's lives in the staging folder.
    await scratch.close();
    await out.commit();
    return summary;
  } catch (error) {
    await out.abort().catch(() => undefined);
    throw error;
  }
}

async function writeExport(input: IExportInput, out: CheckedSink, scratch: IScratch): Promise<IExportSummary> {
  // Bad input is refused before anything is written.
  const license = licenseUri(input.license);
  const spill = new SeriesSpill(scratch, input.spillPoints);
  const model = newModel(spill.sink, input.notebookId ?? null);
  // The scratch catches up after each chunk: what waits in memory stays bounded.
  await foldJournals(model, input.journal, () => scratch.settle());
  spill.flush();
  const session = finalizeSessionWith(model, input.liveSessions ?? [], series => series);
  const metricSeries = session.runs.reduce((sum, run) => sum + run.metrics.length, 0);
  // Steps: parse+model, prov.json, each metric group, the crate.
  const total = 3 + metricSeries;
  let done = 0;
  const step = (): void => input.onProgress?.(++done, total);
  step();

  const prov = stableStringify(
    buildProvDocument(session, {
      notebook: input.notebook,
      nbprovVersion: input.nbprovVersion,
      blobs: input.blobs ?? []
    })
  );
  await out.write(PROV_FILE, prov);
  step();

  const zarr = await writeMetricsZarr(session.runs, out, step);

  const crate = buildCrateMetadata({
    notebook: input.notebook,
    session,
    journalFiles: input.journal.map(file => file.name),
    blobs: input.blobs ?? [],
    nbprovVersion: input.nbprovVersion,
    datePublished: input.datePublished ?? new Date().toISOString(),
    license
  });
  await out.write(ROCRATE_METADATA, JSON.stringify(crate, null, 1));
  step();

  return {
    files: out.files,
    bytes: out.bytes,
    provBytes: new TextEncoder().encode(prov).byteLength,
    zarrBytes: zarr.bytes,
    executions: session.executions.length,
    runs: session.runs.length,
    metricSeries,
    points: session.runs.reduce((sum, run) => sum + run.metrics.reduce((s, m) => s + m.points, 0), 0),
    warnings: session.warnings
  };
}
