import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { signingSecrets } from '../src/domain/destination.js';
import type { DeliveryId, DestinationId, EventId, InvitationId, SourceId, UserId } from '../src/domain/ids.js';
import { createMigrator, migrateToLatest } from '../src/storage/migrations.js';
import { openStorage } from '../src/storage/open.js';
import { backends, endCall, startCall, type Backend } from './support/app.js';

/**
 * A database created by the first release (0001_core) and used since, upgraded to the latest schema: what it
 * held is carried and transformed by every later migration, the app reads and extends it, and its schema ends
 * exactly as a fresh database's. The rows are written as the app of that version wrote them.
 */

const cli = new URL('../dist/cli/index.js', import.meta.url).pathname;
const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');
const token = `sbt_${Buffer.alloc(32, 7).toString('base64url')}`;
const adminKey = `sbk_${Buffer.alloc(32, 9).toString('base64url')}`;
const t0 = Date.parse('2025-11-03T09:00:00Z');
const minute = 60_000;

function connect(backend: Backend, url: string): Kysely<any> {
  return new Kysely<any>({
    dialect: backend.name === 'sqlite'
      ? new SqliteDialect({ database: new SqliteDatabase(url.slice('sqlite:'.length)) })
      : new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
  });
}

async function migrateTo(db: Kysely<any>, backend: Backend, name: string): Promise<void> {
  const { error } = await createMigrator(db, backend.name).migrateTo(name);
  expect(error).toBeUndefined();
}

/** A call row as the 0001 app stored it: JSON as text (JSON.stringify's, escapes and all), booleans as 0/1. */
function callRow(callId: string, fields: Record<string, unknown>) {
  return {
    source_id: 'src_old', call_id: callId, user_id: '12345', widget_key: 'w-eu', widget_name: 'Pricing page', timezone: 'Europe/Stockholm',
    is_delayed_call: 0, status: 'in_progress', first_event_at: t0, last_event_at: t0, event_count: 1, merge_rank: 1, ...fields,
  };
}

/** An accepted event row as the 0001 app stored it: the raw body, its hash (the dedup key) and size. */
function eventRow(id: string, callId: string, type: 'start_call' | 'end_call', body: string, receivedAt: number) {
  return {
    id, source_id: 'src_old', call_id: callId, type, status: 'ok', error_code: null, error_detail: null, content_type: 'application/json',
    body: Buffer.from(body), body_hash: sha256(body), body_size: Buffer.byteLength(body), body_truncated: 0, received_at: receivedAt,
  };
}

const widget = { widget_key: 'w-eu', widget_name: 'Pricing page' };
const liveStart = startCall('call-live', { ...widget, lead: { lead_phone: '+1 (555) 010-2030', lead_name: 'Ada' } });
const doneStart = startCall('call-done', widget);
const doneEnd = endCall('call-done', { ...widget, called_lead_phone: '46 70-123 45 67' });
const badJson = '{"type":"end_call",';

/** call-done's record after its end_call, as the app of 0002 stored it beside that event. */
const doneAfter = {
  source_id: 'src_old', call_id: 'call-done', user_id: '12345', widget_key: 'w-eu', widget_name: 'Pricing page', status: 'answered',
  timezone: 'Europe/Stockholm', is_delayed_call: false, called_lead_phone: '46 70-123 45 67', lead: { lead_phone: 46701234567 },
  agent: { id: 'ag-1', name: 'Agent Smith' }, agent_id: 'ag-1', started_at: t0 + minute, agent_answered_at: t0 + 2 * minute,
  lead_answered_at: t0 + 2 * minute, ended_at: t0 + 5 * minute, answer_duration_sec: 60, lead_answer_duration_sec: 60, talk_duration_sec: 180.5,
  total_duration_sec: 240, disconnected_by: 'agent', recording_link: null, lead_created_at: null, speed_to_lead_sec: 12, time_to_connect_sec: 60,
  first_event_at: t0 + minute, last_event_at: t0 + 5 * minute, event_count: 2, merge_rank: 2,
};

/** Writes, at 0001, what a first-release app held; then, at 0002, its destinations and deliveries. */
async function seedOldDatabase(backend: Backend, url: string): Promise<void> {
  const db = connect(backend, url);
  try {
    await migrateTo(db, backend, '0001_core');
    await db.insertInto('sources').values([
      { id: 'src_old', name: 'Convolo EU', token_hash: sha256(token), token_hint: token.slice(0, 8) + '…', previous_token_hash: null, previous_token_expires_at: null, created_at: t0 - 86_400_000, revoked_at: null },
      { id: 'src_gone', name: 'Trial', token_hash: sha256('sbt_gone'), token_hint: 'sbt_gone…', previous_token_hash: null, previous_token_expires_at: null, created_at: t0 - 86_400_000, revoked_at: t0 - 3_600_000 },
    ]).execute();
    await db.insertInto('api_keys').values({ id: 'key_old', name: 'ops', scope: 'admin', key_hash: sha256(adminKey), key_hint: adminKey.slice(0, 8) + '…', created_at: t0 - 86_400_000, revoked_at: null }).execute();
    await db.insertInto('events').values([
      eventRow('evt_live1', 'call-live', 'start_call', liveStart, t0),
      eventRow('evt_done1', 'call-done', 'start_call', doneStart, t0 + minute),
      eventRow('evt_done2', 'call-done', 'end_call', doneEnd, t0 + 5 * minute),
      // A quarantine record: no call, no hash, the body kept as sent.
      { id: 'evt_bad', source_id: 'src_old', call_id: null, type: null, status: 'quarantined', error_code: 'invalid_json', error_detail: 'Unexpected end of JSON input',
        content_type: 'application/json', body: Buffer.from(badJson), body_hash: null, body_size: badJson.length, body_truncated: 0, received_at: t0 + 6 * minute },
    ]).execute();
    await db.insertInto('calls').values([
      // Still in progress: the stale sweep's partial index (0001's in_progress literal) must find it.
      callRow('call-live', { lead: JSON.stringify({ lead_phone: '+1 (555) 010-2030', lead_name: 'Ada' }) }),
      // Ended; its agent's name holds a lone surrogate, as JSON.stringify wrote it (0008 cleans it).
      callRow('call-done', {
        status: 'answered', merge_rank: 2, event_count: 2, first_event_at: t0 + minute, last_event_at: t0 + 5 * minute,
        called_lead_phone: '46 70-123 45 67', lead: JSON.stringify({ lead_phone: 46701234567 }), agent: JSON.stringify({ id: 'ag-1', name: 'Agent\udc00Smith' }),
        agent_id: 'ag-1', started_at: t0 + minute, agent_answered_at: t0 + 2 * minute, lead_answered_at: t0 + 2 * minute, ended_at: t0 + 5 * minute,
        answer_duration_sec: 60, lead_answer_duration_sec: 60, talk_duration_sec: 180.5, total_duration_sec: 240, disconnected_by: 'agent',
        speed_to_lead_sec: 12, time_to_connect_sec: 60,
      }),
      // A lead with no digits in its phone, and NUL in its name (0008 replaces it).
      callRow('call-odd', { status: 'missed', merge_rank: 2, lead: JSON.stringify({ lead_phone: 'unknown', lead_name: 'Zed\u0000Quill' }) }),
    ]).execute();

    await migrateTo(db, backend, '0002_relay');
    // The record beside an event as the app wrote it from 0002 on: its JSON object. (SQLite now writes a
    // tuple, 2026-12-04; both are read.)
    await db.updateTable('events').set({ call_after: JSON.stringify(doneAfter) }).where('id', '=', 'evt_done2').execute();
    const seqOf = async (id: string) => Number((await db.selectFrom('events').select('seq').where('id', '=', id).executeTakeFirstOrThrow()).seq);
    await db.insertInto('destinations').values({
      id: 'dst_old', url: 'https://hooks.example.com/convolo', description: 'CRM', event_types: null, widget_keys: JSON.stringify(['w-eu']),
      call_statuses: null, headers: JSON.stringify({ 'x-team': 'sales' }), rate_limit_per_sec: 5, secret: 'whsec_b2xkLXNlY3JldA==',
      previous_secret: null, previous_secret_expires_at: null, disabled_at: null, disabled_reason: null, failing_since: null,
      created_at: t0 - 3_600_000, updated_at: t0 - 3_600_000, deleted_at: null,
    }).execute();
    const delivery = (id: string, eventId: string, seq: number, fields: Record<string, unknown>) => ({
      id, destination_id: 'dst_old', event_seq: seq, event_id: eventId, order_key: 'call src_old call-done', status: 'pending', attempts: 0,
      schedule_start: 0, next_attempt_at: t0 + 5 * minute, locked_until: null, last_status: null, last_error: null,
      created_at: t0 + 5 * minute, updated_at: t0 + 5 * minute, finished_at: null, ...fields,
    });
    await db.insertInto('deliveries').values([
      delivery('dlv_sent', 'evt_done1', await seqOf('evt_done1'), { status: 'delivered', attempts: 1, last_status: 200, finished_at: t0 + 2 * minute, created_at: t0 + minute }),
      delivery('dlv_due', 'evt_done2', await seqOf('evt_done2'), { attempts: 1, last_status: 503, last_error: 'HTTP 503', next_attempt_at: t0 + 6 * minute }),
    ]).execute();
    await db.insertInto('delivery_attempts').values([
      { delivery_id: 'dlv_sent', attempt: 1, attempted_at: t0 + 2 * minute, status: 200, latency_ms: 41.5, response_body: 'ok', error: null },
      { delivery_id: 'dlv_due', attempt: 1, attempted_at: t0 + 5 * minute, status: 503, latency_ms: 120, response_body: 'busy', error: null },
    ]).execute();
  } finally {
    await db.destroy();
  }
}

/** Tables, columns, indexes and keys as the database itself describes them (no generated names). */
async function describeSchema(backend: Backend, db: Kysely<any>): Promise<unknown> {
  if (backend.name === 'sqlite') {
    return (await sql`select type, name, tbl_name, sql from sqlite_master where name != 'sqlite_sequence' order by type, name`.execute(db)).rows;
  }
  const columns = await sql`select table_name, column_name, ordinal_position, data_type, is_nullable, column_default, is_identity
    from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position`.execute(db);
  const indexes = await sql`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname`.execute(db);
  const keys = await sql`select table_name, constraint_name, constraint_type from information_schema.table_constraints
    where table_schema = 'public' and constraint_type in ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') order by constraint_name`.execute(db);
  const storage = await sql`select relname, reloptions from pg_class
    where relnamespace = 'public'::regnamespace and relkind = 'r' and reloptions is not null order by relname`.execute(db);
  return { columns: columns.rows, indexes: indexes.rows, keys: keys.rows, storage: storage.rows };
}

const later = ['0002_relay', '0003_call_queries', '0004_stats_time', '0005_reprocess', '0006_stats_cover', '0007_fair_claims', '0008_well_formed_json', '0009_users_sessions', '0010_settings', '0011_stats_disconnected_by', '0012_paused_destinations', '0013_reconcile', '0014_sequencer', '0015_deliveries_planning', '0016_call_record_form', '0017_events_by_call_row', '0018_event_order', '0019_delivery_queue', '0020_no_in_progress_index', '0021_previous_secrets', '0022_invitation_inviter', '0023_destination_pace', '0024_log_id'];

describe.each(backends)('upgrading a $name database created by 0001_core', (backend) => {
  it('carries its sources, keys, events, calls, destinations and deliveries through every later migration', async () => {
    const url = await backend.freshDb();
    await seedOldDatabase(backend, url);

    const storage = await openStorage(url);
    try {
      expect(await storage.migrate()).toEqual(later.slice(1));
      await storage.checkReady();

      // 0001's rows, read by today's code.
      expect(await storage.sources.get('src_old' as SourceId)).toMatchObject({ name: 'Convolo EU', revokedAt: null });
      expect(await storage.sources.findByTokenHash(sha256(token), t0)).toMatchObject({ id: 'src_old' });
      expect(await storage.sources.findByTokenHash(sha256('sbt_gone'), t0)).toBeNull();
      expect(await storage.keys.findActiveByHash(sha256(adminKey))).toMatchObject({ id: 'key_old', scope: 'admin' });
      const live = await storage.calls.get('call-live', 'src_old' as SourceId);
      expect(live).toMatchObject({ status: 'in_progress', lead: { lead_phone: '+1 (555) 010-2030', lead_name: 'Ada' }, is_delayed_call: false, event_count: 1 });
      expect(await storage.calls.staleCandidates(t0 + 60 * minute, 10)).toEqual([{ sourceId: 'src_old', callId: 'call-live' }]);
      const started = await storage.events.get('evt_live1' as EventId);
      expect(started).toMatchObject({ callId: 'call-live', type: 'start_call', status: 'ok', receivedAt: t0, callAfter: null, bodySize: Buffer.byteLength(liveStart) });
      expect(Buffer.from(started!.body!).toString()).toBe(liveStart);
      expect((await storage.events.list({ limit: 10 })).map((e) => e.id)).toEqual(['evt_bad', 'evt_done2', 'evt_done1', 'evt_live1']);

      // 0003 filled the phone digits of the calls it found, so phone= finds them whatever their formatting.
      expect((await storage.callQueries.list({ phoneDigits: '15550102030' }, null, 10)).map((c) => c.call_id)).toEqual(['call-live']);
      expect((await storage.callQueries.list({ phoneDigits: '46701234567' }, null, 10)).map((c) => c.call_id)).toEqual(['call-done']);
      expect((await storage.callQueries.list({ status: 'answered' }, null, 10)).map((c) => c.call_id)).toEqual(['call-done']);

      // 0004/0006: the stats read the old calls (the covering index replaced the first one: see the schema test).
      const [day] = await storage.stats.ranges([{ key: 'day', from: t0 - 3_600_000, to: t0 + 3_600_000 }]);
      expect(day).toMatchObject({ calls: 3, answered: 1, talk_sum: 180.5, talk_count: 1 });

      // 0005: the quarantine record has no reprocessed event yet.
      const [quarantined] = await storage.events.list({ status: 'quarantined', limit: 10 });
      expect(quarantined).toMatchObject({ id: 'evt_bad', errorCode: 'invalid_json', reprocessedInto: null });

      // 0007: the destination has no cap of its own; its due delivery is claimed through the new per-destination index.
      expect(await storage.destinations.get('dst_old' as DestinationId)).toMatchObject({ maxConcurrency: null, pausedAt: null, rateLimitPerSec: 5, widgetKeys: ['w-eu'], headers: { 'x-team': 'sales' } });
      expect((await storage.deliveries.get('dlv_sent' as DeliveryId))?.attemptLog).toEqual([
        { attempt: 1, attemptedAt: t0 + 2 * minute, status: 200, latencyMs: 41.5, responseBody: 'ok', error: null },
      ]);
      const claimed = await storage.deliveries.claim(t0 + 10 * minute, 10, 30_000);
      expect(claimed.map((d) => ({ id: d.id, attempts: d.attempts, lastStatus: d.lastStatus }))).toEqual([{ id: 'dlv_due', attempts: 1, lastStatus: 503 }]);

      // 0008: the escapes PostgreSQL's jsonb refuses became U+FFFD; the rest of the JSON is as it was.
      expect((await storage.calls.get('call-done', 'src_old' as SourceId))?.agent).toEqual({ id: 'ag-1', name: 'Agent\ufffdSmith' });
      expect((await storage.calls.get('call-odd', 'src_old' as SourceId))?.lead).toEqual({ lead_phone: 'unknown', lead_name: 'Zed\ufffdQuill' });
    } finally {
      await storage.close();
    }

    const db = connect(backend, url);
    try {
      // 0015: room on the deliveries' pages for the claim's HOT update, and their statistics' distinct values (PostgreSQL only).
      if (backend.name === 'postgres') {
        const { rows } = await sql<{ reloptions: string[] | null }>`select reloptions from pg_class where oid = 'deliveries'::regclass`.execute(db);
        expect(rows[0]?.reloptions).toEqual(['fillfactor=70']);
        const { rows: columns } = await sql<{ attname: string; attoptions: string[] | null }>`select attname, attoptions from pg_attribute
          where attrelid = 'deliveries'::regclass and attoptions is not null order by attname`.execute(db);
        expect(columns).toEqual([
          { attname: 'event_id', attoptions: ['n_distinct=-0.05'] },
          { attname: 'order_key', attoptions: ['n_distinct=-0.05'] },
        ]);
      }
      const digits = await db.selectFrom('calls').select(['call_id', 'lead_phone_digits', 'called_phone_digits']).orderBy('call_id').execute();
      expect(digits).toEqual([
        { call_id: 'call-done', lead_phone_digits: '46701234567', called_phone_digits: '46701234567' },
        { call_id: 'call-live', lead_phone_digits: '15550102030', called_phone_digits: null },
        { call_id: 'call-odd', lead_phone_digits: null, called_phone_digits: null },
      ]);
    } finally {
      await db.destroy();
    }
  });

  it('serves the upgraded data: the old token ingests, the old key reads, the call merges and the old destination gets its delivery', async () => {
    const url = await backend.freshDb();
    await seedOldDatabase(backend, url);
    const logs: string[] = [];
    const app = await createApp(loadConfig({}, { db: url, host: '127.0.0.1', port: 0, logLevel: 'info', role: 'api' }), { logger: { stream: { write: (line: string) => void logs.push(line) } } });
    try {
      expect(await app.prepare()).toBeNull(); // migrated, and not a first start: nothing bootstrapped
      // PostgreSQL keeps the call record's earlier form for nodes of earlier versions, and says how to move on.
      expect(logs.some((l) => l.includes('switchboard migrate --compact-records'))).toBe(backend.name === 'postgres');
      const { baseUrl } = await app.listen();
      const body = endCall('call-live', { ...widget, lead: { lead_phone: '+1 (555) 010-2030', lead_name: 'Ada' } });
      const posted = await fetch(`${baseUrl}/hooks/convolo/${token}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      expect(posted.status).toBe(200);
      // The bytes of a start_call stored at 0001, again: a duplicate, found through 0001's index.
      expect((await fetch(`${baseUrl}/hooks/convolo/${token}`, { method: 'POST', body: liveStart, headers: { 'content-type': 'application/json' } })).status).toBe(200);
      const read = async (path: string) => {
        const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${adminKey}` } });
        expect(response.status, path).toBe(200);
        return (await response.json()) as any;
      };
      expect(await read('/v1/calls/call-live')).toMatchObject({ call_id: 'call-live', status: 'answered', event_count: 2 });
      const timeline = (await read('/v1/events?call_id=call-live')).data as Array<{ id: string; seq: number }>;
      expect(timeline).toHaveLength(2);
      const [newest, oldest] = timeline;
      expect(oldest!.id).toBe('evt_live1');
      expect(newest!.seq).toBeGreaterThan(oldest!.seq);
      // The seq goes on after the quarantine record too: never reused.
      const bad = await app.storage.events.get('evt_bad' as EventId);
      expect(newest!.seq).toBeGreaterThan(bad!.seq);
      // The record beside each event, read from the form it was stored in: the old event's JSON object, and the
      // new one's tuple on SQLite (an object on PostgreSQL: docs/scale-out.md, upgrades).
      expect((await app.storage.events.get('evt_done2' as EventId))?.callAfter).toEqual(doneAfter);
      const stored = await app.storage.events.get(newest!.id as EventId);
      expect(stored?.callAfter).toMatchObject({ call_id: 'call-live', status: 'answered', event_count: 2, merge_rank: 2, lead: { lead_phone: '+1 (555) 010-2030', lead_name: 'Ada' } });
      // 0017: a call that is new since the upgrade is keyed by its first event's seq on SQLite, the old call by
      // call_id still; both dedupe and read alike.
      const fresh = startCall('call-new', widget);
      const created = await fetch(`${baseUrl}/hooks/convolo/${token}`, { method: 'POST', body: fresh, headers: { 'content-type': 'application/json' } });
      const { id: freshId } = (await created.json()) as { id: string };
      const again = await fetch(`${baseUrl}/hooks/convolo/${token}`, { method: 'POST', body: fresh, headers: { 'content-type': 'application/json' } });
      expect(await again.json()).toEqual({ ok: true, id: freshId, duplicate: true });
      expect((await read('/v1/calls/call-new')).events.map((e: { id: string }) => e.id)).toEqual([freshId]);
      expect((await read('/v1/calls/call-live')).events.map((e: { id: string }) => e.id)).toEqual([oldest!.id, newest!.id]);
      const db = connect(backend, url);
      try {
        if (backend.name === 'sqlite') {
          const keys = await sql<{ call_id: string; first_seq: number | null }>`select call_id, first_seq from calls where call_id in ('call-live', 'call-new') order by call_id`.execute(db);
          const freshSeq = (await app.storage.events.get(freshId as EventId))!.seq;
          expect(keys.rows).toEqual([{ call_id: 'call-live', first_seq: null }, { call_id: 'call-new', first_seq: freshSeq }]);
        }
        const raw = await db.selectFrom('events').select('call_after').where('id', '=', newest!.id).executeTakeFirstOrThrow();
        expect(raw.call_after[0]).toBe(backend.name === 'sqlite' ? '[' : '{');
        if (backend.name === 'postgres') {
          // Once every node runs this version, the operator switches PostgreSQL to the tuple (0016).
          expect(await app.storage.callRecordForm()).toBe('object');
          const switched = spawnSync(process.execPath, [cli, 'migrate', '--db', url, '--compact-records'], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 20_000 });
          expect(switched.stdout).toContain('New events store their call record in the compact form.');
          expect(await app.storage.callRecordForm()).toBe('tuple');
          const next = endCall('call-next', { ...widget, lead: { lead_phone: '+46 70 000 00 00' } });
          expect((await fetch(`${baseUrl}/hooks/convolo/${token}`, { method: 'POST', body: next, headers: { 'content-type': 'application/json' } })).status).toBe(200);
          const [latest] = (await read('/v1/events?call_id=call-next')).data as Array<{ id: string }>;
          const { call_after: text } = await db.selectFrom('events').select('call_after').where('id', '=', latest!.id).executeTakeFirstOrThrow();
          expect(text[0]).toBe('[');
          expect((await app.storage.events.get(latest!.id as EventId))?.callAfter).toMatchObject({ call_id: 'call-next', status: 'answered', widget_key: 'w-eu', lead: { lead_phone: '+46 70 000 00 00' } });
        }
      } finally {
        await db.destroy();
      }
      const deliveries = await app.storage.deliveries.list({ destinationId: 'dst_old' as DestinationId, limit: 10 });
      expect(deliveries.find((d) => d.eventId === newest!.id)).toMatchObject({ status: 'pending', attempts: 0 });
    } finally {
      await app.close();
    }
  });

  it('0021: reads the one previous secret of 0020, and what a node of 0020 rotates beside this version during a rolling upgrade', async () => {
    const url = await backend.freshDb();
    const db = connect(backend, url);
    const secret = (n: number) => `whsec_${Buffer.alloc(24, n).toString('base64')}`;
    const now = Date.now();
    const hour = 3_600_000;
    /** A rotation as the app of 0020 wrote it: the current secret into the one slot, the new one current. */
    const rotateAt0020 = (on: Kysely<any>, next: string, expiresAt: number) => on.updateTable('destinations')
      .set({ previous_secret: sql.ref('secret'), previous_secret_expires_at: expiresAt, secret: next, updated_at: now }).where('id', '=', 'dst_old').execute();
    try {
      await migrateTo(db, backend, '0020_no_in_progress_index');
      await db.insertInto('destinations').values({
        id: 'dst_old', url: 'https://hooks.example.com/convolo', description: null, event_types: null, widget_keys: null, call_statuses: null, headers: null,
        rate_limit_per_sec: null, max_concurrency: null, secret: secret(1), previous_secret: null, previous_secret_expires_at: null, disabled_at: null,
        disabled_reason: null, failing_since: null, paused_at: null, created_at: now, updated_at: now, deleted_at: null,
      }).execute();
      await rotateAt0020(db, secret(2), now + 2 * hour);
      await migrateTo(db, backend, '0021_previous_secrets');
    } finally {
      await db.destroy();
    }

    const storage = await openStorage(url);
    const reopened = connect(backend, url);
    try {
      const id = 'dst_old' as DestinationId;
      expect(await storage.migrate()).toEqual(later.slice(later.indexOf('0021_previous_secrets') + 1));
      expect((await storage.destinations.get(id))?.previousSecrets).toEqual([{ secret: secret(1), expiresAt: now + 2 * hour }]);
      // A rotation of this version keeps it, and writes the newest previous secret in the slot 0020 signs with.
      await storage.destinations.rotateSecret(id, secret(3), now + 3 * hour, now);
      const row = await reopened.selectFrom('destinations').select(['previous_secret', 'previous_secret_expires_at']).where('id', '=', 'dst_old').executeTakeFirstOrThrow();
      expect({ ...row, previous_secret_expires_at: Number(row.previous_secret_expires_at) }).toEqual({ previous_secret: secret(2), previous_secret_expires_at: now + 3 * hour });
      // A node of 0020 still running rotates: its one slot, read here as the newest, before the list.
      const db0020 = connect(backend, url);
      try {
        await rotateAt0020(db0020, secret(4), now + 4 * hour);
      } finally {
        await db0020.destroy();
      }
      const destination = await storage.destinations.get(id);
      expect(destination).toMatchObject({
        secret: secret(4),
        previousSecrets: [{ secret: secret(3), expiresAt: now + 4 * hour }, { secret: secret(2), expiresAt: now + 3 * hour }, { secret: secret(1), expiresAt: now + 2 * hour }],
      });
      expect(signingSecrets(destination!, now + 2.5 * hour)).toEqual([secret(4), secret(3), secret(2)]);
    } finally {
      await reopened.destroy();
      await storage.close();
    }
  });

  it('0022: an invitation of 0021 has no inviter and keeps working; removing a user ends only what they created since', async () => {
    const url = await backend.freshDb();
    const db = connect(backend, url);
    const now = Date.now();
    try {
      await migrateTo(db, backend, '0021_previous_secrets');
      await db.insertInto('invitations').values({ id: 'inv_old', token_hash: 'h-old', email: 'old@example.com', role: 'admin', created_at: now, expires_at: now + 3_600_000, used_at: null }).execute();
    } finally {
      await db.destroy();
    }
    const storage = await openStorage(url);
    try {
      expect(await storage.migrate()).toEqual(later.slice(later.indexOf('0022_invitation_inviter')));
      expect(await storage.invitations.findPending('h-old', now)).toMatchObject({ id: 'inv_old', createdBy: null });
      await storage.users.create({ id: 'usr_a' as UserId, email: 'a@example.com', name: null, role: 'admin', createdAt: now, passwordHash: 'x' });
      await storage.users.create({ id: 'usr_b' as UserId, email: 'b@example.com', name: null, role: 'admin', createdAt: now, passwordHash: 'x' });
      await storage.invitations.create({ id: 'inv_new' as InvitationId, tokenHash: 'h-new', email: 'new@example.com', role: 'viewer', createdAt: now, expiresAt: now + 3_600_000, createdBy: 'usr_a' as UserId });
      expect(await storage.users.remove('usr_a')).toBe('removed');
      expect(await storage.invitations.findPending('h-new', now)).toBeNull();
      expect(await storage.invitations.findPending('h-old', now)).toMatchObject({ id: 'inv_old' });
    } finally {
      await storage.close();
    }
  });

  it('0024: gives a database of 0023 its log id, a new database its own, and neither changes across restarts', async () => {
    const logIdOf = async (url: string) => {
      const storage = await openStorage(url);
      try {
        await storage.migrate();
        return await storage.events.logId();
      } finally {
        await storage.close();
      }
    };
    const url = await backend.freshDb();
    const db = connect(backend, url);
    try {
      await migrateTo(db, backend, '0023_destination_pace');
      await db.insertInto('sources').values({ id: 'src_old', name: 'Convolo EU', token_hash: sha256(token), token_hint: 'sbt_…', previous_token_hash: null, previous_token_expires_at: null, created_at: t0, revoked_at: null }).execute();
    } finally {
      await db.destroy();
    }
    const upgraded = await logIdOf(url);
    expect(upgraded).toMatch(/^log_[0-9a-z]{9}[0-9A-Za-z_-]{12}$/);
    expect(await logIdOf(url)).toBe(upgraded);
    const freshUrl = await backend.freshDb();
    const fresh = await logIdOf(freshUrl);
    expect(fresh).toMatch(/^log_[0-9a-z]{9}[0-9A-Za-z_-]{12}$/);
    expect(fresh).not.toBe(upgraded);
    expect(await logIdOf(freshUrl)).toBe(fresh);
  });

  it('is refused by a version before 0016, which would misread its call records; a new PostgreSQL database stores them compact at once', async () => {
    const db = connect(backend, await backend.freshDb());
    try {
      await migrateTo(db, backend, later.at(-1)!);
      // What a version before 0016 knows: the migrations before it (their `up`s are not run).
      const known = Object.fromEntries(['0001_core', ...later.slice(0, later.indexOf('0016_call_record_form'))].map((name) => [name, { up: async () => {} }]));
      const earlier = new Migrator({ db, provider: { getMigrations: async () => known }, migrationTableName: 'switchboard_migrations', migrationLockTableName: 'switchboard_migrations_lock' });
      const { error } = await earlier.migrateToLatest();
      expect(String(error)).toContain('previously executed migration 0016_call_record_form is missing');
      if (backend.name === 'postgres') {
        // No source, no event: no node has used this database, so none of an earlier version can be reading it.
        expect((await sql<{ form: string }>`select form from switchboard_record_form`.execute(db)).rows).toEqual([{ form: 'tuple' }]);
      }
    } finally {
      await db.destroy();
    }
  });

  it('a database a newer version migrated: start refuses it saying so, naming the unknown migrations, and changes nothing', async () => {
    const url = await backend.freshDb();
    const db = connect(backend, url);
    try {
      await migrateToLatest(db, backend.name);
      await db.insertInto('switchboard_migrations').values({ name: '0999_from_a_newer_version', timestamp: new Date().toISOString() }).execute();
      const app = await createApp(loadConfig({}, { db: url, logLevel: 'silent' }), { logger: false });
      try {
        const error = await app.prepare().then(() => null, (e: unknown) => e as Error);
        expect(error?.message).toMatch(/migrated by a newer version of Switchboard/);
        expect(error?.message).toContain('0999_from_a_newer_version');
        // Not "corrupted": nothing is wrong with the database, this version is older than it.
        expect(error?.message).not.toMatch(/corrupt/);
      } finally {
        await app.close();
      }
      expect((await db.selectFrom('switchboard_migrations').select('name').execute()).map((r) => r.name)).toContain('0999_from_a_newer_version');
    } finally {
      await db.destroy();
    }
  });

  it('applies an upgrade whole or not at all: a migration that fails leaves the database as it was, on either backend', async () => {
    const url = await backend.freshDb();
    const db = connect(backend, url);
    try {
      await migrateTo(db, backend, '0021_previous_secrets');
      // 0023 adds this column: with it already there, 0023 fails after 0022 has run.
      await db.schema.alterTable('destinations').addColumn('pace_next_at', 'double precision').execute();
    } finally {
      await db.destroy();
    }
    const storage = await openStorage(url);
    try {
      await expect(storage.migrate()).rejects.toThrow(/Migration failed/);
    } finally {
      await storage.close();
    }
    const after = connect(backend, url);
    try {
      const names = (await after.selectFrom('switchboard_migrations').select('name').execute()).map((r) => r.name);
      expect(names.at(-1), 'no migration of the failed upgrade recorded').toBe('0021_previous_secrets');
      // 0022's column, added before 0023 failed, is gone with it: the next start runs 0022 again on the schema it expects.
      const columns = backend.name === 'sqlite'
        ? (await sql<{ name: string }>`select name from pragma_table_info('invitations')`.execute(after)).rows
        : (await sql<{ name: string }>`select column_name as name from information_schema.columns where table_name = 'invitations'`.execute(after)).rows;
      expect(columns.map((c) => c.name)).not.toContain('created_by');
    } finally {
      await after.destroy();
    }
  });

  it('ends with the same tables, columns, indexes and keys as a database migrated fresh', async () => {
    const upgradedUrl = await backend.freshDb();
    await seedOldDatabase(backend, upgradedUrl);
    const upgraded = connect(backend, upgradedUrl);
    const fresh = connect(backend, await backend.freshDb());
    try {
      await migrateTo(upgraded, backend, later.at(-1)!);
      await migrateTo(fresh, backend, later.at(-1)!);
      const [a, b] = [await describeSchema(backend, upgraded), await describeSchema(backend, fresh)];
      expect(a).toEqual(b);
      const text = JSON.stringify(a);
      for (const name of ['calls_stats_cover', 'calls_status_list', 'calls_lead_phone', 'deliveries_destination_due', 'max_concurrency', 'reprocessed_into']) {
        expect(text).toContain(name);
      }
      for (const gone of ['calls_stats_time', 'calls_stats"', 'deliveries_due', 'calls_in_progress']) expect(text).not.toContain(gone);
    } finally {
      await Promise.all([upgraded.destroy(), fresh.destroy()]);
    }
  });
});
