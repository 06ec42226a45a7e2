import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { callCsvPage, callCsvSelect } from '../shared/call-csv.js';
import { csvRows } from './csv-rows.js';

const types: Record<string, string> = {
  event_count: 'integer', is_delayed_call: 'integer', answer_duration_sec: 'double precision', lead_answer_duration_sec: 'double precision',
  talk_duration_sec: 'double precision', total_duration_sec: 'double precision',
};
const times = ['first_event_at', 'last_event_at', 'started_at', 'agent_answered_at', 'lead_answered_at', 'ended_at', 'lead_created_at', 'speed_to_lead_sec', 'time_to_connect_sec'];

/** The export's select as Kysely compiles it (call-queries.ts), over a table with the columns' declared types. */
function exportDb(): { db: BetterSqlite3.Database; sql: string; insert: (values: unknown[]) => void } {
  const db = new BetterSqlite3(':memory:');
  db.exec(`create table "calls" (${callCsvSelect.map((c) => `"${c}" ${types[c] ?? (times.includes(c) ? 'bigint' : 'text')}`).join(', ')})`);
  const insert = db.prepare(`insert into "calls" values (${callCsvSelect.map(() => '?').join(', ')})`);
  const sql = `select ${callCsvSelect.map((c) => `"${c}"`).join(', ')} from "calls" order by "first_event_at" desc`;
  return { db, sql, insert: (values) => void insert.run(...values) };
}

describe('the export page read packed on SQLite', () => {
  const values = (i: number, text: unknown, number: unknown) =>
    callCsvSelect.map((c, k) =>
      c === 'first_event_at' ? 1_796_228_073_248 - i
      : c === 'lead' ? JSON.stringify({ lead_phone: `+46 ${i}`, custom_params: { t: text } })
      : c === 'agent' ? (i % 2 ? null : JSON.stringify({ id: i, name: text }))
      : times.includes(c) || types[c] === 'integer' ? (k % 3 === 0 ? null : i * 1_000_003)
      : types[c] ? number
      : text,
    );
  const texts = ['plain', 'a,"b"\r\n', '=1+1', ' -2', 'Försäljning 電話 😀', '\u0000nul', '\u007f\u2028\u2029', 'back\\slash', '\ud800lone', '', null];
  const numbers = [0, -0, 8, 96.5, 0.1 + 0.2, 1 / 3, 1e21, 1e-7, -2.5, 2 ** 60, 1.7976931348623157e308, Infinity, null];

  it('gives the same bytes as reading each column, for text and numbers of every kind', () => {
    const { db, sql, insert } = exportDb();
    let i = 0;
    for (const text of texts) for (const number of numbers) insert(values(i++, text, number));
    insert(values(i++, '9007199254740993', 2 ** 63));
    db.prepare(`update "calls" set "event_count" = 9007199254740993 where "call_id" = '9007199254740993'`).run();
    const used: string[] = [];
    const prepare = (s: string) => (used.push(s), db.prepare(s));
    const direct = db.prepare(sql);
    const packed = callCsvPage(csvRows(prepare, sql, direct, []));
    expect(used).toEqual([expect.stringMatching(/^select json_array\(/)]);
    expect(packed.rows).toBe(texts.length * numbers.length + 1);
    expect(Buffer.from(packed.bytes).toString('hex')).toBe(Buffer.from(callCsvPage(direct.raw(true).all() as unknown[][]).bytes).toString('hex'));
  });

  it('reads the columns one by one when one holds a BLOB, which JSON cannot', () => {
    const { db, sql, insert } = exportDb();
    insert(values(1, 'plain', 8));
    insert(values(2, 'text', 1.5).map((v, k) => (callCsvSelect[k] === 'widget_name' ? Buffer.from('blob €') : v)));
    const direct = db.prepare(sql);
    const page = callCsvPage(csvRows((s) => db.prepare(s), sql, direct, []));
    expect(page.rows).toBe(2);
    expect(Buffer.from(page.bytes).toString('utf8')).toContain(',blob €,');
    expect(Buffer.from(page.bytes).equals(Buffer.from(callCsvPage(direct.raw(true).all() as unknown[][]).bytes))).toBe(true);
  });
});
