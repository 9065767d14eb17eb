import { decideRecording, parseRecordingSettings } from '../recording';
import {
  conflictFolder,
  IIdentityReader,
  identityText,
  idOfNotebookText,
  NotebookNameError,
  parseIdentity,
  primaryFolder,
  resolveFolder,
  unusableNotebookName
} from '../identity';
// The same table as tests/test_identity.py reads, so both languages answer alike.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const NAMES: { refused: string[]; accepted: Record<string, string> } = require('../../../tests/notebook_names.json');

const ID_A = 'a'.repeat(32);
const ID_B = 'b'.repeat(32);

/** Files by path; a folder exists when some file lies under it. */
function store(files: Record<string, string>): IIdentityReader {
  return {
    folders: async dir => {
      const prefix = dir === '' ? '' : `${dir}/`;
      const names = Object.keys(files)
        .filter(path => path.startsWith(prefix) && path.slice(prefix.length).includes('/'))
        .map(path => path.slice(prefix.length).split('/')[0]);
      return Array.from(new Set(names));
    },
    read: async path => files[path] ?? null
  };
}

const notebook = (id: string | null) => JSON.stringify({ cells: [], metadata: id ? { nbprov: { id } } : {} });

describe('resolveFolder (the same rule as nbprov/identity.py)', () => {
  it('gives a new notebook its stem folder and a fresh id', async () => {
    const location = await resolveFolder(store({}), 'w/train.ipynb', null);
    expect(location.folder).toBe('w/train.prov');
    expect(location.id).toMatch(/^[0-9a-f]{32}$/);
    expect(location.note).toBeNull();
  });

  it('lets a notebook without an id adopt the id of its folder', async () => {
    const files = { 'w/train.prov/identity.json': identityText(ID_A, 'train.ipynb') };
    expect(await resolveFolder(store(files), 'w/train.ipynb', null)).toEqual({ folder: 'w/train.prov', id: ID_A, note: null });
  });

  it('finds the folder of a notebook renamed outside JupyterLab by its id', async () => {
    const files = {
      'w/Untitled.prov/identity.json': identityText(ID_A, 'Untitled.ipynb'),
      'w/other.prov/identity.json': identityText(ID_B, 'other.ipynb'),
      'w/train.ipynb': notebook(ID_A)
    };
    const location = await resolveFolder(store(files), 'w/train.ipynb', ID_A);
    expect(location.folder).toBe('w/Untitled.prov');
    expect(location.note).toContain('Untitled.prov');
  });

  it('gives a copy of a notebook that still exists an id and a folder of its own', async () => {
    const files = { 'w/train.ipynb': notebook(ID_A), 'w/train.prov/identity.json': identityText(ID_A, 'train.ipynb') };
    const location = await resolveFolder(store(files), 'w/train-Copy1.ipynb', ID_A);
    expect(location.id).not.toBe(ID_A);
    expect(location.folder).toBe('w/train-Copy1.prov');
    expect(location.note).toBe('train-Copy1.ipynb is a copy of train.ipynb');
  });

  it("never mixes a notebook into another notebook's history, and finds its own folder again", async () => {
    const files: Record<string, string> = { 'train.prov/identity.json': identityText(ID_B, 'train.ipynb') };
    const location = await resolveFolder(store(files), 'train.ipynb', ID_A);
    expect(location).toEqual({ folder: 'train-aaaaaaaa.prov', id: ID_A, note: "train.prov holds another notebook's history" });
    expect(conflictFolder('train.ipynb', ID_A)).toBe(location.folder);
    files['train-aaaaaaaa.prov/identity.json'] = identityText(ID_A, 'train.ipynb');
    expect((await resolveFolder(store(files), 'train.ipynb', ID_A)).folder).toBe('train-aaaaaaaa.prov');
  });

  it('reads names in identity files as data, never as paths', () => {
    expect(parseIdentity(JSON.stringify({ id: ID_A, notebook: '../../etc/x.ipynb' }))).toEqual({ id: ID_A, notebook: null });
    for (const text of ['{', '[]', 'null', JSON.stringify({ id: ID_A.toUpperCase() }), null]) {
      expect(parseIdentity(text)).toBeNull();
    }
    expect(idOfNotebookText('not json')).toBeNull();
    expect(idOfNotebookText(JSON.stringify({ metadata: { nbprov: { id: 'short' } } }))).toBeNull();
  });
});

describe('notebook names without a stem (the same table as tests/test_identity.py)', () => {
  it.each(NAMES.refused)('refuses %j: no folder, not recorded, the same message as the kernel', async name => {
    expect(unusableNotebookName(name)).toMatch(
      /has no stem \(only dots before \.ipynb\), so it can have no \.prov folder: rename it$/
    );
    expect(() => primaryFolder(`nb/${name}`)).toThrow(NotebookNameError);
    await expect(resolveFolder(store({}), `nb/${name}`, null)).rejects.toThrow(/has no stem/);
    const all = parseRecordingSettings({ record: 'all' }).settings;
    expect(decideRecording(all, `nb/${name}`, 'on')).toEqual({ state: 'off', reason: unusableNotebookName(name) });
  });

  it.each(Object.entries(NAMES.accepted))('gives %j the folder %j', (name, folder) => {
    expect(unusableNotebookName(name)).toBeNull();
    expect(primaryFolder(`/nb/${name}`)).toBe(`/nb/${folder}`);
  });
});
