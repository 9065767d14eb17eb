import { JournalLineReader, parseJournal, parseJournalFile } from '../reader';

const le = (array: ArrayBufferView): string => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');

const T = '2025-01-02T03:04:05.000+00:00';

describe('parseJournalFile', () => {
  it('recovers every good line around corrupt and truncated ones', () => {
    const text = [
      JSON.stringify({ type: 'exec_start', t: T, exec: 's-1', msg_id: null, cell: 'c', count: 1, source: 'a' }),
      '{"type": "exec_end", "t": ',
      JSON.stringify({ type: 'exec_end', t: T, exec: 's-1', status: 'ok' }),
      JSON.stringify({ type: 'exec_end', t: '2025-01-02', exec: 's-1', status: 'ok' }),
      JSON.stringify({ type: 'future_record', t: T }),
      '{"type": "exec_start", "t": "2025'
    ].join('\n');
    const parsed = parseJournalFile({ name: 'k-s.jsonl', text });
    expect(parsed.records.map(r => [r.record.type, r.line])).toEqual([
      ['exec_start', 1],
      ['exec_end', 3]
    ]);
    expect(parsed.warnings).toEqual([
      { file: 'k-s.jsonl', line: 2, reason: expect.stringContaining('invalid JSON') },
      { file: 'k-s.jsonl', line: 4, reason: expect.stringContaining('ISO 8601') },
      { file: 'k-s.jsonl', line: 6, reason: 'truncated last line' }
    ]);
  });

  it('validates recording switches', () => {
    const text = [
      JSON.stringify({ type: 'recording', t: T, state: 'paused', reason: 'the toggle' }),
      JSON.stringify({ type: 'recording', t: T, state: 'sometimes', reason: 'x' }),
      JSON.stringify({ type: 'recording', t: T, state: 'recorded' })
    ].join('\n');
    const parsed = parseJournalFile({ name: 'f-p-0000.jsonl', text });
    expect(parsed.records.map(r => r.record)).toEqual([{ type: 'recording', t: T, state: 'paused', reason: 'the toggle' }]);
    expect(parsed.warnings.map(w => w.line)).toEqual([2, 3]);
  });

  it('decodes little-endian metric arrays, NaN and infinities included', () => {
    const values = new Float64Array([1.5, NaN, Infinity, -Infinity, -0]);
    const record = {
      type: 'metrics',
      t: T,
      run: '0'.repeat(32),
      batch: 1,
      series: [
        {
          metric: 'loss',
          ctx: null,
          n: 5,
          steps: le(new BigInt64Array([0n, 1n, 2n, 2n ** 40n, -1n])),
          values: le(values),
          timestamps: le(new BigInt64Array([1n, 2n, 3n, 4n, 5n])),
          epochs: le(new Int32Array([-1, 0, 1, 2, 3]))
        }
      ]
    };
    const parsed = parseJournalFile({ name: 'k-s.jsonl', text: JSON.stringify(record) + '\n' });
    expect(parsed.warnings).toEqual([]);
    const r = parsed.records[0].record;
    if (r.type !== 'metrics') {
      throw new Error('expected metrics');
    }
    const s = r.series[0];
    expect(Array.from(s.values)).toEqual([1.5, NaN, Infinity, -Infinity, -0]);
    expect(Object.is(s.values[4], -0)).toBe(true);
    expect(Array.from(s.steps)).toEqual([0n, 1n, 2n, 2n ** 40n, -1n]);
    expect(Array.from(s.epochs)).toEqual([-1, 0, 1, 2, 3]);
  });

  it('rejects a metrics record whose arrays do not match n, alone', () => {
    const record = {
      type: 'metrics',
      t: T,
      run: '0'.repeat(32),
      batch: 1,
      series: [{ metric: 'm', ctx: null, n: 2, steps: le(new BigInt64Array([1n])), values: '', timestamps: '', epochs: '' }]
    };
    const parsed = parseJournalFile({ name: 'k.jsonl', text: JSON.stringify(record) + '\n' });
    expect(parsed.records).toEqual([]);
    expect(parsed.warnings[0].reason).toMatch(/array "steps" has 8 bytes, expected 16/);
  });

  it('parses files in name order', () => {
    const line = (exec: string) => JSON.stringify({ type: 'exec_end', t: T, exec, status: 'ok' }) + '\n';
    const parsed = parseJournal([
      { name: 'k-b.jsonl', text: line('b-1') },
      { name: 'k-a.jsonl', text: line('a-1') }
    ]);
    expect(parsed.records.map(r => r.file)).toEqual(['k-a.jsonl', 'k-b.jsonl']);
  });
});

describe('JournalLineReader', () => {
  const lines = [
    JSON.stringify({ type: 'exec_start', t: T, exec: 's-1', msg_id: null, cell: 'c', count: 1, source: 'naïve → ✓ 🎉' }),
    '{"type": "exec_end", ',
    JSON.stringify({ type: 'exec_end', t: T, exec: 's-1', status: 'ok' }),
    '{"type": "exec_start", "t": "2025'
  ];
  const text = lines.join('\n');
  const bytes = Buffer.from(text);

  function read(chunks: (Uint8Array | string)[]): { records: [string, number][]; warnings: [number, string][] } {
    const records: [string, number][] = [];
    const warnings: [number, string][] = [];
    const reader = new JournalLineReader(
      'k-s.jsonl',
      located => records.push([located.record.type, located.line]),
      warning => warnings.push([warning.line, warning.reason])
    );
    chunks.forEach(chunk => reader.push(chunk));
    reader.end();
    return { records, warnings };
  }

  const whole = read([bytes]);

  it('reads lines, a corrupt one and a truncated last one as the whole-text parse does', () => {
    expect(whole.records).toEqual([
      ['exec_start', 1],
      ['exec_end', 3]
    ]);
    expect(whole.warnings).toEqual([
      [2, expect.stringContaining('invalid JSON')],
      [4, 'truncated last line']
    ]);
    expect(read([text])).toEqual(whole);
  });

  it('gives the same result however the bytes are cut into chunks, mid-line and mid-character', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(read([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(whole);
    }
    expect(read(Array.from(bytes, byte => Uint8Array.of(byte)))).toEqual(whole);
    for (let cut = 0; cut <= text.length; cut += 7) {
      expect(read([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    }
  });

  it('parses a last line that only lacks its newline, and skips blank lines without a warning', () => {
    const last = JSON.stringify({ type: 'exec_end', t: T, exec: 's-1', status: 'ok' });
    expect(read([`\n\n${last}`])).toEqual({ records: [['exec_end', 3]], warnings: [] });
  });
});
