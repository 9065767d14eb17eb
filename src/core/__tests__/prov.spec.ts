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

  it('escapes user strings in identifiers', () => {
    expect(escapeLocal('../a b/é')).toBe('_2E_2E_2Fa_20b_2F_C3_A9');
    expect(escapeLocal('')).toBe('_');
  });
});
