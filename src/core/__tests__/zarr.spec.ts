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
  it('writes one group per run/context/metric with complete v3 metadata and readable chunks', async () => {
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
    const meta = JSON.parse(new TextDecoder().decode(sink.files.get(`metrics.zarr/${RUN}/run/1/values/zarr.json`)!));
    expect(meta).toMatchObject({
      zarr_format: 3,
      node_type: 'array',
      data_type: 'float64',
      shape: [4],
      fill_value: 'NaN',
      dimension_names: ['steps'],
      codecs: [
        { name: 'bytes', configuration: { endian: 'little' } },
        { name: 'blosc', configuration: { cname: 'zstd', clevel: 6, shuffle: 'bitshuffle', typesize: 4, blocksize: 0 } }
      ]
    });
    // The chunk is what the metadata says: a blosc frame, bit-shuffled 4-byte elements, zstd inside.
    const frame = sink.files.get(`metrics.zarr/${RUN}/run/1/values/c/0`)!;
    expect(frame[2] & 0x04).toBe(0x04); // (four values do not compress: 0x02, stored as they are, is set too)
    expect(frame[2] >> 5).toBe(4);
    expect(frame[3]).toBe(4);
    const group = JSON.parse(new TextDecoder().decode(sink.files.get(`metrics.zarr/${RUN}/run/1/zarr.json`)!));
    expect(group.attributes).toMatchObject({ metric: 'acc', run: RUN, ctx: null });

    const store = {
      get: async (key: AbsolutePath) => sink.files.get('metrics.zarr' + key)
    };
    const array = await zarr.open(zarr.root(store).resolve(`${RUN}/run/1/values`), { kind: 'array' });
    const chunk = await zarr.get(array);
    expect(Array.from(chunk.data as Float64Array)).toEqual(values);
    const steps = await zarr.get(await zarr.open(zarr.root(store).resolve(`${RUN}/1/0/steps`), { kind: 'array' }));
    expect(Array.from(steps.data as BigInt64Array)).toEqual([0n, 1n, 2n, 3n]);
  });

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
