import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { RUN, sampleJournal, T } from '../../core/__tests__/fixtures';
import { findProvFolders, IJournalSource } from '../scope';

let root: string;

/** The journal source over a real folder (the lab's is the Contents API). */
const source = (): IJournalSource => ({
  folders: async dir => {
    const entries = await fs.readdir(path.join(root, dir), { withFileTypes: true }).catch(() => []);
    return entries.filter(entry => entry.isDirectory()).map(entry => entry.name);
  },
  readJournal: async folder => {
    const dir = path.join(root, folder, 'journal');
    const names = (await fs.readdir(dir).catch(() => [] as string[])).filter(name => name.endsWith('.jsonl'));
    return Promise.all(names.map(async name => ({ name, text: await fs.readFile(path.join(dir, name), 'utf8') })));
  }
});

async function provFolder(relative: string, runId: string, ended: boolean): Promise<void> {
  const dir = path.join(root, relative, 'journal');
  await fs.mkdir(dir, { recursive: true });
  const extra = ended ? [{ type: 'run_end', t: T(9), run: RUN, status: 'finished' }] : [];
  for (const file of sampleJournal(extra)) {
    await fs.writeFile(
      path.join(dir, file.name),
      file.text
        .split(RUN)
        .join(runId)
        .split('"s1')
        .join(`"${runId.slice(0, 4)}`)
    );
  }
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'nbprov-scope-'));
  await provFolder('train.prov', 'a'.repeat(32), true);
  await provFolder('sub/train_v2.prov', 'b'.repeat(32), false);
  await fs.mkdir(path.join(root, 'sub', 'empty.prov'));
  await provFolder('.hidden/x.prov', 'c'.repeat(32), true);
});

afterEach(() => fs.rm(root, { recursive: true, force: true }));

describe('side panel scopes', () => {
  it('finds the .prov folders of a folder, or of everything below it without hidden folders', async () => {
    expect(await findProvFolders(source(), '', false)).toEqual(['train.prov']);
    expect(await findProvFolders(source(), '', true)).toEqual(['sub/empty.prov', 'sub/train_v2.prov', 'train.prov']);
    expect(await findProvFolders(source(), 'sub', false)).toEqual(['sub/empty.prov', 'sub/train_v2.prov']);
  });
});
