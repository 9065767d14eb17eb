import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { exportSession, type IFileSink } from '../../core/export';
import { sampleJournal, T } from '../../core/__tests__/fixtures';
import { runExport } from '../export';
import { DirectorySink } from '../fssink';

/** Every file below `folder` with its bytes, as relative paths (links reported as `-> target`). */
async function snapshot(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const key = path.relative(folder, full);
      if (entry.isSymbolicLink()) {
        out[key] = `-> ${await fs.readlink(full)}`;
      } else if (entry.isDirectory()) {
        await walk(full);
      } else {
        out[key] = (await fs.readFile(full)).toString('base64');
      }
    }
  };
  await walk(folder);
  return out;
}

describe('the filesystem export sink', () => {
  let dir: string;
  let outside: string;
  let provDir: string;
  const notebook = (): string => path.join(dir, 'nb.ipynb');
  const exportOnce = (): Promise<string> => runExport({ notebook: notebook(), liveSessions: [] }, '0.1.0');

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nbprov-sink-'));
    outside = await fs.mkdtemp(path.join(os.tmpdir(), 'nbprov-outside-'));
    provDir = path.join(dir, 'nb.prov');
    await fs.writeFile(notebook(), '{}');
    await fs.mkdir(path.join(provDir, 'journal'), { recursive: true });
    for (const file of sampleJournal()) {
      await fs.writeFile(path.join(provDir, 'journal', file.name), file.text);
    }
    await fs.writeFile(path.join(outside, 'precious.txt'), 'keep me');
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(outside, { recursive: true, force: true });
  });

  it('refuses a .prov folder that is a symbolic link, and writes nothing through it', async () => {
    const real = path.join(outside, 'real.prov');
    await fs.rename(provDir, real);
    await fs.symlink(real, provDir);
    const before = await snapshot(outside);
    await expect(exportOnce()).rejects.toThrow(/nb\.prov: it is a symbolic link/);
    expect(await snapshot(outside)).toEqual(before);
  });

  it('refuses a prov.json that links to another file, which stays as it was', async () => {
    await fs.symlink(path.join(outside, 'precious.txt'), path.join(provDir, 'prov.json'));
    await expect(exportOnce()).rejects.toThrow(/prov\.json: it is a symbolic link/);
    expect(await fs.readFile(path.join(outside, 'precious.txt'), 'utf8')).toBe('keep me');
    expect((await fs.lstat(path.join(provDir, 'prov.json'))).isSymbolicLink()).toBe(true);
    expect((await fs.readdir(provDir)).sort()).toEqual(['journal', 'prov.json']);
  });

  it('refuses a metrics.zarr folder that is a link, or holds one, and touches neither target', async () => {
    await fs.symlink(outside, path.join(provDir, 'metrics.zarr'));
    const before = await snapshot(outside);
    await expect(exportOnce()).rejects.toThrow(/metrics\.zarr: it is a symbolic link/);
    expect(await snapshot(outside)).toEqual(before);

    await fs.unlink(path.join(provDir, 'metrics.zarr'));
    await exportOnce();
    const runFolder = (await fs.readdir(path.join(provDir, 'metrics.zarr'))).find(name => name !== 'zarr.json')!;
    const linked = path.join(provDir, 'metrics.zarr', runFolder);
    await fs.rm(linked, { recursive: true });
    await fs.symlink(outside, linked);
    const exported = await snapshot(provDir);
    await expect(exportOnce()).rejects.toThrow(new RegExp(`${runFolder} is a symbolic link`));
    expect(await snapshot(outside)).toEqual(before);
    expect(await snapshot(provDir)).toEqual(exported);
  });

  it('replaces the previous export whole, leaving no temporary folder and no stale group', async () => {
    await exportOnce();
    await fs.mkdir(path.join(provDir, 'metrics.zarr', 'stale-group'));
    await fs.writeFile(path.join(provDir, 'metrics.zarr', 'stale-group', 'zarr.json'), '{}');
    await exportOnce();
    expect((await fs.readdir(provDir)).sort()).toEqual(['journal', 'metrics.zarr', 'prov.json', 'ro-crate-metadata.json']);
    expect(await fs.readdir(path.join(provDir, 'metrics.zarr'))).not.toContain('stale-group');
  });

  it('leaves the previous export intact when a write fails midway, whatever the write', async () => {
    await exportOnce();
    const before = await snapshot(provDir);
    let total = 0;
    await exportSession(
      { notebook: 'nb.ipynb', journal: sampleJournal(), nbprovVersion: '0.1.0', datePublished: T(0) },
      { write: async () => void total++ }
    );
    for (const failAt of [1, 2, Math.floor(total / 2), total]) {
      const real = new DirectorySink(provDir);
      let writes = 0;
      const failing: IFileSink = {
        write: async (relativePath, data) => {
          if (++writes === failAt) {
            throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          }
          await real.write(relativePath, data);
        },
        commit: () => real.commit(),
        abort: () => real.abort()
      };
      await expect(
        exportSession({ notebook: 'nb.ipynb', journal: sampleJournal(), nbprovVersion: '9.9.9' }, failing)
      ).rejects.toThrow(/ENOSPC/);
      expect(await snapshot(provDir)).toEqual(before);
    }
  });

  it("removes what a killed export left behind, but not a running export's staging folder", async () => {
    const dead = path.join(provDir, 'export-partial-999999999-abcdef');
    const running = path.join(provDir, `export-partial-${process.pid}-012345`);
    await fs.mkdir(dead);
    await fs.mkdir(running);
    await exportOnce();
    const names = await fs.readdir(provDir);
    expect(names).not.toContain(path.basename(dead));
    expect(names).toContain(path.basename(running));
  });
});
