import { describePlan, IProvListing, parseBefore, planForget } from '../forget';

const line = (record: Record<string, unknown>) => JSON.stringify(record);
const blob = 'b'.repeat(64);
const artifact = `${'a'.repeat(64)}.json`;

function listing(): IProvListing {
  return {
    journal: [
      {
        name: 'f-0011223344556677-0000.jsonl',
        text:
          [
            line({ type: 'page_start', t: '2026-11-01T10:00:00.000Z', page: 'p', notebook: 'n.ipynb', user: 'u' }),
            line({
              type: 'exec_output',
              t: '2026-11-01T10:00:01.000Z',
              cell: 'c',
              outputs: [{ output_type: 'stream', text: 'tok1', blob }]
            }),
            '{"type": "exec_output", "t": "2026-11-01T1',
            line({
              type: 'exec_output',
              t: '2026-12-02T10:00:01.000Z',
              cell: 'c',
              outputs: [{ output_type: 'stream', text: 'late' }]
            })
          ].join('\n') + '\n'
      },
      {
        name: 'k-old.jsonl',
        text: [
          line({ type: 'kernel_start', t: '2026-11-01T09:00:00.000Z', seq: 1 }),
          line({ type: 'artifact', t: '2026-11-01T09:00:01.000Z', seq: 2, stored: `artifacts/${artifact}` })
        ].join('\n')
      },
      {
        name: 'k-live.jsonl',
        text: [
          line({ type: 'kernel_start', t: '2026-11-30T09:00:00.000Z', seq: 1 }),
          line({
            type: 'kernel_output',
            t: '2026-12-02T09:00:00.000Z',
            seq: 2,
            exec: 'e',
            index: 0,
            outputs: [{ output_type: 'stream', text: 'x' }],
            final: true
          })
        ].join('\n')
      },
      { name: 'notes.txt', text: 'not a journal file' }
    ],
    blobs: [blob],
    artifacts: [artifact, 'user-file.txt'],
    exported: true
  };
}

describe('planForget', () => {
  it('forgets everything: every journal file, blob and stored artifact, never other names', () => {
    const plan = planForget(listing(), { outputsOnly: false, before: null });
    expect(plan.delete.sort()).toEqual(
      [
        'journal/f-0011223344556677-0000.jsonl',
        'journal/k-old.jsonl',
        'journal/k-live.jsonl',
        `blobs/${blob}`,
        `artifacts/${artifact}`
      ].sort()
    );
    expect(plan.rewrite).toEqual([]);
    expect(plan.records).toBe(8);
    expect(describePlan(plan, { outputsOnly: false, before: null })).toMatch(
      /3 journal files, 8 records, 1 blob, 1 stored artifact.*earlier export/
    );
  });

  it('outputs only: empties every output list, drops damaged lines, deletes blobs, keeps the rest', () => {
    const plan = planForget(listing(), { outputsOnly: true, before: null });
    expect(plan.delete).toEqual([`blobs/${blob}`]);
    expect(plan.outputs).toBe(3);
    expect(plan.damagedLines).toBe(1);
    const texts = Object.fromEntries(plan.texts);
    expect(Object.keys(texts).sort()).toEqual([...plan.rewrite].sort());
    expect(Object.keys(texts).sort()).toEqual(['journal/f-0011223344556677-0000.jsonl', 'journal/k-live.jsonl']);
    for (const text of Object.values(texts)) {
      expect(text).not.toMatch(/tok1|late|"text":"x"/);
      for (const l of text.trim().split('\n')) {
        const record = JSON.parse(l);
        if (record.outputs) {
          expect(record.outputs).toEqual([]);
        }
      }
    }
    expect(texts['journal/k-live.jsonl']).toMatch(/"seq":2/);
  });

  it('before a date: older page records go, a kernel session is removed or kept whole', () => {
    const before = parseBefore('2026-12-01');
    const plan = planForget(listing(), { outputsOnly: false, before });
    expect(plan.delete.sort()).toEqual(['journal/k-old.jsonl', `artifacts/${artifact}`, `blobs/${blob}`].sort());
    expect(plan.keptSessions).toEqual(['live']);
    expect(plan.rewrite).toHaveLength(1);
    expect(plan.texts.get(plan.rewrite[0])).toMatch(/late/);
    expect(plan.texts.get(plan.rewrite[0])).not.toMatch(/tok1|page_start/);
    expect(describePlan(plan, { outputsOnly: false, before })).toMatch(/1 kernel session kept whole/);
  });

  it('before a date, outputs only: only older outputs go', () => {
    const plan = planForget(listing(), { outputsOnly: true, before: parseBefore('2026-12-01T00:00') });
    const f = plan.texts.get(plan.rewrite.find(path => path.startsWith('journal/f-'))!)!;
    expect(f).toMatch(/late/);
    expect(f).not.toMatch(/tok1/);
    expect(plan.rewrite.includes('journal/k-live.jsonl')).toBe(false);
  });

  it('refuses dates that are not ISO', () => {
    for (const text of ['yesterday', '2026-13-01', '01/12/2026', '']) {
      expect(() => parseBefore(text)).toThrow(/--before takes a date/);
    }
  });
});
