/**
 * The Zarr v3 sidecar `metrics.zarr`: metric series stay out of prov.json (which only names
 * their group) so the PROV document does not grow with the number of points.
 *
 * Layout (every path segment is generated, user names live in attributes):
 *   metrics.zarr/zarr.json                          root group
 *   metrics.zarr/<run id>/zarr.json                 group per run (32 hex)
 *   metrics.zarr/<run id>/<context key>/zarr.json   `run` for run-level metrics, else the ctx integer
 *   metrics.zarr/<run id>/<context key>/<metric index>/{values,steps,timestamps,epochs}
 * Each series' arrays share the dimension `steps`, so `xarray.open_zarr(<series group>)["values"]` is
 * a DataArray indexed by step, with `timestamps` and `epochs` as coordinates.
 */

import * as zarr from 'zarrita';
import type { AbsolutePath } from 'zarrita';

import type { IFileSink } from './sink';
import type { IMetricSeries, IRun } from './session';

export const METRICS_ROOT = 'metrics.zarr';
/** Points per chunk: one chunk for most series, bounded memory per encode for huge ones. */
export const CHUNK_ELEMENTS = 1 << 20;
/**
 * Blosc (a standard Zarr v3 codec) with bit shuffle and zstd: the bit planes a float32-origin
 * float64 leaves empty (`loss.item()`) cost nothing, values stay bit-exact float64. numcodecs.js
 * shuffles 4-byte elements whatever the dtype, so `typesize` says 4, as in each chunk's header
 * (readers take it from there). Level 6 is the cheapest at which a float32 loss is no larger than
 * yProv4ML's float32 Zarr (bench/bench_storage.py).
 */
const CODECS = [
  { name: 'bytes', configuration: { endian: 'little' } },
  { name: 'blosc', configuration: { cname: 'zstd', clevel: 6, shuffle: 'bitshuffle', typesize: 4, blocksize: 0 } }
];

/** The shuffle names of the Zarr v3 blosc codec, as numcodecs.js wants them (it ignores strings). */
const BLOSC_SHUFFLE: Record<string, number> = { noshuffle: 0, shuffle: 1, bitshuffle: 2 };
const numcodecsBlosc = zarr.registry.get('blosc');
zarr.registry.set('blosc', async () => {
  const Blosc = (await numcodecsBlosc!()) as unknown as {
    fromConfig(config: Record<string, unknown>, meta: unknown): unknown;
  };
  return {
    fromConfig: (config: Record<string, unknown>, meta: unknown) =>
      Blosc.fromConfig({ ...config, shuffle: BLOSC_SHUFFLE[String(config.shuffle)] ?? config.shuffle }, meta)
  } as never;
});

/** One chunk at a time: memory holds one chunk's copy and encoding, and writes never overlap. */
function sequentialQueue(): { add: (task: () => Promise<void>) => void; onIdle: () => Promise<void[]> } {
  let chain = Promise.resolve();
  return {
    add: task => {
      chain = chain.then(task);
    },
    onIdle: () => chain.then(() => [])
  };
}

/**
 * A zarrita store that streams every key into the export sink. Only metadata documents are
 * kept in memory (zarrita reads them back); chunks are written once and forgotten.
 */
class SinkStore {
  private readonly metadata = new Map<string, Uint8Array>();
  bytesWritten = 0;

  constructor(private readonly sink: IFileSink) {}

  async get(key: AbsolutePath): Promise<Uint8Array | undefined> {
    return this.metadata.get(key);
  }

  async set(key: AbsolutePath, value: Uint8Array): Promise<void> {
    if (key.endsWith('/zarr.json')) {
      this.metadata.set(key, value);
    }
    this.bytesWritten += value.byteLength;
    await this.sink.write(METRICS_ROOT + key, value);
  }
}

/** Units the recorder knows: the energy sampler logs power as `power_watts[<device>]`. */
function unitOf(metric: string): Record<string, string> {
  return /^power_watts\[.*\]$/.test(metric) ? { unit: 'W' } : {};
}

export function contextKey(ctx: number | null): string {
  return ctx === null ? 'run' : String(ctx);
}

/** Relative path of a metric's group inside `metrics.zarr` (the PROV `dcterms:identifier`). */
export function metricGroupPath(run: IRun, metricIndex: number): string {
  return `${run.id}/${contextKey(run.metrics[metricIndex].ctx)}/${metricIndex}`;
}

type ArrayKind = 'float64' | 'int64' | 'int32';

async function writeArray(
  group: zarr.Location<SinkStore>,
  name: string,
  dtype: ArrayKind,
  data: Float64Array | BigInt64Array | Int32Array,
  fillValue: number,
  attributes: Record<string, unknown>
): Promise<void> {
  const length = data.length;
  const array = await zarr.create(group.resolve(name), {
    shape: [length],
    chunkShape: [Math.max(1, Math.min(length, CHUNK_ELEMENTS))],
    dtype,
    codecs: CODECS,
    // int64 fill values are plain numbers in JSON (zarrita cannot serialise a bigint)
    fillValue: fillValue as never,
    // `steps` is the dimension: xarray makes the `steps` array its index coordinate.
    dimensionNames: ['steps'],
    attributes
  });
  if (length > 0) {
    await zarr.set(array, null, { data, shape: [length], stride: [1] } as never, { createQueue: sequentialQueue });
  }
}

export interface IZarrSummary {
  groups: string[];
  bytes: number;
}

/**
 * Writes all runs' metric series. `onMetric` is called after each metric group so the
 * caller can report progress on long series.
 */
export async function writeMetricsZarr(
  runs: IRun[],
  sink: IFileSink,
  onMetric: () => void = () => undefined
): Promise<IZarrSummary> {
  const store = new SinkStore(sink);
  const root = zarr.root(store);
  await zarr.create(root, { attributes: { nbprov_layout: 'run/context/metric', version: 1 } });
  const groups: string[] = [];
  for (const run of runs) {
    await zarr.create(root.resolve(run.id), {
      attributes: { run: run.id, name: run.name, experiment: run.experiment, status: run.status }
    });
    const contextsWritten = new Set<string>();
    for (let index = 0; index < run.metrics.length; index++) {
      const series: IMetricSeries = run.metrics[index];
      const key = contextKey(series.ctx);
      const context = run.contexts.find(c => c.ctx === series.ctx);
      if (!contextsWritten.has(key)) {
        await zarr.create(root.resolve(`${run.id}/${key}`), {
          attributes: {
            run: run.id,
            context: context?.name ?? null,
            ctx: series.ctx,
            epoch: context?.epoch ?? null
          }
        });
        contextsWritten.add(key);
      }
      const path = metricGroupPath(run, index);
      const group = root.resolve(path);
      await zarr.create(group, {
        attributes: {
          run: run.id,
          run_name: run.name,
          context: context?.name ?? null,
          ctx: series.ctx,
          metric: series.metric,
          points: series.values.length,
          ...unitOf(series.metric)
        }
      });
      // `coordinates` (CF, read by xarray) makes timestamps and epochs coordinates of the values.
      await writeArray(group, 'values', 'float64', series.values, NaN, {
        ...unitOf(series.metric),
        coordinates: 'timestamps epochs'
      });
      await writeArray(group, 'steps', 'int64', series.steps, 0, {});
      await writeArray(group, 'timestamps', 'int64', series.timestamps, 0, { unit: 'ms since the Unix epoch' });
      await writeArray(group, 'epochs', 'int32', series.epochs, -1, { none: -1 });
      groups.push(path);
      onMetric();
    }
  }
  return { groups, bytes: store.bytesWritten };
}
