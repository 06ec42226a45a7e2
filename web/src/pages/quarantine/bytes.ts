/** The quarantine's byte helpers: sizes for reading, base64 to bytes, and the hex dump. */

const units = ['B', 'KiB', 'MiB', 'GiB'] as const;

/** `532 B`, `1.2 KiB`, `1 MiB`: binary units, one decimal under ten. */
export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${shown.toLocaleString()} ${units[unit]}`;
}

export function fromBase64(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * The classic dump, 16 bytes a line: the offset, the bytes in hex (a gap after eight), and the printable
 * ASCII (anything else as `.`), e.g. `00000000  7b 22 74 …  |{"t…|`.
 */
export function hexDump(bytes: Uint8Array, limit = bytes.length): string {
  const end = Math.min(limit, bytes.length);
  const lines: string[] = [];
  for (let offset = 0; offset < end; offset += 16) {
    const row = bytes.subarray(offset, Math.min(offset + 16, end));
    let hexes = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      if (i === 8) hexes += ' ';
      const b = row[i];
      hexes += b === undefined ? '   ' : `${hex(b, 2)} `;
      if (b !== undefined) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(`${hex(offset, 8)}  ${hexes} |${ascii}|`);
  }
  return lines.join('\n');
}
