import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/admin/credentials.js';
import { eventsOfCall } from '../src/storage/shared/events-of-call.js';
import type { Database } from '../src/storage/schema.js';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { startReceiver, type Receiver } from './support/receiver.js';

/**
 * A call's events of every kind, read by call: SQLite keys the events that write their call by the call's
 * first seq and the others by call_id (migration 0017, storage/shared/events-of-call.ts); every read by call
 * must find both, and every repeat must still be found, on both backends.
 */
const bodies = {
  transferred: JSON.stringify({ type: 'call_transferred', call_id: 'mix-1', to: 'agent 2' }),
  start: startCall('mix-1'),
  note: JSON.stringify({ type: 'call_note', call_id: 'mix-1', note: 'called back' }),
  end: endCall('mix-1', { call_status: 'answered' }),
};

interface Scenario {
  t: TestApp;
  receiver: Receiver;
  db: string;
  other: { id: string; token: string };
  ids: Record<keyof typeof bodies | 'elsewhere', string>;
  close(): Promise<void>;
}

/**
 * One call's events of every kind, with a destination: another type before the call exists, its start,
 * another type after, its end; then the same call_id from another source (another call).
 */
async function scenario(db: string): Promise<Scenario> {
  const receiver = await startReceiver();
  const t = await startTestApp(db, { allowPrivateDestinations: true } as never);
  expect((await t.request('POST', '/v1/destinations', { url: receiver.url })).status).toBe(201);
  const other = await createSource(t.app.storage, 'second', Date.now());
  const ids = {} as Scenario['ids'];
  for (const [name, body] of Object.entries(bodies)) {
    const answer = await t.post(body);
    expect(answer.status).toBe(name === 'start' || name === 'end' ? 200 : 202);
    ids[name as keyof typeof bodies] = answer.body.id;
  }
  const elsewhere = await t.post(startCall('mix-1'), 'application/json', `${t.baseUrl}/hooks/convolo/${other.token}`);
  expect(elsewhere.status).toBe(200);
  ids.elsewhere = elsewhere.body.id;
  return { t, receiver, db, other, ids, close: async () => { await t.close(); await receiver.close(); } };
}

describe.each(backends)('a call\'s events of every kind on $name', (backend) => {
  let t: TestApp;
  let other: Scenario['other'];
  let ids: Scenario['ids'];
  let close: Scenario['close'] | undefined;
  beforeAll(async () => {
    ({ t, other, ids, close } = await scenario(await backend.freshDb()));
  });
  afterAll(async () => close?.());

  it('answers the repeat of each event, of either kind, as a duplicate with its first id', async () => {
    for (const [name, body] of Object.entries(bodies)) {
      const again = await t.post(body);
      expect(again.body, name).toEqual({ ok: true, id: ids[name as keyof typeof bodies], duplicate: true });
    }
    const elsewhere = await t.post(startCall('mix-1'), 'application/json', `${t.baseUrl}/hooks/convolo/${other.token}`);
    expect(elsewhere.body).toEqual({ ok: true, id: ids.elsewhere, duplicate: true });
  });

  it('lists every event of the call, of each source, newest first', async () => {
    const all = (await t.api('/v1/events?call_id=mix-1')).body.data as Array<{ id: string }>;
    expect(all.map((e) => e.id)).toEqual([ids.elsewhere, ids.end, ids.note, ids.start, ids.transferred]);
    const source = (await t.api('/v1/events?call_id=mix-1')).body.data[1].source_id as string;
    const ofSource = (await t.api(`/v1/events?call_id=mix-1&source_id=${source}`)).body.data as Array<{ id: string }>;
    expect(ofSource.map((e) => e.id)).toEqual([ids.end, ids.note, ids.start, ids.transferred]);
    expect((await t.api(`/v1/events?call_id=mix-1&source_id=${other.id}`)).body.data.map((e: { id: string }) => e.id)).toEqual([ids.elsewhere]);
    expect((await t.api('/v1/events?call_id=mix-2')).body.data).toEqual([]);
  });

  it('shows the call with its whole timeline and the deliveries of all its events', async () => {
    const source = (await t.api('/v1/events?call_id=mix-1')).body.data[1].source_id as string;
    const detail = (await t.api(`/v1/calls/mix-1?source_id=${source}`)).body;
    expect(detail).toMatchObject({ call_id: 'mix-1', status: 'answered', event_count: 2 });
    expect(detail.events.map((e: { id: string }) => e.id)).toEqual([ids.transferred, ids.start, ids.note, ids.end]);
    expect(detail.deliveries).toHaveLength(1);
    const { destination_id: _, last_attempt_at: __, last_status: ___, last_error: ____, ...counts } = detail.deliveries[0];
    expect(Object.values(counts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(4);
    const deliveries = (await t.api('/v1/deliveries?call_id=mix-1')).body.data as Array<{ event_id: string }>;
    expect(deliveries.map((d) => d.event_id).sort()).toEqual(Object.values(ids).sort());
  });
});

/** How SQLite keys them (migration 0017) and how it finds them. */
describe('a call\'s events on SQLite', () => {
  it('keys the events that write their call by its first seq, the others by call_id, and reads both through an index', async () => {
    const { db, other, ids, close } = await scenario(await backends.find((b) => b.name === 'sqlite')!.freshDb());
    await close();
    const file = db.slice('sqlite:'.length);
    const raw = new SqliteDatabase(file, { readonly: true });
    try {
      const rows = raw.prepare('select id, seq, call_seq from events where call_id = ? order by seq').all('mix-1') as Array<{ id: string; seq: number; call_seq: number | null }>;
      const keyOf = new Map(rows.map((r) => [r.id, r.call_seq]));
      const seqOf = new Map(rows.map((r) => [r.id, r.seq]));
      const calls = raw.prepare('select source_id, first_seq from calls where call_id = ? order by first_seq').all('mix-1') as Array<{ first_seq: number }>;
      expect(calls.map((c) => c.first_seq)).toEqual([seqOf.get(ids.start), seqOf.get(ids.elsewhere)]);
      expect([keyOf.get(ids.transferred), keyOf.get(ids.note)]).toEqual([null, null]);
      expect([keyOf.get(ids.start), keyOf.get(ids.end)]).toEqual([seqOf.get(ids.start), seqOf.get(ids.start)]);
      expect(keyOf.get(ids.elsewhere)).toBe(seqOf.get(ids.elsewhere));

      // The reads by call, as the storage builds them: each branch through its index, never a scan of the log.
      const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
      for (const call of [{ callId: 'mix-1' }, { callId: 'mix-1', sourceId: other.id }]) {
        const query = kysely.selectFrom('events').select('id').where(eventsOfCall('sqlite', 'events', call)).orderBy('seq', 'desc').compile();
        const plan = (raw.prepare(`explain query plan ${query.sql}`).all(...(query.parameters as unknown[])) as Array<{ detail: string }>).map((p) => p.detail);
        expect(plan.join('\n')).toContain('USING INDEX events_call_id');
        expect(plan.join('\n')).toMatch(/events USING INTEGER PRIMARY KEY|USING INDEX events_call_seq/);
        expect(plan.some((d) => /^SCAN events\b/.test(d))).toBe(false);
        const found = raw.prepare(query.sql).all(...(query.parameters as unknown[])) as Array<{ id: string }>;
        expect(found.length).toBe(call.sourceId ? 1 : 5);
      }
      await kysely.destroy();
    } finally {
      raw.close();
    }
  });
});
