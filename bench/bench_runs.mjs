// Project-scan benchmark: `node bench/bench_runs.mjs` (after `npm run build:cli`). Writes 50 notebooks'
// .prov folders holding 1,000 runs in all (journals per the contract: cells, params, epoch contexts,
// metric batches), then times the bundled CLI `nbprov runs <root> --recursive --format json` as a
// process (Node start-up included): without the cache, with a cold cache, and warm.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = new URL('../nbprov/cli/nbprov.cjs', import.meta.url).pathname;
const NOTEBOOKS = 50;
const RUNS_PER_NOTEBOOK = 20;
const EPOCHS = 5;
const POINTS_PER_EPOCH = 100;
const T0 = Date.parse('2025-01-02T03:04:05.000Z');
const iso = ms => new Date(ms).toISOString();
const b64 = typed => Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');
const hex = (n, width) => n.toString(16).padStart(width, '0');

function series(metric, ctx, epoch, first, n) {
  const steps = new BigInt64Array(n);
  const values = new Float64Array(n);
  const timestamps = new BigInt64Array(n);
  const epochs = new Int32Array(n).fill(epoch);
  for (let i = 0; i < n; i++) {
    steps[i] = BigInt(first + i);
    values[i] = Math.exp(-(first + i) / 200) + Math.random() * 1e-3;
    timestamps[i] = BigInt(T0 + first + i);
  }
  return { metric, ctx, n, steps: b64(steps), values: b64(values), timestamps: b64(timestamps), epochs: b64(epochs) };
}

function notebookJournal(notebook) {
  const session = hex(notebook, 16);
  const records = [
    {
      type: 'kernel_start',
      t: iso(T0),
      session,
      kernel_id: null,
      pid: 1,
      hostname: 'h',
      python: '3.11',
      nbprov_version: '0.1.0',
      notebook: `nb${notebook}.ipynb`,
      user: 'bench'
    }
  ];
  let t = T0;
  for (let r = 0; r < RUNS_PER_NOTEBOOK; r++) {
    const run = hex(notebook, 16) + hex(r, 16);
    const exec = `${session}-${r + 1}`;
    records.push(
      { type: 'exec_start', t: iso(++t), exec, msg_id: null, cell: `c${r % 5}`, count: r + 1, source: `train(lr=${r})` },
      {
        type: 'run_start',
        t: iso(++t),
        run,
        name: `run-${r}`,
        experiment: 'bench',
        exec,
        code: null,
        energy: false,
        parent: null
      },
      ...['lr', 'batch', 'optimizer', 'dropout', 'seed'].map((key, i) => ({
        type: 'param',
        t: iso(t),
        run,
        key,
        value: key === 'optimizer' ? 'adam' : r * 0.01 + i,
        value_type: key === 'optimizer' ? 'str' : 'float',
        role: 'input'
      }))
    );
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      const ctx = epoch + 1;
      records.push({ type: 'context_start', t: iso(++t), run, ctx, name: 'training', epoch, parent: null });
      records.push({
        type: 'metrics',
        t: iso(++t),
        run,
        batch: epoch + 1,
        series: [
          series('loss', ctx, epoch, epoch * POINTS_PER_EPOCH, POINTS_PER_EPOCH),
          series('acc', ctx, epoch, epoch * POINTS_PER_EPOCH, POINTS_PER_EPOCH)
        ]
      });
      records.push({ type: 'context_end', t: iso(++t), run, ctx });
    }
    records.push(
      { type: 'run_end', t: iso(++t), run, status: 'finished' },
      { type: 'exec_end', t: iso(++t), exec, status: 'ok' }
    );
  }
  return { session, text: records.map((record, i) => JSON.stringify({ ...record, seq: i + 1 })).join('\n') + '\n' };
}

const root = mkdtempSync(join(tmpdir(), 'nbprov-bench-runs-'));
let bytes = 0;
for (let n = 0; n < NOTEBOOKS; n++) {
  const folder = join(root, `group${n % 5}`, `nb${n}.prov`, 'journal');
  mkdirSync(folder, { recursive: true });
  const { session, text } = notebookJournal(n);
  writeFileSync(join(folder, `k-${session}.jsonl`), text);
  bytes += text.length;
}

function timed(extra, cacheDir) {
  const started = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [CLI, 'runs', root, '--recursive', '--format', 'json', ...extra], {
    env: { ...process.env, NBPROV_CACHE_DIR: cacheDir },
    maxBuffer: 1 << 28
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, rows: JSON.parse(out).rows.length };
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cacheDir = join(root, '.cache');
const noCache = [1, 2, 3].map(() => timed(['--no-cache'], cacheDir));
const cold = [1, 2, 3].map(i => timed([], join(root, `.cache-cold-${i}`)));
timed([], cacheDir);
const warm = [1, 2, 3, 4, 5].map(() => timed([], cacheDir));
if (process.env.BENCH_KEEP) console.log(`kept ${root}`);
else rmSync(root, { recursive: true, force: true });

const runs = warm[0].rows;
console.log(`${runs} runs in ${NOTEBOOKS} notebooks, ${(bytes / 1e6).toFixed(1)} MB of journal`);
console.log('| scan | median of runs | target |');
console.log('| --- | --- | --- |');
console.log(`| without the cache | ${median(noCache.map(r => r.seconds)).toFixed(2)} s | < 2 s |`);
console.log(`| cold cache (reads and writes it) | ${median(cold.map(r => r.seconds)).toFixed(2)} s | < 2 s |`);
console.log(`| warm cache | ${median(warm.map(r => r.seconds)).toFixed(2)} s | < 2 s |`);
