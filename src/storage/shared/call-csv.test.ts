import { describe, expect, it } from 'vitest';
import { callCsvHeader, callCsvPage, callCsvSelect } from './call-csv.js';
import { csvCell } from '../../domain/csv-cells.js';

/**
 * The export writes its cells straight into bytes (call-csv.ts); these are the bytes the rules give when each
 * line is built as text the plain way: the rules' regular expressions as docs/api.md states them, the API's
 * presenters, UTF-8 (a lone surrogate as U+FFFD, as Buffer writes it).
 */
const needsQuotes = /[",;\t\r\n]/;
const formulaStart = /^[ "]*[=+\-@\t\r]|[,;\t\r\n][ ",;\t\r\n]*[=+\-@]/;
function referenceCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const text = formulaStart.test(value) ? `'${value}` : value;
  return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
const referenceText = (v: unknown) =>
  v === null || v === undefined ? '' : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? referenceCell(v) : referenceCell(JSON.stringify(v));
const referenceTime = (ms: unknown) => (ms === null ? '' : referenceCell(new Date(ms as number).toISOString()));
const referenceUserId = (u: unknown) => (typeof u === 'string' && /^-?\d{1,15}$/.test(u) ? Number(u) : u);

function referenceLine(r: readonly unknown[]): string {
  const lead = r[12] === null ? null : (JSON.parse(r[12] as string) as Record<string, unknown> | null);
  const agent = r[13] === null ? null : (JSON.parse(r[13] as string) as Record<string, unknown> | null);
  const custom = lead?.custom_params;
  const cells = [
    referenceCell(r[0]), referenceCell(r[1]), referenceCell(r[2]), referenceTime(r[3]), referenceTime(r[4]), referenceCell(r[5]),
    referenceCell(referenceUserId(r[6])), referenceCell(r[7]), referenceCell(r[8]), referenceCell(r[9]),
    r[10] === null ? '' : r[10] === 1 ? 'true' : 'false', referenceCell(r[11]),
    ...(lead
      ? [lead.lead_phone, lead.lead_id, lead.source, lead.site_path, lead.referer, lead.ip, lead.country].map(referenceText).concat(
          custom === undefined || custom === null ? '' : referenceCell(JSON.stringify(custom)),
        )
      : Array<string>(8).fill('')),
    ...(agent ? [agent.id, agent.name, agent.email, agent.phone].map(referenceText) : Array<string>(4).fill('')),
    referenceTime(r[14]), referenceTime(r[15]), referenceTime(r[16]), referenceTime(r[17]),
    ...[18, 19, 20, 21, 22, 23].map((i) => referenceCell(r[i])), referenceTime(r[24]), referenceCell(r[25]), referenceCell(r[26]),
  ];
  return `${cells.join(',')}\r\n`;
}

/** mulberry32: the same hostile rows on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pieces = ['a', 'Z', '0', '7', ' ', '  ', '"', ',', ';', '\t', '\r', '\n', '\r\n', '=', '+', '-', '@', "'", 'é', 'Försäljning', '電話', '😀', '\ud800', '\udfff', '\u0000', '\u001f', '{', '}', 'x=1', '=1+1', 'http://a.b/c?d=e'];

describe('CSV export bytes', () => {
  it('writes every hostile cell exactly as the plain rules and presenters do (quotes, separators, formulas, unicode, numbers, times)', () => {
    const rand = prng(15);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const text = (): string | null => {
      if (rand() < 0.1) return null;
      let s = '';
      for (let n = Math.floor(rand() * 6); n > 0; n--) s += pick(pieces);
      return s;
    };
    const numbers = [0, -0, 1, -1, 7, 86, 2.5, -2.5, 1e21, 1e-7, 2_147_483_647, 2_147_483_648, -2_147_483_648, -2_147_483_649, 123456789012, 0.1 + 0.2, null];
    const times = [0, 1, 999, 86_399_999, 86_400_000, 1_796_228_073_248, 253_402_300_799_999, 253_402_300_800_000, -1, -62_198_755_200_001, 1.5, null];
    const payload = () =>
      pick<unknown>([text(), text(), pick(numbers), true, false, { nested: text(), n: pick(numbers) }, [text(), 1], undefined]);
    // The same agents answer many calls (their cells are kept by their JSON text: both ways are compared).
    const agents = Array.from({ length: 40 }, () => (rand() < 0.1 ? null : JSON.stringify({ id: payload(), name: payload(), email: payload(), phone: payload() })));
    const rows: unknown[][] = [];
    for (let i = 0; i < 3000; i++) {
      const lead = rand() < 0.1 ? null : JSON.stringify({
        lead_phone: payload(), lead_id: payload(), source: payload(), site_path: payload(), referer: payload(), ip: payload(), country: payload(),
        ...(rand() < 0.8 ? { custom_params: rand() < 0.2 ? null : { utm: text(), list: [text(), pick(numbers)], [text() ?? 'k']: payload() } } : {}),
      });
      const agent = pick(agents);
      const userId = pick([text(), '12345', '-42', '007', '-0', '1234567890123456', '12a', null]);
      rows.push([
        text() ?? `c${i}`, text() ?? 's', text() ?? 'answered', pick(times) ?? 1, pick(times) ?? 2, pick(numbers), userId, text(), text(), text(),
        pick([0, 1, null]), text(), lead, agent, pick(times), pick(times), pick(times), pick(times), pick(numbers), pick(numbers),
        pick(numbers), pick(numbers), text(), text(), pick(times), pick(numbers), pick(numbers),
      ]);
    }
    expect(rows[0]).toHaveLength(callCsvSelect.length);
    for (let start = 0; start < rows.length; start += 500) {
      const page = rows.slice(start, start + 500);
      const written = callCsvPage(page);
      expect(written.rows).toBe(page.length);
      expect(Buffer.from(written.bytes).toString('hex')).toBe(Buffer.from(page.map(referenceLine).join(''), 'utf8').toString('hex'));
    }
  });

  it('writes the cells of a plain row as they are, the defusing quote before a phone number', () => {
    const lead = JSON.stringify({ lead_phone: '+46 70 660 76 01', lead_id: '67979EBE', source: 'website', custom_params: { utm_source: 'google' } });
    const agent = JSON.stringify({ id: 10023, name: 'Oskar Persson', email: 'agent23@example.com', phone: '+46701000023' });
    const row = ['c-1', 'src_1', 'answered', 1_796_228_073_248, 1_796_228_169_024, 2, '12345', 'wk', 'Widget 12', 'Europe/Stockholm', 0,
      '+46 70 660 76 01', lead, agent, 1_796_228_073_448, null, null, 1_796_228_169_024, 8, null, 86, 96.5, 'lead', null, 1_796_228_067_750, -3, null];
    const page = callCsvPage([row]);
    expect(Buffer.from(page.bytes).toString('utf8')).toBe(
      'c-1,src_1,answered,2026-12-02T16:14:33.248Z,2026-12-02T16:16:09.024Z,2,12345,wk,Widget 12,Europe/Stockholm,false,' +
        "'+46 70 660 76 01,'+46 70 660 76 01,67979EBE,website,,,,,\"{\"\"utm_source\"\":\"\"google\"\"}\"," +
        "10023,Oskar Persson,agent23@example.com,'+46701000023," +
        '2026-12-02T16:14:33.448Z,,,2026-12-02T16:16:09.024Z,8,,86,96.5,lead,,2026-12-02T16:14:27.750Z,-3,\r\n',
    );
    expect(page.last).toEqual({ firstEventAt: 1_796_228_073_248, callId: 'c-1', sourceId: 'src_1' });
    expect(callCsvHeader.split(',')).toHaveLength(37);
    expect(csvCell('Försäljning')).toBe('Försäljning');
  });

  it('writes a page into the memory it is given, and into a larger buffer when the lines do not fit', () => {
    const row = (i: number) => [`c-${i}`, 'src_1', 'answered', 1_796_228_073_248 + i, 1_796_228_169_024, 2, null, 'wk', 'Widget', null, null,
      null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null];
    const rows = Array.from({ length: 50 }, (_, i) => row(i));
    const fresh = Buffer.from(callCsvPage(rows).bytes).toString('utf8');
    const given = new ArrayBuffer(64 * 1024);
    new Uint8Array(given).fill(0x58);
    const into = callCsvPage(rows, given);
    expect(into.bytes.buffer).toBe(given);
    expect(Buffer.from(into.bytes).toString('utf8')).toBe(fresh);
    const small = new ArrayBuffer(100);
    const grown = callCsvPage(rows, small);
    expect(grown.bytes.buffer).not.toBe(small);
    expect(Buffer.from(grown.bytes).toString('utf8')).toBe(fresh);
  });
});
