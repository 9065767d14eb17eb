import {
  commArrays,
  decodeBase64,
  isPageJournal,
  JOURNAL_FILE,
  journalRankOf,
  kernelJournalName,
  kernelSessionOf,
  powerDevice,
  powerMetric,
  RecordError,
  validateRecord
} from '../records';

const T = '2025-01-02T03:04:05.000+00:00';
const RUN = '0123456789abcdef0123456789abcdef';
const b64 = (view: ArrayBufferView): string => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
const output = { output_type: 'stream', name: 'stdout', text: 'hi', truncated: false, sha256: 'a'.repeat(64), size: 2 };
const metricSeries = {
  metric: 'loss',
  ctx: 1,
  n: 2,
  steps: b64(new BigInt64Array([0n, 1n])),
  values: b64(new Float64Array([0.5, 0.25])),
  timestamps: b64(new BigInt64Array([1n, 2n])),
  epochs: b64(new Int32Array([-1, -1]))
};

/** One good record of every type the journal holds, each with bad variants and why they fail. */
const CASES: [Record<string, unknown>, [Record<string, unknown>, RegExp][]][] = [
  [
    {
      type: 'kernel_start',
      t: T,
      seq: 1,
      session: 's1',
      kernel_id: null,
      pid: 1,
      hostname: 'h',
      python: '3',
      nbprov_version: '0',
      notebook: 'n.ipynb',
      notebook_id: 'f'.repeat(32),
      user: 'u'
    },
    [
      [{ session: 5 }, /kernel_start: field "session" must be a string/],
      [{ seq: 1.5 }, /"seq" must be an integer/]
    ]
  ],
  [
    {
      type: 'exec_start',
      t: T,
      exec: 's1-1',
      msg_id: 'm',
      cell: 'c',
      count: 1,
      source: 'x',
      cell_match: 'request',
      cell_candidates: [],
      cell_role: null
    },
    [
      [{ source: null }, /"source" must be a string/],
      [{ cell_match: 'guess' }, /"cell_match" must be one of/],
      [{ count: 'one' }, /"count" must be a number/]
    ]
  ],
  [{ type: 'exec_end', t: T, exec: 's1-1', status: 'ok' }, [[{ exec: undefined }, /"exec" must be a string/]]],
  [
    { type: 'kernel_output', t: T, exec: 's1-1', index: 0, outputs: [output], final: true },
    [
      [{ index: -1 }, /"index" must not be negative/],
      [{ outputs: {} }, /"outputs" must be a list/],
      [{ outputs: [{ output_type: 'x' }] }, /"sha256" must be a string/]
    ]
  ],
  [
    { type: 'run_start', t: T, run: RUN, name: 'n', experiment: 'e', exec: 's1-1', code: null, energy: false, parent: null },
    [
      [{ run: '../escape' }, /"run" must be 32 lowercase hex digits/],
      [{ parent: 'ABC' }, /"parent" must be 32 lowercase hex/],
      [{ t: '2025-01-02' }, /ISO 8601/],
      [{ code_sha256: 'abc' }, /"code_sha256" must be 64 lowercase hex digits/],
      [{ code: 'inline' }, /"code" must be an object/]
    ]
  ],
  [
    { type: 'code_state', t: T, sha256: 'a'.repeat(64), code: { git: null, python: '3.12', packages: { numpy: '2.1' } } },
    [
      [{ sha256: 'A'.repeat(64) }, /"sha256" must be 64 lowercase hex digits/],
      [{ sha256: undefined }, /"sha256" must be a string/],
      [{ code: null }, /"code" must be an object/],
      [{ code: [] }, /"code" must be an object/],
      [{ code: { git: 'main' } }, /"code.git" must be an object or null/],
      [{ code: { git: { diff: 5 } } }, /"code.git.diff" must be a string/],
      [{ code: { git: null, packages: { numpy: 2 } } }, /"code.packages" must map names to version strings/]
    ]
  ],
  [{ type: 'tag', t: T, run: RUN, key: 'k', value: 'v' }, [[{ value: 3 }, /"value" must be a string/]]],
  [{ type: 'run_exec', t: T, run: RUN, exec: 's1-2' }, [[{ exec: null }, /"exec" must be a string/]]],
  [
    { type: 'param', t: T, run: RUN, key: 'lr', value: 0.1, value_type: 'float', role: 'input' },
    [
      [{ role: 'both' }, /"role" must be one of input, output/],
      [{ value: [1] }, /"value" must be a JSON scalar/],
      [{ value_type: 'int', value: 'x' }, /param/]
    ]
  ],
  [
    { type: 'context_start', t: T, run: RUN, ctx: 1, name: 'training', epoch: null, parent: null },
    [
      [{ ctx: 'one' }, /"ctx" must be a number/],
      [{ epoch: 0.5 }, /"epoch" must be an integer/]
    ]
  ],
  [{ type: 'context_end', t: T, run: RUN, ctx: 1 }, [[{ ctx: null }, /"ctx" must be a number/]]],
  [
    { type: 'metrics', t: T, run: RUN, batch: 1, series: [metricSeries] },
    [
      [{ series: 'x' }, /"series" must be a list/],
      [{ series: [{ ...metricSeries, n: 3 }] }, /array "steps" has 16 bytes, expected 24/],
      [{ series: [{ ...metricSeries, values: '@@@@' }] }, /invalid base64/]
    ]
  ],
  [
    {
      type: 'artifact',
      t: T,
      run: RUN,
      path: 'a.txt',
      name: 'a.txt',
      sha256: 'b'.repeat(64),
      size: 3,
      role: 'output',
      stored: 'artifacts/x.txt',
      media_type: 'text/plain'
    },
    [
      [{ size: -0.5 }, /"size" must be an integer/],
      [{ role: 'side' }, /"role" must be one of/]
    ]
  ],
  [
    {
      type: 'energy',
      t: T,
      run: RUN,
      scope: 'context',
      ref: 1,
      ctx: 1,
      device: 'gpu0',
      joules: null,
      method: 'nvml',
      reason: 'not_supported',
      resolution_limited: false
    },
    [
      [{ scope: 'galaxy' }, /"scope" must be one of/],
      [{ joules: 'lots' }, /"joules" must be a number/]
    ]
  ],
  [
    { type: 'run_end', t: T, run: RUN, status: 'finished', ename: null, evalue: null },
    [[{ status: 'done' }, /"status" must be one of/]]
  ],
  [{ type: 'gap', t: T, run: RUN, records: 2, points: 10, reason: 'ENOSPC' }, [[{ points: null }, /"points" must be a number/]]],
  [{ type: 'journal_status', t: T, state: 'failing', reason: 'ENOSPC' }, [[{ state: 'meh' }, /"state" must be one of/]]],
  [
    { type: 'page_start', t: T, page: 'p', notebook: 'n.ipynb', notebook_id: null, user: 'u' },
    [[{ page: 1 }, /"page" must be a string/]]
  ],
  [{ type: 'recording', t: T, state: 'paused', reason: 'the toggle' }, [[{ reason: undefined }, /"reason" must be a string/]]],
  [
    { type: 'source', t: T, cell: 'c', cell_type: 'code', sha256: 'c'.repeat(64), source: 'x' },
    [[{ sha256: null }, /"sha256" must be a string/]]
  ],
  [
    { type: 'structure', t: T, op: 'move', cell: 'c', from: 0, to: 2 },
    [[{ op: 'swap' }, /"op" must be one of add, remove, move/]]
  ],
  [
    { type: 'notebook', t: T, cells: [['c', 'd'.repeat(64)]] },
    [[{ cells: [['c']] }, /"cells" must be a list of \[cell id, sha256\]/]]
  ],
  [
    { type: 'exec_output', t: T, msg_id: 'm', cell: 'c', count: 1, status: 'ok', started: T, ended: T, outputs: [output] },
    [
      [{ started: 'yesterday' }, /"started" must be an ISO 8601 date-time/],
      [{ outputs: null }, /"outputs" must be a list/]
    ]
  ]
];

describe('validateRecord', () => {
  it('covers every record type of the contract', () => {
    expect(CASES.map(([record]) => record.type).sort()).toEqual([
      'artifact',
      'code_state',
      'context_end',
      'context_start',
      'energy',
      'exec_end',
      'exec_output',
      'exec_start',
      'gap',
      'journal_status',
      'kernel_output',
      'kernel_start',
      'metrics',
      'notebook',
      'page_start',
      'param',
      'recording',
      'run_end',
      'run_exec',
      'run_start',
      'source',
      'structure',
      'tag'
    ]);
  });

  it.each(CASES.map(([record, bad]) => [record.type, record, bad] as const))(
    'accepts a good %s and refuses each bad one with its reason',
    (type, record, bad) => {
      const good = validateRecord(record);
      expect(good).not.toBeNull();
      expect(good!.type).toBe(type);
      for (const [change, reason] of bad) {
        const broken = { ...record, ...change };
        expect(() => validateRecord(broken)).toThrow(RecordError);
        expect(() => validateRecord(broken)).toThrow(reason);
        expect(() => validateRecord(broken)).toThrow(new RegExp(`^${type}: `));
      }
    }
  );

  it('refuses what is not a record, and passes an unknown type as null (newer writers)', () => {
    expect(() => validateRecord([1])).toThrow('not a JSON object');
    expect(() => validateRecord({ t: T })).toThrow('missing "type"');
    expect(validateRecord({ type: 'from_the_future', t: T })).toBeNull();
  });

  it('decodes comm records with arrays from the buffers they name, checked as journal arrays are', () => {
    const buffers = [
      new BigInt64Array([0n, 1n]),
      new Float64Array([0.5, 0.25]),
      new BigInt64Array([1n, 2n]),
      new Int32Array([-1, 3])
    ];
    const comm = {
      type: 'metrics',
      t: T,
      seq: 3,
      run: RUN,
      batch: 1,
      series: [{ ...metricSeries, steps: 0, values: 1, timestamps: 2, epochs: 3 }]
    };
    const record = validateRecord(comm, commArrays(buffers));
    expect(record?.type === 'metrics' && Array.from(record.series[0].epochs)).toEqual([-1, 3]);
    expect(() => validateRecord({ ...comm, series: [{ ...comm.series[0], values: 9 }] }, commArrays(buffers))).toThrow(
      'metrics: array "values": names no buffer of the message'
    );
    expect(() => validateRecord({ ...comm, series: [{ ...comm.series[0], n: 1 }] }, commArrays(buffers))).toThrow(
      'array "steps" has 16 bytes, expected 8'
    );
    // A journal line is never read as buffer indices, nor a comm record as base64.
    expect(() => validateRecord(comm)).toThrow('array "steps": expected base64 text');
  });
});

describe('naming rules', () => {
  it('names kernel journals, page segments and power metrics one way', () => {
    expect(kernelJournalName('ab-12')).toBe('k-ab-12.jsonl');
    expect(kernelSessionOf('k-ab-12.jsonl')).toBe('ab-12');
    expect(kernelSessionOf('k-../x.jsonl')).toBeNull();
    expect(kernelSessionOf('f-p-0001.jsonl')).toBeNull();
    expect(isPageJournal('f-p-0001.jsonl')).toBe(true);
    expect(JOURNAL_FILE.test('k-a b.jsonl')).toBe(false);
    expect(powerDevice(powerMetric('gpu0 [A100]'))).toBe('gpu0 [A100]');
    expect(powerDevice('loss')).toBeNull();
  });

  it("names a rank process's journal after its own session and rank, never as a kernel's session", () => {
    expect(kernelJournalName('ab12', 3)).toBe('k-ab12-r3.jsonl');
    expect(kernelSessionOf('k-ab12-r3.jsonl')).toBe('ab12');
    expect(journalRankOf('k-ab12-r3.jsonl')).toBe(3);
    expect(journalRankOf('k-ab-12.jsonl')).toBeNull();
    expect(journalRankOf('k-ab12-r.jsonl')).toBeNull();
    expect(kernelSessionOf('k-ab12-r.jsonl')).toBe('ab12-r');
    expect(journalRankOf('f-p-0001.jsonl')).toBeNull();
  });
});

describe('decodeBase64', () => {
  it('matches Node for every padding length', () => {
    for (let n = 0; n < 20; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
      const text = Buffer.from(bytes).toString('base64');
      expect(Array.from(decodeBase64(text))).toEqual(Array.from(bytes));
      expect(Array.from(decodeBase64(text.replace(/=+$/, '')))).toEqual(Array.from(bytes));
    }
  });
});
