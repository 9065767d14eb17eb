import { parseJournal } from '../journal';
import { buildProvDocument, escapeLocal, stableStringify } from '../prov';
import { buildSession } from '../session';
import { RUN, sampleJournal, series, T } from './fixtures';

const provOf = (extra: Record<string, unknown>[] = []): string => {
  const parsed = parseJournal(sampleJournal(extra));
  return stableStringify(
    buildProvDocument(buildSession(parsed.records, parsed.warnings), { notebook: 'n.ipynb', nbprovVersion: '0.1.0' })
  );
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
      'dcterms:identifier': `${RUN}/1`, // its context's table in metrics.zarr
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
    const params = Object.values(doc.entity).filter(e => (e as Record<string, unknown>)['prov:label'] === 'big');
    expect(params).toEqual([expect.objectContaining({ 'prov:value': { $: '18446744073709551616', type: 'xsd:integer' } })]);
    expect(doc.activity[`nbprov:run.${RUN}`]).toMatchObject({
      'nbprov:lost_points': 65546,
      'nbprov:lost_reason': 'ENOSPC: No space left on device'
    });
  });

  it('links a nested run to its parent and a run open across cells to every cell that logged into it', () => {
    const child = 'c'.repeat(32);
    const doc = JSON.parse(
      provOf([
        { type: 'exec_start', t: T(10), seq: 90, exec: 's1-9', msg_id: 'm9', cell: 'c9', count: 9, source: 'log()' },
        { type: 'exec_end', t: T(11), seq: 91, exec: 's1-9', status: 'ok' },
        { type: 'run_exec', t: T(11), seq: 92, run: RUN, exec: 's1-9' },
        { type: 'tag', t: T(11), seq: 93, run: RUN, key: 'team', value: 'vision' },
        {
          type: 'run_start',
          t: T(12),
          seq: 94,
          run: child,
          name: 'child',
          experiment: 'e',
          exec: null,
          code: null,
          energy: false,
          parent: RUN
        }
      ])
    );
    const informed = Object.values(doc.wasInformedBy) as Record<string, string>[];
    expect(informed).toContainEqual({ 'prov:informed': `nbprov:run.${RUN}`, 'prov:informant': 'nbprov:exec.s1-9' });
    expect(informed).toContainEqual({ 'prov:informed': `nbprov:run.${child}`, 'prov:informant': `nbprov:run.${RUN}` });
    expect(doc.activity[`nbprov:run.${child}`]['nbprov:parent_run']).toBe(`nbprov:run.${RUN}`);
    expect(doc.activity[`nbprov:run.${RUN}`]['nbprov:tags']).toBe('{"team":"vision"}');
  });

  it('escapes user strings in identifiers', () => {
    expect(escapeLocal('../a b/é')).toBe('_2E_2E_2Fa_20b_2F_C3_A9');
    expect(escapeLocal('')).toBe('_');
  });

  it('gives an unidentified execution its own source entity, derived from nothing', () => {
    const doc = JSON.parse(
      provOf([
        { type: 'exec_start', t: T(10), exec: 's1-4', msg_id: null, cell: null, count: 5, source: 'b = 1\n', cell_match: null }
      ])
    );
    expect(doc.activity['nbprov:exec.s1-4']).toMatchObject({ 'nbprov:cell_match': 'none' });
    expect(doc.activity['nbprov:exec.s1-4']['nbprov:cell']).toBeUndefined();
    expect(doc.entity['nbprov:source.s1-4']).toMatchObject({ 'prov:type': 'nbprov:CellSource', 'nbprov:source': 'b = 1\n' });
    expect(Object.values(doc.used)).toContainEqual({
      'prov:activity': 'nbprov:exec.s1-4',
      'prov:entity': 'nbprov:source.s1-4',
      'prov:time': T(10)
    });
    const derivations = Object.values(doc.wasDerivedFrom) as Record<string, string>[];
    expect(derivations.filter(d => JSON.stringify(d).includes('source.s1-4'))).toEqual([]);
  });

  it('refers only to blobs that were written', () => {
    const sha = 'b'.repeat(64);
    const extra = [
      {
        type: 'kernel_output',
        t: T(9),
        exec: 's1-3',
        index: 0,
        final: true,
        outputs: [{ output_type: 'display_data', mime: 'image/png', truncated: false, sha256: sha, size: 3, blob: sha }]
      }
    ];
    const parsed = parseJournal(sampleJournal(extra));
    const session = buildSession(parsed.records, parsed.warnings);
    const output = (blobs: string[]) =>
      buildProvDocument(session, { notebook: 'n.ipynb', nbprovVersion: '0.1.0', blobs }).entity!['nbprov:output.s1-3.0'];
    expect(output([])).toMatchObject({ 'nbprov:blob_missing': true, 'nbprov:recorded_by': 'kernel', 'nbprov:sha256': sha });
    expect(output([])['nbprov:blob']).toBeUndefined();
    expect(output([sha])).toMatchObject({ 'nbprov:blob': `blobs/${sha}` });
    expect(output([sha])['nbprov:blob_missing']).toBeUndefined();
  });
});
