import * as zarr from 'zarrita';
import type { AbsolutePath } from 'zarrita';

import { exportSession } from '../export';
import type { IFileSink } from '../sink';
import { RUN, sampleJournal, series, T } from './fixtures';

class MemorySink implements IFileSink {
  readonly files = new Map<string, Uint8Array>();
  async write(path: string, data: Uint8Array | string): Promise<void> {
    this.files.set(path, typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }
}

describe('metrics.zarr', () => {
  it('writes one table per run/context with complete v3 metadata and readable chunks', async () => {
    const sink = new MemorySink();
    const values = [1, NaN, Infinity, -Infinity];
    const summary = await exportSession(
      {
        notebook: '../evil<script>.ipynb',
        journal: sampleJournal([{ type: 'metrics', t: T(9), run: RUN, batch: 3, series: [series('acc', null, values)] }]),
        nbprovVersion: '0.1.0',
        datePublished: T(10)
      },
      sink
    );
    expect(summary.metricSeries).toBe(2);
    for (const path of sink.files.keys()) {
      expect(path).toMatch(/^(prov\.json|ro-crate-metadata\.json|metrics\.zarr\/[0-9a-z/._]+)$/);
    }
    const json = (path: string): Record<string, unknown> =>
      JSON.parse(new TextDecoder().decode(sink.files.get(`metrics.zarr/${RUN}/${path}`)!));
    expect(json('run/values/zarr.json')).toMatchObject({
      zarr_format: 3,
      node_type: 'array',
      data_type: 'float64',
      shape: [4],
      fill_value: 'NaN',
      dimension_names: ['point'],
      attributes: { coordinates: 'steps timestamps epochs metric' },
      codecs: [
        { name: 'bytes', configuration: { endian: 'little' } },
        { name: 'blosc', configuration: { cname: 'zstd', clevel: 6, shuffle: 'bitshuffle', typesize: 4, blocksize: 0 } }
      ]
    });
    // The chunk is what the metadata says: a blosc frame, bit-shuffled 4-byte elements, zstd inside.
    const frame = sink.files.get(`metrics.zarr/${RUN}/run/values/c/0`)!;
    expect(frame[2] & 0x04).toBe(0x04); // (four values do not compress: 0x02, stored as they are, is set too)
    expect(frame[2] >> 5).toBe(4);
    expect(frame[3]).toBe(4);
    expect(json('run/zarr.json').attributes).toMatchObject({
      run: RUN,
      ctx: null,
      metrics: [{ name: 'acc', start: 0, points: 4 }]
    });

    const store = { get: async (key: AbsolutePath) => sink.files.get('metrics.zarr' + key) };
    const read = async (path: string): Promise<unknown[]> =>
      Array.from((await zarr.get(await zarr.open(zarr.root(store).resolve(path), { kind: 'array' }))).data as never);
    expect(await read(`${RUN}/run/values`)).toEqual(values);
    expect(await read(`${RUN}/1/steps`)).toEqual([0n, 1n, 2n, 3n]);
    expect(await read(`${RUN}/1/metric`)).toEqual([0, 0, 0, 0]);
  });

  it('streams a context of several series across chunk boundaries, one write at a time', async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const files = new Map<string, Uint8Array>();
    const sink: IFileSink = {
      async write(path, data) {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        await new Promise(resolve => setTimeout(resolve, 0));
        files.set(path, typeof data === 'string' ? new TextEncoder().encode(data) : data);
        inFlight--;
      }
    };
    const big = Array.from({ length: 700_000 }, (_, i) => i / 3);
    const next = Array.from({ length: 500_000 }, (_, i) => -i);
    await exportSession(
      {
        notebook: 'n.ipynb',
        journal: sampleJournal([
          { type: 'metrics', t: T(9), run: RUN, batch: 3, series: [series('big', null, big), series('next', null, next, 5)] }
        ]),
        nbprovVersion: '0'
      },
      sink
    );
    expect(mostInFlight).toBe(1);
    expect([...files.keys()].filter(path => path.startsWith(`metrics.zarr/${RUN}/run/values/c/`)).sort()).toEqual([
      `metrics.zarr/${RUN}/run/values/c/0`,
      `metrics.zarr/${RUN}/run/values/c/1`
    ]);
    const store = { get: async (key: AbsolutePath) => files.get('metrics.zarr' + key) };
    const read = async (name: string): Promise<ArrayLike<unknown>> =>
      (await zarr.get(await zarr.open(zarr.root(store).resolve(`${RUN}/run/${name}`), { kind: 'array' }))).data as never;
    const group = JSON.parse(new TextDecoder().decode(files.get(`metrics.zarr/${RUN}/run/zarr.json`)!));
    expect(group.attributes.metrics.map((m: { name: string }) => m.name)).toEqual(['big', 'next']);
    const [bigEntry, nextEntry] = group.attributes.metrics;
    const values = (await read('values')) as Float64Array;
    const steps = (await read('steps')) as BigInt64Array;
    const metric = (await read('metric')) as Int32Array;
    expect(Array.from(values.subarray(bigEntry.start, bigEntry.start + bigEntry.points))).toEqual(big);
    expect(Array.from(values.subarray(nextEntry.start, nextEntry.start + nextEntry.points))).toEqual(next);
    expect(steps[nextEntry.start]).toBe(5n);
    expect(new Set(metric.subarray(nextEntry.start))).toEqual(new Set([1]));
  }, 120_000);

  it('reports progress up to its total', async () => {
    const calls: [number, number][] = [];
    await exportSession(
      { notebook: 'n.ipynb', journal: sampleJournal(), nbprovVersion: '0', onProgress: (d, t) => calls.push([d, t]) },
      new MemorySink()
    );
    expect(calls).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4]
    ]);
  });
});
