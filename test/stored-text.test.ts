import { Writable } from 'node:stream';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { SourceId } from '../src/domain/ids.js';
import { createMigrator } from '../src/storage/migrations.js';
import { openStorage } from '../src/storage/open.js';
import type { Storage } from '../src/storage/ports.js';
import { backends, endCall, fixtures, startTestApp, type Backend } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';

/**
 * Call records written before the record was made well-formed (or by an older node during an upgrade) may
 * hold, in their lead and agent JSON, the escapes of NUL and of lone surrogates that PostgreSQL's jsonb
 * refuses. No query may fail because of them, a migration cleans them, and a database error that quotes a
 * row never reaches the log with the row.
 */

function connect(backend: Backend, url: string): Kysely<any> {
  return new Kysely<any>({
    dialect: backend.name === 'sqlite'
      ? new SqliteDialect({ database: new SqliteDatabase(url.slice('sqlite:'.length)) })
      : new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
  });
}

/** JSON text as JSON.stringify wrote it before: `\u0000` and lone-surrogate escapes, and an escaped backslash. */
const badLead = JSON.stringify({ lead_name: 'Zed\u0000Quill', lead_email: 'zed@example.com', '\ud800': 'key', note: 'back\\u0000slash' });
const badAgent = JSON.stringify({ id: 'ag-1', name: 'Agent\udc00Smith' });

describe.each(backends)('stored text on $name', (backend) => {
  it('answers q searches and per-agent stats when stored records hold NUL and lone-surrogate escapes', async () => {
    const url = await backend.freshDb();
    const t = await startTestApp(url);
    try {
      const now = new Date().toISOString();
      for (const id of ['fine-1', 'fine-2', 'old-bad']) {
        expect((await t.post(endCall(id, { time_started_iso_string: now, agent: { id: 'ag-1', name: 'Agent' } }))).status).toBe(200);
      }
      // As an older node would have written it, after the migrations ran.
      const db = connect(backend, url);
      await db.updateTable('calls').set({ lead: badLead, agent: badAgent }).where('call_id', '=', 'old-bad').execute();
      await db.destroy();

      const none = await t.api('/v1/calls?q=nothing-matches-this');
      expect(none.status, JSON.stringify(none.body)).toBe(200);
      expect(none.body.data).toEqual([]);
      const found = await t.api('/v1/calls?q=zed');
      expect(found.status, JSON.stringify(found.body)).toBe(200);
      expect(found.body.data.map((c: { call_id: string }) => c.call_id)).toEqual(['old-bad']);
      const agents = await t.api('/v1/stats?group_by=agent');
      expect(agents.status, JSON.stringify(agents.body)).toBe(200);
      expect(agents.body.buckets).toHaveLength(1);
      expect(agents.body.buckets[0]).toMatchObject({ key: 'ag-1', calls: 3 });
      // The most recent name is the rewritten row's, its lone surrogate read as U+FFFD (SQLite makes three).
      expect(agents.body.buckets[0].name).toMatch(/^Agent\ufffd+Smith$/u);
      for (const path of ['/v1/calls', '/v1/calls.csv?q=zed', '/v1/calls/old-bad']) expect((await t.api(path)).status, path).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('cleans the lead and agent of calls stored before migration 0008, keeping escaped backslashes', async () => {
    const url = await backend.freshDb();
    const db = connect(backend, url);
    const { error } = await createMigrator(db, backend.name).migrateTo('0007_fair_claims');
    expect(error).toBeUndefined();
    const row = (callId: string, lead: string | null, agent: string | null) => ({
      source_id: 'src_old', call_id: callId, status: 'answered', lead, agent, first_event_at: 1, last_event_at: 1, event_count: 1, merge_rank: 2,
    });
    const fineLead = JSON.stringify({ lead_name: 'Ann', note: 'tab\there \\u0000 stays', ctl: '\u0001' });
    await db.insertInto('calls').values([row('old-1', badLead, badAgent), row('old-2', fineLead, null), row('old-3', null, null)]).execute();
    await db.destroy();

    let storage: Storage | undefined;
    try {
      storage = await openStorage(url);
      // 0008 first, then whatever came after it.
      expect((await storage.migrate())[0]).toBe('0008_well_formed_json');
      const cleaned = await storage.calls.get('old-1', 'src_old' as SourceId);
      expect(cleaned?.lead).toEqual({ lead_name: 'Zed\ufffdQuill', lead_email: 'zed@example.com', '\ufffd': 'key', note: 'back\\u0000slash' });
      expect(cleaned?.agent).toEqual({ id: 'ag-1', name: 'Agent\ufffdSmith' });
      expect((await storage.calls.get('old-2', 'src_old' as SourceId))?.lead).toEqual(JSON.parse(fineLead));
      expect((await storage.calls.get('old-3', 'src_old' as SourceId))?.lead).toBeNull();
    } finally {
      await storage?.close();
    }
  });

  it('answers 400 invalid_request to a NUL (%00) anywhere in the URL of a read, never a 500', async () => {
    const t = await startTestApp(await backend.freshDb());
    try {
      for (const path of ['/v1/calls?q=a%00b', '/v1/nowhere/a%00b', '/v1/calls?status=x%00', '/v1/calls/a%00b', '/v1/events?call_id=a%00', '/v1/events/evt_%00', '/v1/calls.csv?q=%00x']) {
        const answer = await t.api(path);
        expect({ path, status: answer.status, error: answer.body.error }).toEqual({ path, status: 400, error: 'invalid_request' });
      }
      // `%2500` is the text %00, not NUL.
      expect((await t.api('/v1/calls?q=%2500')).status).toBe(200);
      // An ingest URL keeps its contract: a token holding NUL is unknown.
      expect(await t.post(fixtures.endCall, 'application/json', `${t.baseUrl}/hooks/convolo/sbt_%00`)).toMatchObject({ status: 404, body: { error: 'unknown_source' } });
    } finally {
      await t.close();
    }
  });

  it('answers 400 invalid_request to a JSON body holding NUL in a string or key (keys, sources, destinations), never a 500', async () => {
    const t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: 'true' });
    try {
      const bodies: Array<[string, unknown]> = [
        ['/v1/keys', { name: 'a\u0000', scope: 'read' }],
        ['/v1/sources', { name: '\u0000' }],
        ['/v1/destinations', { url: 'http://127.0.0.1:9/x', description: 'd\u0000' }],
        ['/v1/destinations', { url: 'http://127.0.0.1:9/x', headers: { 'x-a\u0000': 'v' } }],
      ];
      for (const [path, body] of bodies) {
        const answer = await t.request('POST', path, body);
        expect({ path, status: answer.status, error: answer.body.error }).toEqual({ path, status: 400, error: 'invalid_request' });
      }
      expect((await t.api('/v1/keys')).body.data).toHaveLength(1);
      // The ingest keeps what the sender sent, NUL included.
      expect((await t.post(endCall('with-nul', { widget_name: 'W\u0000' }))).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('logs a failed read with the database error code and message, not the row the error quoted', async () => {
    // A real DatabaseError from PostgreSQL, as the jsonb cast of a stored lead raised it before.
    const client = new pg.Client(await freshPgDatabase());
    await client.connect();
    const failure = await client.query('select $1::jsonb ->> \'x\'', ['{"lead_name":"Ada Lovelace","lead_phone":"+46701234567","x":"\\u0000"}']).then(
      () => null,
      (e: unknown) => e,
    );
    await client.end();
    expect(failure).toMatchObject({ code: '22P05' });
    expect(JSON.stringify(failure)).toContain('46701234567'); // what the old log line carried (its `where`)

    const lines: string[] = [];
    const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(chunk.toString()); done(); } });
    const t = await startTestApp(await backend.freshDb(), {}, {
      logger: { level: 'error', stream },
      wrapStorage: (s) => ({ ...s, callQueries: { ...s.callQueries, list: () => Promise.reject(failure) } }),
    });
    try {
      const answer = await t.api('/v1/calls?q=ada');
      expect(answer).toMatchObject({ status: 500, body: { error: 'internal' } });
    } finally {
      await t.close();
    }
    const logged = lines.join('');
    expect(logged).toContain('22P05');
    expect(logged).toContain('unsupported Unicode escape sequence');
    expect(logged).not.toContain('46701234567');
    expect(logged).not.toContain('Lovelace');
  });
});
