/**
 * The page export's scratch over a fake server that behaves as jupyter_server's chunked save
 * (chunk 1 creates, any other appends) and its `files/` route's byte ranges, with uploads that
 * finish only when the test lets them.
 */
import { contentsScratch, type ScratchServer } from '../exportscratch';

class FakeServer implements ScratchServer {
  file = new Uint8Array(0);
  saves: { chunk: number; bytes: number }[] = [];
  ranges: [number, number][] = [];
  deleted = false;
  /** Uploads waiting for `finish`. */
  readonly held: (() => void)[] = [];
  hold = false;
  failNext: Error | null = null;

  async appendLarge(_path: string, bytes: Uint8Array, create: boolean, sizeBefore: number): Promise<void> {
    if (this.hold) {
      await new Promise<void>(resolve => this.held.push(resolve));
    }
    if (this.failNext) {
      throw this.failNext;
    }
    expect(sizeBefore).toBe(create ? 0 : this.file.byteLength);
    const joined = new Uint8Array((create ? 0 : this.file.byteLength) + bytes.byteLength);
    joined.set(create ? new Uint8Array(0) : this.file);
    joined.set(bytes, joined.byteLength - bytes.byteLength);
    this.file = joined;
    this.saves.push({ chunk: create ? 1 : 2, bytes: bytes.byteLength });
  }

  async readRange(_path: string, start: number, length: number): Promise<Uint8Array> {
    this.ranges.push([start, length]);
    expect(start + length).toBeLessThanOrEqual(this.file.byteLength);
    return this.file.slice(start, start + length);
  }

  async writeBytes(_path: string, bytes: Uint8Array): Promise<void> {
    this.file = bytes.slice();
  }

  async delete(): Promise<void> {
    this.deleted = true;
  }

  finish(): void {
    this.held.splice(0).forEach(resolve => resolve());
  }
}

const bytes = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);
const tick = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 0));

describe('contentsScratch', () => {
  it('joins small appends into uploads, creates the file once, and reads every range back exactly', async () => {
    const server = new FakeServer();
    let readied = 0;
    const scratch = contentsScratch(server, 'nb.prov/export-partial-x/export-scratch', async () => void readied++, 64);
    const handles = [20, 20, 30, 100, 4].map((n, i) => ({ n, from: i * 7, handle: scratch.append(bytes(n, i * 7)) }));
    expect(handles.map(h => h.handle)).toEqual([0, 20, 40, 70, 170]);
    await scratch.settle();
    for (const { n, from, handle } of handles) {
      const read = await scratch.read(handle, 2, n - 2);
      expect(Array.from(read)).toEqual(Array.from(bytes(n, from).subarray(2)));
      expect(read.byteOffset % 8).toBe(0);
    }
    // 20+20+30 ≥ 64: one upload; 100 alone; the last 4 at the first read.
    expect(server.saves).toEqual([
      { chunk: 1, bytes: 70 },
      { chunk: 2, bytes: 100 },
      { chunk: 2, bytes: 4 }
    ]);
    expect(readied).toBeGreaterThanOrEqual(1);
    // Windows of 64 bytes serve the reads that fall inside one.
    expect(server.ranges.length).toBeLessThan(handles.length);

    await scratch.close();
    expect(server.file.byteLength).toBe(0);
    expect(server.deleted).toBe(true);
  });

  it('lets the fold go on while the latest upload runs, but not while an earlier one does', async () => {
    const server = new FakeServer();
    server.hold = true;
    const scratch = contentsScratch(server, 's', async () => undefined, 8);
    scratch.append(bytes(8, 0));
    let settled = false;
    void scratch.settle().then(() => (settled = true));
    await tick();
    expect(settled).toBe(true);

    scratch.append(bytes(8, 1));
    settled = false;
    void scratch.settle().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    server.finish();
    await tick();
    expect(settled).toBe(true);

    let read = false;
    const reading = scratch.read(8, 0, 8).then(b => ((read = true), b));
    await tick();
    expect(read).toBe(false);
    server.finish();
    expect(Array.from(await reading)).toEqual(Array.from(bytes(8, 1)));
  });

  it("fails the next settle with the upload's error, and every read after it", async () => {
    const server = new FakeServer();
    const scratch = contentsScratch(server, 's', async () => undefined, 8);
    server.failNext = new Error('Unexpected error while saving file: [Errno 28] No space left on device');
    scratch.append(bytes(8, 0));
    await tick();
    await expect(scratch.settle()).rejects.toThrow('No space left on device');
    await expect(scratch.read(0, 0, 8)).rejects.toThrow('No space left on device');
    await scratch.close();
  });
});
