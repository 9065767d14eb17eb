import { findProvFolders, IProjectLister } from '../project';

/** A folder tree as nested objects; a string is a file's text. */
type Tree = { [name: string]: Tree | string };

function lister(tree: Tree): IProjectLister & { listed: string[] } {
  const at = (path: string): Tree | string | undefined =>
    path
      .split('/')
      .filter(Boolean)
      .reduce<Tree | string | undefined>((node, part) => (typeof node === 'object' ? node[part] : undefined), tree);
  const listed: string[] = [];
  return {
    listed,
    async folders(dir: string) {
      listed.push(dir);
      const node = at(dir);
      return typeof node === 'object' ? Object.keys(node).filter(name => typeof node[name] === 'object') : [];
    },
    async read(path: string) {
      const node = at(path);
      return typeof node === 'string' ? node : null;
    }
  };
}

const ID = '0123456789abcdef0123456789abcdef';

describe('findProvFolders', () => {
  const tree: Tree = {
    'train.prov': { journal: {} },
    'moved-01234567.prov': { 'identity.json': JSON.stringify({ id: ID, notebook: 'renamed.ipynb' }), journal: {} },
    '.prov': {},
    sub: { 'eval.prov': {}, deeper: { 'x.prov': { 'inner.prov': {} } } },
    '.git': { 'hidden.prov': {} },
    node_modules: { 'pkg.prov': {} },
    '.ipynb_checkpoints': { 'c.prov': {} }
  };

  it('finds the .prov folders of one folder, naming their notebooks', async () => {
    const scan = await findProvFolders(lister(tree), '', false);
    expect(scan).toEqual({
      folders: [
        { folder: 'moved-01234567.prov', notebook: 'renamed.ipynb' },
        { folder: 'train.prov', notebook: 'train.ipynb' }
      ],
      truncated: false
    });
  });

  it('goes below when recursive, never into hidden folders, node_modules or .prov folders', async () => {
    const tracked = lister(tree);
    const scan = await findProvFolders(tracked, '', true);
    expect(scan.folders.map(found => [found.folder, found.notebook])).toEqual([
      ['moved-01234567.prov', 'renamed.ipynb'],
      ['sub/deeper/x.prov', 'sub/deeper/x.ipynb'],
      ['sub/eval.prov', 'sub/eval.ipynb'],
      ['train.prov', 'train.ipynb']
    ]);
    expect(tracked.listed.some(dir => /\.git|node_modules|checkpoints|\.prov/.test(dir))).toBe(false);
  });

  it('starts from a sub-folder, and ignores an identity naming a path instead of a file name', async () => {
    const hostile: Tree = { a: { 'b.prov': { 'identity.json': JSON.stringify({ id: ID, notebook: '../../etc/x.ipynb' }) } } };
    const scan = await findProvFolders(lister(hostile), 'a', false);
    expect(scan.folders).toEqual([{ folder: 'a/b.prov', notebook: 'a/b.ipynb' }]);
  });

  it('stops at the folder limit and says so', async () => {
    const wide: Tree = {};
    for (let i = 0; i < 50; i++) {
      wide[`d${i}`] = { [`n${i}.prov`]: {} };
    }
    const scan = await findProvFolders(lister(wide), '', true, 10);
    expect(scan.truncated).toBe(true);
    expect(scan.folders.length).toBeLessThan(50);
    const all = await findProvFolders(lister(wide), '', true);
    expect(all.truncated).toBe(false);
    expect(all.folders).toHaveLength(50);
  });
});
