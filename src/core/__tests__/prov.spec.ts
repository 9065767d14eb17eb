import { parseJournal } from '../journal';
import { buildProvDocument, escapeLocal, stableStringify } from '../prov';
import { buildSession } from '../session';
import { RUN, sampleJournal, series, T } from './fixtures';

const provOf = (extra: Record<string, unknown>[] = []): string => {
  const parsed = parseJournal(sampleJournal(extra));
  return stableStringify(buildProvDocument(buildSession(parsed.records, parsed.warnings), { notebook: 'n.ipynb', nbprovVersion: '0.1.0' }));
};

describe('buildProvDocument', () => {
  it('is byte-identical for the same history, whatever the file order', () => {
    const parsed = parseJournal([...sampleJournal()].reverse());
    const reversed = stableStringify(
      buildProvDocument(buildSession(parsed.records, parsed.warnings), { notebook: 'n.ipynb', nbprovVersion: '0.1.0' })
    );
    expect(reversed).toBe(provOf());
  });

  it('never inlines arrays and does not grow with the number of points', () => {
    const small = provOf();
    const many = Array.from({ length: 100_000 }, (_, i) => Math.sin(i));
    const big = provOf([{ type: 'metrics', t: T(9), run: RUN, batch: 3, series: [series('loss', 1, many, 4)] }]);
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) {
        throw new Error('array in PROV document');
      }
      if (value && typeof value === 'object') {
        Object.values(value).forEach(walk);
      }
    };
    walk(JSON.parse(big));
    expect(big.length - small.length).toBeLessThan(20);
  });

  it('links executions, source versions, runs and metrics', () => {
    const doc = JSON.parse(provOf());
    expect(doc.activity['nbprov:exec.s1-2']).toMatchObject({ 'nbprov:exec_index': 2, 'nbprov:kernel_session': 's1' });
    const informed = Object.values(doc.wasInformedBy) as Record<string, string>[];
    expect(informed).toContainEqual({ 'prov:informed': 'nbprov:exec.s1-2', 'prov:informant': 'nbprov:exec.s1-1' });
    expect(informed).toContainEqual({ 'prov:informed': `nbprov:run.${RUN}`, 'prov:informant': 'nbprov:exec.s1-2' });
    expect(Object.values(doc.used)).toContainEqual({
      'prov:activity': 'nbprov:exec.s1-3',
      'prov:entity': 'nbprov:cell.c1.v2',
      'prov:time': T(8)
    });
    expect(doc.entity[`nbprov:metric.${RUN}.0`]).toMatchObject({
      'prov:type': 'provml:Metric',
      'dcterms:identifier': `${RUN}/1/0`,
      'provml:context': 'training'
    });
    for (const prefix of ['prov', 'xsd', 'dcterms', 'provml', 'nbprov']) {
      expect(doc.prefix[prefix]).toEqual(expect.any(String));
    }
  });

  it('records exact parameter literals and the points a failing disk lost', () => {
    const doc = JSON.parse(
      provOf([
        { type: 'param', t: T(9), run: RUN, key: 'big', value: '18446744073709551616', value_type: 'int', role: 'input' },
        { type: 'gap', t: T(9), run: RUN, records: 1, points: 65536, reason: 'ENOSPC: No space left on device' },
        { type: 'gap', t: T(9), run: RUN, records: 1, points: 10, reason: 'ENOSPC: No space left on device' }
      ])
    );
    const params = Object.values(doc.entity).filter((e: any) => e['prov:label'] === 'big');
    expect(params).toEqual([expect.objectContaining({ 'prov:value': { $: '18446744073709551616', type: 'xsd:integer' } })]);
    expect(doc.activity[`nbprov:run.${RUN}`]).toMatchObject({
      'nbprov:lost_points': 65546,
      'nbprov:lost_reason': 'ENOSPC: No space left on device'
    });
  });

  it('escapes user strings in identifiers', () => {
    expect(escapeLocal('../a b/é')).toBe('_2E_2E_2Fa_20b_2F_C3_A9');
    expect(escapeLocal('')).toBe('_');
  });
});
