import { describe, expect, it } from 'vitest';
import { formatBytes, fromBase64, hexDump } from '../web/src/pages/quarantine/bytes.js';

/** The quarantine page's byte helpers (web/src/pages/quarantine/bytes.ts): pure functions, checked without a browser. */
describe('quarantine bytes', () => {
  it('dumps 16 bytes a line: offset, hex with a gap after eight, printable ASCII', () => {
    const bytes = new Uint8Array([...Buffer.from('0123456789abcdef'), 0x00, 0x7f, 0x80, 0x20, 0x7e]);
    expect(hexDump(bytes).split('\n')).toEqual([
      '00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|',
      `00000010  00 7f 80 20 7e${' '.repeat(36)}|... ~|`,
    ]);
    expect(hexDump(new Uint8Array(0))).toBe('');
  });

  it('stops at the limit, on any offset', () => {
    const bytes = new Uint8Array(100).fill(0x41);
    expect(hexDump(bytes, 32).split('\n')).toHaveLength(2);
    expect(hexDump(bytes, 20).split('\n').at(-1)).toBe(`00000010  41 41 41 41${' '.repeat(39)}|AAAA|`);
    expect(hexDump(new Uint8Array(0x10010), 0x10010).split('\n').at(-1)!.slice(0, 8)).toBe('00010000');
  });

  it('decodes base64 to the exact bytes and sizes them in binary units', () => {
    const raw = Buffer.from([0, 255, 1, 128, 0x7b]);
    expect(Buffer.from(fromBase64(raw.toString('base64'))).equals(raw)).toBe(true);
    expect([0, 532, 1024, 1229, 6041, 1024 * 1024 + 1].map(formatBytes)).toEqual(['0 B', '532 B', '1 KiB', '1.2 KiB', '5.9 KiB', '1 MiB']);
  });
});
