import { parseJournal } from '../reader';
import { buildProvDocument, escapeLocal, stableStringify } from '../prov';
import { buildSession } from '../session';
import { lines, RUN, sampleJournal, series, T } from './fixtures';

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
      'prov:type': { $: 'provml:Metric', type: 'prov:QUALIFIED_NAME' },
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
    expect(doc.entity['nbprov:source.s1-4']).toMatchObject({
      'prov:type': { $: 'nbprov:CellSource', type: 'prov:QUALIFIED_NAME' },
      'nbprov:source': 'b = 1\n'
    });
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

describe('PROV conventions consumers rely on', () => {
  const qualifiedName = { $: expect.stringMatching(/^(prov|provml|nbprov):[A-Za-z]+$/), type: 'prov:QUALIFIED_NAME' };
  const pages = ['0f3a9c', '77e1b2', 'c4d5e6'].map((page, i) => [
    { type: 'page_start', t: T(20 + i), page, notebook: 'n.ipynb', user: `anonymous-${page}` },
    {
      type: 'notebook',
      t: T(20 + i),
      cells: [
        ['c0', 'y'],
        ['c1', 'x']
      ]
    }
  ]);
  const documentOf = (kernelExtra: Record<string, unknown>[] = [], pageFiles = pages) => {
    const journal = sampleJournal(kernelExtra).map(file =>
      file.name === 'k-s1.jsonl' ? { ...file, text: file.text.replace('"user":"alice"', '"user":"root"') } : file
    );
    pageFiles.forEach((records, i) => journal.push({ name: `f-page${i}-0.jsonl`, text: lines(records) }));
    const parsed = parseJournal(journal);
    return JSON.parse(
      stableStringify(
        buildProvDocument(buildSession(parsed.records, parsed.warnings), { notebook: 'n.ipynb', nbprovVersion: '0.1.0' })
      )
    );
  };

  it('types every node with a qualified name and labels it with a string; there are no bundles', () => {
    const doc = documentOf();
    expect(doc.bundle).toBeUndefined();
    let nodes = 0;
    for (const section of ['entity', 'activity', 'agent']) {
      for (const [id, attributes] of Object.entries(doc[section] as Record<string, Record<string, unknown>>)) {
        nodes++;
        expect({ id, type: attributes['prov:type'] }).toEqual({ id, type: qualifiedName });
        expect({ id, label: typeof attributes['prov:label'] }).toEqual({ id, label: 'string' });
        expect((attributes['prov:label'] as string).length).toBeGreaterThan(0);
      }
    }
    expect(nodes).toBeGreaterThan(10);
  });

  it('makes one person of one user, whatever the pages; kernels act on their behalf', () => {
    const doc = documentOf();
    const agents = doc.agent as Record<string, Record<string, { $: string }>>;
    const persons = Object.keys(agents).filter(id => agents[id]['prov:type'].$ === 'prov:Person');
    expect(persons).toEqual(['nbprov:user.root']);
    expect(Object.keys(agents).sort()).toEqual(['nbprov:kernel.s1', 'nbprov:software.nbprov', 'nbprov:user.root']);
    expect(Object.values(doc.actedOnBehalfOf)).toEqual([
      { 'prov:delegate': 'nbprov:kernel.s1', 'prov:responsible': 'nbprov:user.root' }
    ]);
    const associated = Object.values(doc.wasAssociatedWith as Record<string, Record<string, string>>);
    expect(associated).toContainEqual({ 'prov:activity': 'nbprov:exec.s1-1', 'prov:agent': 'nbprov:kernel.s1' });
    // Every agent an edge names is declared (yProv Explorer drops edges to undeclared nodes).
    for (const edge of associated) {
      expect(agents[edge['prov:agent']]).toBeDefined();
    }
  });

  it('stays byte-identical with two kernels started in the same millisecond, whatever the file order', () => {
    const second = lines([
      {
        type: 'kernel_start',
        t: T(0),
        session: 's2',
        kernel_id: null,
        pid: 2,
        hostname: 'h2',
        python: '3.12',
        nbprov_version: '0.1.0',
        notebook: 'n.ipynb',
        user: 'bob'
      },
      { type: 'exec_start', t: T(40), exec: 's2-1', msg_id: null, cell: 'c1', count: 1, source: 'a = 2\n' }
    ]);
    const documentFor = (files: { name: string; text: string }[]): string => {
      const parsed = parseJournal(files);
      return stableStringify(
        buildProvDocument(buildSession(parsed.records, parsed.warnings), { notebook: 'n.ipynb', nbprovVersion: '0.1.0' })
      );
    };
    const files = [...sampleJournal(), { name: 'k-s2.jsonl', text: second }];
    const forward = documentFor(files);
    expect(documentFor([...files].reverse())).toBe(forward);
    const persons = Object.entries(JSON.parse(forward).agent as Record<string, Record<string, { $: string }>>)
      .filter(([, agent]) => agent['prov:type'].$ === 'prov:Person')
      .map(([id]) => id);
    expect(persons).toEqual(['nbprov:user.alice', 'nbprov:user.bob']);
  });

  it("gives each execution its cell's index: the page's snapshot at the request, else the kernel's", () => {
    const doc = documentOf([
      { type: 'exec_start', t: T(30), exec: 's1-4', msg_id: null, cell: 'c1', count: 4, source: 'a = 2\n', cell_index: 5 },
      { type: 'exec_start', t: T(31), exec: 's1-5', msg_id: null, cell: 'c9', count: 5, source: 'z\n', cell_index: 7 },
      { type: 'exec_start', t: T(32), exec: 's1-6', msg_id: null, cell: null, count: 6, source: 'q\n', cell_index: null }
    ]);
    // s1-1 ran at T(1) under the fixture's snapshot [c1]; s1-4 under the pages' [c0, c1].
    expect(doc.activity['nbprov:exec.s1-1']['nbprov:cell_index']).toBe(0);
    expect(doc.activity['nbprov:exec.s1-4']['nbprov:cell_index']).toBe(1);
    // c9 is in no snapshot: the notebook file's position, as the kernel read it.
    expect(doc.activity['nbprov:exec.s1-5']['nbprov:cell_index']).toBe(7);
    expect(doc.activity['nbprov:exec.s1-6']['nbprov:cell_index']).toBeUndefined();
  });
});
