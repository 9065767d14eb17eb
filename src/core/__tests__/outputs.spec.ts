import { summarizeOutputs, TEXT_LIMIT } from '../outputs';
import { sha256Hex } from '../sha256';

describe('summarizeOutputs', () => {
  it('keeps short text whole and hashes it', () => {
    const { items, blobs } = summarizeOutputs([{ output_type: 'stream', name: 'stdout', text: ['a\n', 'b'] }]);
    expect(blobs).toEqual([]);
    expect(items).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'a\nb', truncated: false, sha256: sha256Hex('a\nb'), size: 3 }
    ]);
  });

  it('truncates long text but hashes all of it', () => {
    const text = 'x'.repeat(10 * 1024 * 1024);
    const [item] = summarizeOutputs([{ output_type: 'stream', name: 'stdout', text }]).items;
    expect(item.truncated).toBe(true);
    expect(item.text!.length).toBe(TEXT_LIMIT);
    expect(item.size).toBe(text.length);
    expect(item.sha256).toBe(sha256Hex(text));
  });

  it('moves binary data to content-addressed blobs', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]).toString('base64');
    const { items, blobs } = summarizeOutputs([
      { output_type: 'display_data', data: { 'image/png': png, 'text/plain': '<Figure>' } }
    ]);
    expect(blobs).toHaveLength(1);
    expect(Array.from(blobs[0].bytes)).toEqual([0x89, 0x50, 0x4e, 0x47, 0, 255]);
    expect(blobs[0].path).toBe(`blobs/${items[0].sha256}`);
    expect(items[0]).toMatchObject({ mime: 'image/png', blob: items[0].sha256, size: 6 });
    expect(items[1]).toMatchObject({ mime: 'text/plain', text: '<Figure>' });
  });

  it('records errors with their traceback', () => {
    const [item] = summarizeOutputs([{ output_type: 'error', ename: 'ValueError', evalue: 'bad', traceback: ['line 1'] }]).items;
    expect(item).toMatchObject({ output_type: 'error', name: 'ValueError', text: 'ValueError: bad\nline 1' });
  });
});
