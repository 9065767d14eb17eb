/**
 * `nbprov runs [path]`: the run table of a notebook, a `.prov` folder or a project (`--recursive`);
 * `nbprov metric <path> --run ID --metric NAME`: one metric's series. Both read the journal through
 * the core session model, the one reducer the lab and the export use too.
 */

import * as path from 'node:path';

import { compileFilter, FilterError } from '../core/filter';
import { contextPath, columnKinds, formatCsv, formatTable, jsonCell, tableColumns } from '../core/runtable';
import { type ICommandSpec, parseCommandArgs } from './args';
import { UserError } from './errors';
import { defaultCacheDir, readProvFolder, scanRuns } from './runscan';

const FORMATS = ['table', 'csv', 'json'] as const;
type Format = (typeof FORMATS)[number];

export const runsSpec: ICommandSpec = {
  summary: 'list the runs of a notebook, a .prov folder or every notebook below a folder',
  help: [
    'usage: nbprov runs [--recursive] [--filter EXPR] [--experiment NAME] [--format table|csv|json] [path]',
    '',
    'Lists runs, one row per run: id, name, experiment, status, start, end, duration (s), parent,',
    'notebook, folder, cell, git commit, energy (J), tags.<k>, params.<k>, outputs.<k> and, per metric,',
    'metrics.<m> (last value), metrics.<m>.min and metrics.<m>.max; a metric logged in a context is',
    'metrics.<context>/<m>. [path] is a notebook, a .prov folder or a folder (its .prov folders; with',
    '--recursive every one below it); default: the current folder. Unreadable .prov folders in a',
    'folder are skipped with a warning.',
    '',
    'options:',
    '  --filter EXPR      keep the runs matching EXPR, e.g. "params.lr > 0.01 and status = \'finished\'"',
    '                     (and, or, not, parentheses, = != < <= > >=, in (...), like, ilike, is null)',
    '  --experiment NAME  keep the runs of one experiment',
    '  --format FORMAT    table (default), csv or json ({base, columns, kinds, rows, warnings}; folder',
    '                     is relative to base)',
    '  -r, --recursive    read every .prov folder below [path]',
    '  --live-session ID  a kernel session still running (its open runs are running, not crashed)',
    '  --no-cache         read every journal again, without the cache',
    '  -h, --help         show this help'
  ].join('\n'),
  options: {
    filter: { type: 'string' },
    experiment: { type: 'string' },
    format: { type: 'string' },
    recursive: { type: 'boolean', short: 'r' },
    'live-session': { type: 'string', multiple: true },
    'no-cache': { type: 'boolean' }
  },
  positionals: [],
  optionalPositionals: ['path']
};

export const metricSpec: ICommandSpec = {
  summary: 'print one metric of a run as JSON (little-endian base64 arrays)',
  help: [
    'usage: nbprov metric --run ID --metric NAME [--context PATH] [--recursive] <path>',
    '',
    'Prints {run, metric, notebook, series: [{context, points, steps, values, timestamps, epochs}]}:',
    'one entry per context the metric was logged in (context "" outside any), arrays as base64 of',
    'little-endian int64 steps, float64 values, int64 timestamps (ms) and int32 epochs (-1 = none).',
    '<path> is as for nbprov runs; ID is a run id or a prefix of one that names a single run.',
    '',
    'options:',
    '  --run ID           the run',
    '  --metric NAME      the metric',
    '  --context PATH     only the series of this context path (e.g. training or training/batch)',
    '  -r, --recursive    look in every .prov folder below <path>',
    '  --live-session ID  a kernel session still running',
    '  -h, --help         show this help'
  ].join('\n'),
  options: {
    run: { type: 'string' },
    metric: { type: 'string' },
    context: { type: 'string' },
    recursive: { type: 'boolean', short: 'r' },
    'live-session': { type: 'string', multiple: true }
  },
  positionals: ['path']
};

/**
 * Writes to stdout and waits until Node has handed it on: a pipe takes 64 KiB at a time, and the
 * CLI's `process.exit` would cut a large table short.
 */
function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, error => (error ? reject(error) : resolve()));
  });
}

const liveSessionsOf = (values: Record<string, unknown>): string[] => (values['live-session'] as string[] | undefined) ?? [];

export async function runsCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(runsSpec, args);
  if (parsed === 'help') {
    process.stdout.write(runsSpec.help + '\n');
    return 0;
  }
  const format = (parsed.values.format as string | undefined) ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UserError(`--format must be one of ${FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
  }
  const result = await scanRuns(parsed.positionals[0] ?? '.', {
    recursive: parsed.values.recursive === true,
    liveSessions: liveSessionsOf(parsed.values),
    cacheDir: parsed.values['no-cache'] ? null : defaultCacheDir()
  });
  for (const warning of result.warnings) {
    process.stderr.write(`nbprov runs: warning: ${warning.folder}: ${warning.reason}\n`);
  }
  let rows = result.rows;
  const experiment = parsed.values.experiment as string | undefined;
  if (experiment !== undefined) {
    rows = rows.filter(row => row.experiment === experiment);
  }
  const filter = parsed.values.filter as string | undefined;
  if (filter !== undefined) {
    try {
      // Fields are checked against every column of the scan, so a column no kept run has is no error.
      const keep = compileFilter(filter, tableColumns(result.rows));
      rows = rows.filter(keep);
    } catch (error) {
      if (error instanceof FilterError) {
        throw new UserError(error.message);
      }
      throw error;
    }
  }
  const columns = tableColumns(rows);
  await writeStdout(render(format as Format, rows, columns, result.base, result.warnings));
  return 0;
}

function render(
  format: Format,
  rows: Parameters<typeof formatCsv>[0],
  columns: string[],
  base: string,
  warnings: { folder: string; reason: string }[]
): string {
  if (format === 'csv') {
    return formatCsv(rows, columns);
  }
  if (format === 'table') {
    return rows.length ? formatTable(rows, columns) : '(no runs)\n';
  }
  const jsonRows = rows.map(row =>
    Object.fromEntries(
      columns.filter(column => row[column] !== null && row[column] !== undefined).map(column => [column, jsonCell(row[column])])
    )
  );
  return JSON.stringify({ base, columns, kinds: columnKinds(rows, columns), rows: jsonRows, warnings }) + '\n';
}

const base64 = (array: ArrayBufferView): string =>
  Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');

export async function metricCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(metricSpec, args);
  if (parsed === 'help') {
    process.stdout.write(metricSpec.help + '\n');
    return 0;
  }
  const runId = parsed.values.run as string | undefined;
  const metric = parsed.values.metric as string | undefined;
  if (!runId || !metric) {
    throw new UserError('--run and --metric are required');
  }
  const wantedContext = parsed.values.context as string | undefined;
  const liveSessions = liveSessionsOf(parsed.values);
  // The run table (cached) says which folder holds the run: only that journal is read in full.
  const scan = await scanRuns(parsed.positionals[0], {
    recursive: parsed.values.recursive === true,
    liveSessions,
    cacheDir: defaultCacheDir()
  });
  const matches = scan.rows.filter(row => String(row.id).startsWith(runId));
  if (matches.length !== 1) {
    throw new UserError(
      matches.length === 0
        ? `no run ${JSON.stringify(runId)} in ${parsed.positionals[0]}`
        : `${matches.length} runs match ${JSON.stringify(runId)}: ${matches.map(row => `${row.id} in ${row.folder}`).join(', ')}`
    );
  }
  const { session, notebook } = await readProvFolder(path.resolve(scan.base, String(matches[0].folder)), liveSessions);
  const run = session.runs.find(candidate => candidate.id === matches[0].id);
  if (run === undefined) {
    throw new UserError(`run ${String(matches[0].id)} changed while it was read; try again`);
  }
  const series = run.metrics
    .filter(s => s.metric === metric)
    .map(s => ({ series: s, context: contextPath(run, s.ctx) }))
    .filter(s => wantedContext === undefined || s.context === wantedContext);
  if (series.length === 0) {
    const logged = [...new Set(run.metrics.map(s => `${s.metric} (context ${JSON.stringify(contextPath(run, s.ctx))})`))];
    throw new UserError(
      `run ${run.id} has no metric ${JSON.stringify(metric)}${wantedContext === undefined ? '' : ` in context ${JSON.stringify(wantedContext)}`}; ` +
        `it logged: ${logged.join(', ') || 'no metrics'}`
    );
  }
  const output = {
    run: run.id,
    metric,
    notebook: path.basename(notebook),
    series: series.map(({ series: s, context }) => ({
      context,
      ...(s.rank === undefined ? {} : { rank: s.rank }), // ranks
      points: s.values.length,
      steps: base64(s.steps),
      values: base64(s.values),
      timestamps: base64(s.timestamps),
      epochs: base64(s.epochs)
    }))
  };
  await writeStdout(JSON.stringify(output) + '\n');
  return 0;
}
