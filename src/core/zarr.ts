/**
 * The Zarr v3 sidecar `metrics.zarr`: metric series stay out of prov.json (which only names
 * their group) so the PROV document does not grow with the number of points.
 *
 * Layout (every path segment is generated, user names live in attributes):
 *   metrics.zarr/zarr.json                          root group
 *   metrics.zarr/<run id>/zarr.json                 group per run (32 hex)
 *   metrics.zarr/<run id>/<context key>/zarr.json   `run` for run-level metrics (`run-<session>` for a
 *                                                   rank process's, see core/ranks.ts), else the ctx
 *                                                   integer (a rank's contexts have numbers of their own);
 *                                                   attribute `metrics`: [{name, start, points, unit?}]
 *   metrics.zarr/<run id>/<context key>/{values,steps,timestamps,epochs,metric}
 * One table per context: the context's series one after another along the dimension `point`
 * (series i is `start` .. `start + points - 1`, and `metric` holds i for each of its points), so a
 * run with 10,000 metric names is a handful of files, not 90,000. `xarray.open_zarr(<context group>)`
 * is a Dataset whose `values` carry `steps`, `timestamps`, `epochs` and `metric` as coordinates.
 */

import * as zarr from 'zarrita';
import type { AbsolutePath } from 'zarrita';

import { powerDevice } from './records';
import type { IFileSink } from './sink';
import type { IRun, ISeriesHead } from './session';
import type { SeriesColumn, SeriesColumnName, SpilledSeries } from './spill';

export const METRICS_ROOT = 'metrics.zarr';
/** Points per chunk: one chunk for most series, bounded memory per encode for huge ones. */
export const CHUNK_ELEMENTS = 1 << 20;
/**
 * Blosc (a standard Zarr v3 codec) with bit shuffle and zstd: the bit planes a float32-origin
 * float64 leaves empty (`loss.item()`) cost nothing, values stay bit-exact float64. numcodecs.js
 * shuffles 4-byte elements whatever the dtype, so `typesize` says 4, as in each chunk's header
 * (readers take it from there). zstd's level is most of the encoding time, not the shuffle: values
 * take level 6, the cheapest at which a float32 loss is no larger than yProv4ML's float32 Zarr
 * (bench/bench_storage.py); the integer columns (steps, timestamps, epochs, metric) take level 3,
 * which costs a third of level 6's time and keeps that loss at 3.90 bytes a point (yProv4ML: 4.13).
 */
function bloscCodecs(clevel: number): { name: string; configuration: Record<string, unknown> }[] {
  return [
    { name: 'bytes', configuration: { endian: 'little' } },
    { name: 'blosc', configuration: { cname: 'zstd', clevel, shuffle: 'bitshuffle', typesize: 4, blocksize: 0 } }
  ];
}
const VALUE_CODECS = bloscCodecs(6);
const INTEGER_CODECS = bloscCodecs(3);

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
  return powerDevice(metric) !== null ? { unit: 'W' } : {};
}

/** A series' table: its context's, or its process's run-level one (sessions are generated ids). */
export function contextKey(series: { ctx: number | null; process?: string }): string {
  return series.ctx !== null ? String(series.ctx) : series.process === undefined ? 'run' : `run-${series.process}`;
}

/**
 * Relative path inside `metrics.zarr` of the group holding a metric's series (the PROV
 * `dcterms:identifier`): its context's table, where the series is the entry of the group's
 * `metrics` attribute that bears its name (names are unique within a context).
 */
export function metricGroupPath(run: IRun<ISeriesHead>, metricIndex: number): string {
  return `${run.id}/${contextKey(run.metrics[metricIndex])}`;
}

type ArrayKind = 'float64' | 'int64' | 'int32';
type Column = SeriesColumn;

interface IColumn {
  name: string;
  dtype: ArrayKind;
  fillValue: number;
  attributes: Record<string, unknown>;
  /** The column's data for one series, piece by piece (`index`: the series' position in the table). */
  of: (series: SpilledSeries, index: number) => AsyncIterable<Column>;
  make: (length: number) => Column;
}

/** A column read from the spilled series as it is. */
const stored =
  (name: SeriesColumnName) =>
  (series: SpilledSeries): AsyncIterable<Column> =>
    series.pieces(name);

/** The `metric` column of one series: its index for each point, a chunk's worth at a time. */
async function* seriesIndex(series: SpilledSeries, index: number): AsyncIterable<Column> {
  for (let left = series.points; left > 0; left -= CHUNK_ELEMENTS) {
    yield new Int32Array(Math.min(left, CHUNK_ELEMENTS)).fill(index);
  }
}

const COLUMNS: IColumn[] = [
  {
    name: 'values',
    dtype: 'float64',
    fillValue: NaN,
    // `coordinates` (CF, read by xarray) makes the other columns coordinates of the values.
    attributes: { coordinates: 'steps timestamps epochs metric' },
    of: stored('values'),
    make: length => new Float64Array(length)
  },
  { name: 'steps', dtype: 'int64', fillValue: 0, attributes: {}, of: stored('steps'), make: n => new BigInt64Array(n) },
  {
    name: 'timestamps',
    dtype: 'int64',
    fillValue: 0,
    attributes: { unit: 'ms since the Unix epoch' },
    of: stored('timestamps'),
    make: n => new BigInt64Array(n)
  },
  {
    name: 'epochs',
    dtype: 'int32',
    fillValue: -1,
    attributes: { none: -1 },
    of: stored('epochs'),
    make: n => new Int32Array(n)
  },
  {
    name: 'metric',
    dtype: 'int32',
    fillValue: -1,
    attributes: { description: "the series' position in the group's metrics attribute" },
    of: seriesIndex,
    make: n => new Int32Array(n)
  }
];

/**
 * Writes one column of a context's table, one chunk at a time: each chunk is filled from the
 * series it spans, encoded and written before the next is built.
 */
async function writeColumn(
  group: zarr.Location<SinkStore>,
  column: IColumn,
  table: SpilledSeries[],
  total: number
): Promise<void> {
  const chunk = Math.max(1, Math.min(total, CHUNK_ELEMENTS));
  const array = await zarr.create(group.resolve(column.name), {
    shape: [total],
    chunkShape: [chunk],
    dtype: column.dtype,
    codecs: column.dtype === 'float64' ? VALUE_CODECS : INTEGER_CODECS,
    // int64 fill values are plain numbers in JSON (zarrita cannot serialise a bigint)
    fillValue: column.fillValue as never,
    dimensionNames: ['point'],
    attributes: column.attributes
  });
  let buffer = column.make(chunk);
  let filled = 0;
  let written = 0;
  const flush = async (): Promise<void> => {
    const data = filled === buffer.length ? buffer : buffer.subarray(0, filled);
    const selection = [zarr.slice(written, written + filled)];
    await zarr.set(array, selection, { data, shape: [filled], stride: [1] } as never, { createQueue: sequentialQueue });
    written += filled;
    filled = 0;
    buffer = column.make(chunk);
  };
  for (let index = 0; index < table.length; index++) {
    for await (const data of column.of(table[index], index)) {
      for (let from = 0; from < data.length;) {
        const count = Math.min(data.length - from, chunk - filled);
        (buffer as Float64Array).set((data as Float64Array).subarray(from, from + count), filled);
        filled += count;
        from += count;
        if (filled === chunk) {
          await flush();
        }
      }
    }
  }
  if (filled > 0) {
    await flush();
  }
}

export interface IZarrSummary {
  groups: string[];
  bytes: number;
}

/**
 * Writes all runs' metric series, read back from where the export spilled them (core/spill.ts).
 * `onMetric` is called after each metric group so the caller can report progress on long series.
 */
export async function writeMetricsZarr(
  runs: IRun<SpilledSeries>[],
  sink: IFileSink,
  onMetric: () => void = () => undefined
): Promise<IZarrSummary> {
  const store = new SinkStore(sink);
  const root = zarr.root(store);
  await zarr.create(root, { attributes: { nbprov_layout: 'run/context table', version: 2 } });
  const groups: string[] = [];
  for (const run of runs) {
    await zarr.create(root.resolve(run.id), {
      attributes: { run: run.id, name: run.name, experiment: run.experiment, status: run.status }
    });
    const tables = new Map<string, number[]>();
    run.metrics.forEach((series, index) => {
      const key = contextKey(series);
      const table = tables.get(key);
      if (table) {
        table.push(index);
      } else {
        tables.set(key, [index]);
      }
    });
    for (const [key, indices] of tables) {
      const table = indices.map(index => run.metrics[index]);
      const ctx = table[0].ctx;
      const context = run.contexts.find(c => c.ctx === ctx);
      let start = 0;
      const metrics = table.map(series => {
        const entry = { name: series.metric, start, points: series.points, ...unitOf(series.metric) };
        start += series.points;
        return entry;
      });
      const path = `${run.id}/${key}`;
      const group = root.resolve(path);
      await zarr.create(group, {
        attributes: {
          run: run.id,
          run_name: run.name,
          context: context?.name ?? null,
          ctx,
          epoch: context?.epoch ?? null,
          ...(table[0].rank === undefined ? {} : { rank: table[0].rank, rank_session: table[0].process }),
          metrics
        }
      });
      for (const column of COLUMNS) {
        await writeColumn(group, column, table, start);
      }
      groups.push(path);
      table.forEach(() => onMetric());
    }
  }
  return { groups, bytes: store.bytesWritten };
}
