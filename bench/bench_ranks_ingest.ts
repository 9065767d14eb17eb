/**
 * Page ingest of a run's rank journals (bench/bench_ranks.py runs it): the journal folder read as
 * the page reads it (parse, then the run store), for the rank-0 view (the kernel's file and rank
 * 0's) and for all ranks (every file: the "all ranks" view needs every series in the store).
 *
 *   npx esbuild bench/bench_ranks_ingest.ts --bundle --platform=node --outfile=/tmp/bench_ranks_ingest.cjs
 *   node /tmp/bench_ranks_ingest.cjs <stem>.prov/journal <points per rank>
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { readJournalText, sortJournalNames } from '../src/core/reader';
import { JournalRecord, journalRankOf, kernelSessionOf } from '../src/core/records';
import { RunStore } from '../src/store';

/** What `applyJournal` (src/tracker.ts, which imports JupyterLab) does: read and apply one session at a time. */
function ingest(folder: string, names: string[]): { ms: number; points: number } {
  const files = sortJournalNames(names.map(name => ({ name, text: readFileSync(join(folder, name), 'utf8') })));
  const store = new RunStore();
  const started = performance.now();
  for (const file of files) {
    const records: JournalRecord[] = [];
    readJournalText(
      file,
      located => records.push(located.record),
      () => undefined
    );
    store.apply(kernelSessionOf(file.name)!, records, true);
  }
  return { ms: performance.now() - started, points: store.pointCount };
}

function check(points: number, expected: number): void {
  if (points !== expected) {
    throw new Error(`the store holds ${points} points, the journal ${expected}`);
  }
}

const folder = process.argv[2];
const names = readdirSync(folder).filter(name => kernelSessionOf(name) !== null);
const rankZero = names.filter(name => (journalRankOf(name) ?? 0) === 0);
const pointsPerRank = Number(process.argv[3]);
for (const [view, chosen, expected] of [
  ['rank-0 view', rankZero, pointsPerRank],
  ['all ranks', names, pointsPerRank * (names.length - 1)]
] as const) {
  const { ms, points } = ingest(folder, chosen);
  check(points, expected);
  console.log(
    `page ingest, ${view}: ${chosen.length} files, ${points} points, ${(ms / 1000).toFixed(2)} s (${(((points / ms) * 1000) / 1e6).toFixed(2)} M points/s)`
  );
}
