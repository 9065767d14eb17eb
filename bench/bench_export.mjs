// Export benchmark: `node bench/bench_export.mjs`. Bundles src/core with esbuild, then times
// exportSession on generated journals (written per the contract) into an in-memory sink.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = mkdtempSync(join(tmpdir(), 'nbprov-bench-'));
await build({
  entryPoints: [new URL('../src/core/export.ts', import.meta.url).pathname],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  outfile: join(out, 'export.cjs'),
  logLevel: 'error'
});
const { exportSession } = createRequire(import.meta.url)(join(out, 'export.cjs'));
rmSync(out, { recursive: true });

const T0 = Date.parse('2025-01-02T03:04:05.000Z');
const iso = ms => new Date(ms).toISOString();
const b64 = typed => Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');
const line = record => JSON.stringify(record);
const kernelStart = {
  type: 'kernel_start',
  t: iso(T0),
  session: 'bench',
  kernel_id: null,
  pid: 1,
  hostname: 'h',
  python: '3.11',
  nbprov_version: '0.1.0',
  notebook: 'bench.ipynb',
  user: 'bench'
};
const RUN = '0123456789abcdef0123456789abcdef';

/** One run logging `points` points of one metric, in batches like the kernel's flushes. */
function metricJournal(points, batchSize = 100_000) {
  const lines = [
    line(kernelStart),
    line({ type: 'exec_start', t: iso(T0 + 1), exec: 'bench-1', msg_id: null, cell: 'c', count: 1, source: 'train()' }),
    line({
      type: 'run_start',
      t: iso(T0 + 2),
      run: RUN,
      name: 'train',
      experiment: 'bench',
      exec: 'bench-1',
      code: null,
      energy: false
    })
  ];
  for (let start = 0, batch = 1; start < points; start += batchSize, batch++) {
    const n = Math.min(batchSize, points - start);
    const steps = new BigInt64Array(n),
      values = new Float64Array(n),
      timestamps = new BigInt64Array(n),
      epochs = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      steps[i] = BigInt(start + i);
      values[i] = Math.exp(-(start + i) / 1e5) + Math.random() * 1e-3;
      timestamps[i] = BigInt(T0 + start + i);
      epochs[i] = Math.floor((start + i) / 1e5);
    }
    lines.push(
      line({
        type: 'metrics',
        t: iso(T0 + 3 + batch),
        run: RUN,
        batch,
        series: [
          {
            metric: 'loss',
            ctx: null,
            n,
            steps: b64(steps),
            values: b64(values),
            timestamps: b64(timestamps),
            epochs: b64(epochs)
          }
        ]
      })
    );
  }
  lines.push(
    line({ type: 'run_end', t: iso(T0 + 10_000), run: RUN, status: 'finished' }),
    line({ type: 'exec_end', t: iso(T0 + 10_001), exec: 'bench-1', status: 'ok' })
  );
  return { journal: [{ name: 'k-bench.jsonl', text: lines.join('\n') + '\n' }], values: null };
}

/** `executions` cell executions over 50 cells, each source edited every few runs, with outputs. */
function executionJournal(executions) {
  const kernel = [line(kernelStart)];
  const frontend = [line({ type: 'page_start', t: iso(T0), page: 'p', notebook: 'bench.ipynb', user: 'bench' })];
  for (let n = 1; n <= executions; n++) {
    const cell = `cell-${n % 50}`;
    const source = `# cell ${n % 50}\nx = ${Math.floor(n / 150)}\nfor i in range(10):\n    print(i * x)\n`;
    kernel.push(line({ type: 'exec_start', t: iso(T0 + n * 10), exec: `bench-${n}`, msg_id: `m${n}`, cell, count: n, source }));
    kernel.push(line({ type: 'exec_end', t: iso(T0 + n * 10 + 5), exec: `bench-${n}`, status: 'ok' }));
    frontend.push(
      line({
        type: 'exec_output',
        t: iso(T0 + n * 10 + 5),
        msg_id: `m${n}`,
        cell,
        count: n,
        status: 'ok',
        started: iso(T0 + n * 10),
        ended: iso(T0 + n * 10 + 5),
        outputs: [{ output_type: 'stream', name: 'stdout', text: '0\n1\n2\n', truncated: false, sha256: 'a'.repeat(64), size: 6 }]
      })
    );
  }
  return {
    journal: [
      { name: 'k-bench.jsonl', text: kernel.join('\n') + '\n' },
      { name: 'f-p-0.jsonl', text: frontend.join('\n') + '\n' }
    ]
  };
}

class CountingSink {
  bytes = new Map();
  async write(path, data) {
    this.bytes.set(path, typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);
  }
}

async function timed(journal) {
  const sink = new CountingSink();
  const started = process.hrtime.bigint();
  const summary = await exportSession({ notebook: 'bench.ipynb', journal, nbprovVersion: 'bench', datePublished: iso(T0) }, sink);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, summary, sink };
}

/** Size of the series inlined in PROV-JSON without arrays: one entity per point. */
function inlinedSize(points) {
  let bytes = 0;
  for (let i = 0; i < points; i++) {
    const value = Math.exp(-i / 1e5) + Math.random() * 1e-3;
    bytes +=
      JSON.stringify({
        [`nbprov:point.${RUN}.0.${i}`]: {
          'prov:type': 'provml:MetricPoint',
          'prov:value': value,
          'nbprov:step': i,
          'nbprov:timestamp': T0 + i,
          'nbprov:epoch': Math.floor(i / 1e5)
        }
      }).length - 1;
  }
  return bytes;
}

const mb = bytes => `${(bytes / 1e6).toFixed(2)} MB`;
const kb = bytes => `${(bytes / 1e3).toFixed(1)} KB`;
const rows = [];

const POINTS = 1_000_000;
const metric = metricJournal(POINTS);
const journalBytes = Buffer.byteLength(metric.journal[0].text);
await timed(metric.journal); // warm-up (JIT, codec registration)
const m = await timed(metric.journal);
rows.push(['1 run, 1,000,000 points: export time', `${m.seconds.toFixed(3)} s`, '< 1 s']);
rows.push(['  prov.json size', kb(m.sink.bytes.get('prov.json')), '< 50 KB']);
rows.push(['  metrics.zarr size (blosc: zstd, bit shuffle)', mb(m.summary.zarrBytes), '']);
rows.push(['  raw arrays (28 bytes/point)', mb(POINTS * 28), '']);
rows.push(['  journal size (raw arrays in base64, the framing before issue #11)', mb(journalBytes), '']);
rows.push(['  same series inlined in PROV-JSON', mb(inlinedSize(POINTS)), '']);

const executions = executionJournal(10_000);
await timed(executions.journal);
const e = await timed(executions.journal);
rows.push(['10,000 executions: export time', `${e.seconds.toFixed(3)} s`, '< 2 s']);
rows.push(['  prov.json size', mb(e.sink.bytes.get('prov.json')), '']);

const width = Math.max(...rows.map(r => r[0].length));
console.log(`${'measure'.padEnd(width)}  ${'value'.padStart(10)}  target`);
for (const [name, value, target] of rows) {
  console.log(`${name.padEnd(width)}  ${value.padStart(10)}  ${target}`);
}
