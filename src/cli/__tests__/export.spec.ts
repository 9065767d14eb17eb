import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { lines, sampleJournal, T } from '../../core/__tests__/fixtures';
import { UsageError } from '../errors';
import { parseExportArgs, runExport } from '../export';
import { DirectorySink } from '../fssink';

describe('nbprov export', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nbprov-export-'));
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('parses arguments and refuses bad ones as usage errors', () => {
    expect(parseExportArgs(['a.ipynb', '--live-session', 's1', '--live-session=s2'])).toEqual({
      notebook: 'a.ipynb',
      liveSessions: ['s1', 's2']
    });
    expect(parseExportArgs(['a.ipynb'])).toEqual({ notebook: 'a.ipynb', liveSessions: [] });
    expect(parseExportArgs(['--help'])).toBe('help');
    expect(() => parseExportArgs([])).toThrow(UsageError);
    expect(() => parseExportArgs(['a.ipynb', '--live-session'])).toThrow(/'--live-session <value>' argument missing/);
    expect(() => parseExportArgs(['a.ipynb', '--bogus'])).toThrow(/Unknown option '--bogus'/);
  });

  it('writes the export next to the journal and nowhere else', async () => {
    await fs.writeFile(path.join(dir, 'nb.ipynb'), '{}');
    await fs.mkdir(path.join(dir, 'nb.prov', 'journal'), { recursive: true });
    await fs.writeFile(
      path.join(dir, 'nb.prov', 'journal', 'k-s1.jsonl'),
      lines([
        {
          type: 'kernel_start',
          t: T(0),
          session: 's1',
          kernel_id: null,
          pid: 1,
          hostname: 'h',
          python: '',
          nbprov_version: '',
          notebook: 'nb.ipynb',
          user: 'u'
        },
        { type: 'exec_start', t: T(1), exec: 's1-1', msg_id: null, cell: 'c', count: 1, source: 'x' }
      ])
    );
    const provDir = await runExport({ notebook: path.join(dir, 'nb.ipynb'), liveSessions: [] }, '0.1.0');
    expect(provDir).toBe(path.join(dir, 'nb.prov'));
    expect((await fs.readdir(dir)).sort()).toEqual(['nb.ipynb', 'nb.prov']);
    expect((await fs.readdir(provDir)).sort()).toEqual(['journal', 'metrics.zarr', 'prov.json', 'ro-crate-metadata.json']);
  });

  it('reports a missing notebook or journal as a user error', async () => {
    await expect(runExport({ notebook: path.join(dir, 'none.ipynb'), liveSessions: [] }, '0')).rejects.toThrow(
      /notebook not found/
    );
    await fs.writeFile(path.join(dir, 'nb.ipynb'), '{}');
    await expect(runExport({ notebook: path.join(dir, 'nb.ipynb'), liveSessions: [] }, '0')).rejects.toThrow(/no journal/);
  });

  it("sets the crate's licence from a URL or an SPDX identifier, and refuses anything else before writing", async () => {
    expect(parseExportArgs(['a.ipynb', '--license', 'MIT'])).toMatchObject({ license: 'MIT' });
    expect(() => parseExportArgs(['a.ipynb', '--license', 'not a licence'])).toThrow(/--license: not a licence URL/);
    expect(() => parseExportArgs(['a.ipynb', '--license=javascript:alert(1)'])).toThrow(UsageError);
    await fs.writeFile(path.join(dir, 'nb.ipynb'), '{}');
    await fs.mkdir(path.join(dir, 'nb.prov', 'journal'), { recursive: true });
    for (const file of sampleJournal()) {
      await fs.writeFile(path.join(dir, 'nb.prov', 'journal', file.name), file.text);
    }
    const crateLicense = async (license?: string): Promise<unknown> => {
      await runExport({ notebook: path.join(dir, 'nb.ipynb'), liveSessions: [], license }, '0.1.0');
      const crate = JSON.parse(await fs.readFile(path.join(dir, 'nb.prov', 'ro-crate-metadata.json'), 'utf8'));
      return crate['@graph'].find((entity: { '@id': string }) => entity['@id'] === './').license;
    };
    expect(await crateLicense()).toEqual({ '@id': 'https://creativecommons.org/licenses/by/4.0/' });
    expect(await crateLicense('CC-BY-SA-4.0')).toEqual({ '@id': 'https://spdx.org/licenses/CC-BY-SA-4.0' });
    expect(await crateLicense('https://example.org/terms')).toEqual({ '@id': 'https://example.org/terms' });
    const before = await fs.readFile(path.join(dir, 'nb.prov', 'prov.json'));
    await expect(
      runExport({ notebook: path.join(dir, 'nb.ipynb'), liveSessions: [], license: 'file:///etc' }, '0')
    ).rejects.toThrow(/not a licence URL or SPDX identifier/);
    expect(await fs.readFile(path.join(dir, 'nb.prov', 'prov.json'))).toEqual(before);
  });

  it('refuses to write outside its folder', async () => {
    const sink = new DirectorySink(dir);
    await expect(sink.write('../escape', 'x')).rejects.toThrow(/outside/);
    await expect(sink.write('/abs', 'x')).rejects.toThrow(/outside/);
    await expect(sink.write('a/../../b', 'x')).rejects.toThrow(/outside/);
  });
});
