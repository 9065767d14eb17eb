import { decodeKernelMessage } from '../comm';
import { IMetrics } from '../core/records';
import { RunStore } from '../store';

const R1 = '0123456789abcdef0123456789abcdef';

const T = '2026-11-25T10:00:00.000+00:00';

function le(array: BigInt64Array | Float64Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer.slice(0));
}

/** A metrics record over the comm and its four buffers, numbered from `first`. */
function metrics(seq: number, values: number[], first: number): { record: Record<string, unknown>; buffers: Uint8Array[] } {
  const n = values.length;
  return {
    record: {
      type: 'metrics',
      t: T,
      seq,
      run: R1,
      batch: seq,
      series: [{ metric: 'loss', ctx: null, n, steps: first, values: first + 1, timestamps: first + 2, epochs: first + 3 }]
    },
    buffers: [
      le(BigInt64Array.from(values.map((_, i) => BigInt(i)))),
      le(Float64Array.from(values)),
      le(BigInt64Array.from(values.map(() => 1_700_000_000_000n))),
      le(Int32Array.from(values.map(() => -1)))
    ]
  };
}

describe('decodeKernelMessage', () => {
  it('decodes a hello', () => {
    expect(
      decodeKernelMessage(
        { session: 'ab12', hello: { session: 'ab12', journal: 'x.prov/journal/k-ab12.jsonl', notebook: 'x.ipynb' } },
        []
      )
    ).toEqual({
      kind: 'hello',
      hello: { session: 'ab12', journal: 'x.prov/journal/k-ab12.jsonl', notebook: 'x.ipynb' }
    });
  });

  it("names the kernel that forwarded a rank process's records (via), and only a session id", () => {
    const forwarded = decodeKernelMessage({ session: 'rank1', via: 'ab12', records: [] }, []);
    expect(forwarded?.kind === 'records' && [forwarded.session, forwarded.via]).toEqual(['rank1', 'ab12']);
    const own = decodeKernelMessage({ session: 'ab12', records: [] }, []);
    expect(own?.kind === 'records' && own.via).toBeNull();
    const hostile = decodeKernelMessage({ session: 'rank1', via: '<img src=x>', records: [] }, []);
    expect(hostile?.kind === 'records' && hostile.via).toBeNull();
  });

  it('decodes the records of a message in order, metric arrays from the buffers named', () => {
    const a = metrics(3, [0.5, 0.25], 0);
    const b = metrics(5, [9], 4);
    const message = {
      session: 'ab12',
      records: [
        { type: 'run_start', t: T, seq: 2, run: R1, name: 'n' },
        a.record,
        { type: 'param', t: T, seq: 4, run: R1, key: 'k', value: 1, role: 'input' },
        b.record
      ]
    };
    // Views at odd offsets, as a websocket frame hands them over.
    const frame = new Uint8Array(1 + [...a.buffers, ...b.buffers].reduce((size, buffer) => size + buffer.length, 0));
    let offset = 1;
    const views = [...a.buffers, ...b.buffers].map(buffer => {
      frame.set(buffer, offset);
      offset += buffer.length;
      return new DataView(frame.buffer, offset - buffer.length, buffer.length);
    });
    const decoded = decodeKernelMessage(message, views);
    if (decoded?.kind !== 'records') {
      throw new Error('not records');
    }
    expect(decoded.rejected).toEqual([]);
    expect(decoded.missing).toBe(0);
    expect(decoded.records.map(r => r.seq)).toEqual([2, 3, 4, 5]);
    const [first] = (decoded.records[1] as IMetrics).series;
    expect(Array.from(first.values)).toEqual([0.5, 0.25]);
    expect(Array.from(first.steps)).toEqual([0n, 1n]);
    const [second] = (decoded.records[3] as IMetrics).series;
    expect(Array.from(second.values)).toEqual([9]);
    expect(Array.from(second.epochs)).toEqual([-1]);
  });

  it('rejects each malformed record alone and counts what the journal must fill', () => {
    const good = metrics(4, [1, 2], 0);
    const short = metrics(5, [1, 2], 4);
    short.buffers[1] = short.buffers[1].slice(0, 8); // one value for two points
    const message = {
      session: 'ab12',
      omitted: 2,
      records: [
        { type: 'param', t: T, seq: 1, run: R1, key: 'k', value: 1, role: 'input' },
        { type: 'param', t: T, run: R1 }, // no seq
        'garbage',
        { ...good.record, series: [{ ...(good.record.series as object[])[0], values: 99 }] }, // no such buffer
        good.record,
        short.record,
        { type: 'metrics', t: T, seq: 6, series: 'nope' }
      ]
    };
    const decoded = decodeKernelMessage(message, [...good.buffers, ...short.buffers]);
    if (decoded?.kind !== 'records') {
      throw new Error('not records');
    }
    expect(decoded.records.map(r => r.seq)).toEqual([1, 4]);
    expect(decoded.rejected).toHaveLength(5);
    expect(decoded.rejected.join('\n')).toMatch(/"values" has 8 bytes, expected 16/);
    expect(decoded.missing).toBe(5 + 2);
  });

  it('ignores what is not an nbprov kernel message', () => {
    for (const data of [
      null,
      'x',
      [],
      {},
      { session: 1, records: [] },
      { session: '../x', records: [] },
      { session: 'ab', record: {} },
      { session: 'ab', hello: { journal: 1 } }
    ]) {
      expect(decodeKernelMessage(data, [])).toBeNull();
    }
  });

  it('feeds the store: a batch applies in one change, and a reported omission is a gap to fill', () => {
    const store = new RunStore();
    const changes: number[] = [];
    store.changed.connect((_, batch) => changes.push(batch.length));
    const decoded = decodeKernelMessage(
      {
        session: 'ab12',
        records: [
          { type: 'run_start', t: T, seq: 1, run: R1, name: 'n', experiment: 'e', exec: null },
          { type: 'param', t: T, seq: 2, run: R1, key: 'lr', value: 0.1, role: 'input' },
          { type: 'run_end', t: T, seq: 4, run: R1, status: 'finished' }
        ]
      },
      []
    );
    if (decoded?.kind !== 'records') {
      throw new Error('not records');
    }
    expect(store.apply(decoded.session, decoded.records)).toBe(true); // seq 3 missing: read the journal
    expect(store.lastSeq('ab12')).toBe(2);
    expect(changes).toHaveLength(1);
    expect(store.runs.get(R1)?.params.get('lr')?.value).toBe(0.1);
  });
});
