import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/admin/credentials.js';
import { newId, type DestinationId, type SourceId } from '../src/domain/ids.js';
import { openStorage } from '../src/storage/open.js';
import { appendTestHooks, arrayLiteral, maxWriteRows } from '../src/storage/postgres/append.js';
import { preparing } from '../src/storage/postgres/prepared.js';
import type { NewEvent, Storage } from '../src/storage/ports.js';
import { acceptedEvent, endCall, startCall } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { sequenced } from './support/sequenced.js';

/**
 * The PostgreSQL append's statements are prepared once per connection (storage/postgres/prepared.ts, and the
 * write as a named statement): the write's rows are padded with empty ones up to a power of two, which the
 * insert leaves out, so that batch sizes share a few texts; batches above 64 rows plan their own. Whatever
 * the size, and however often one size comes back on a connection (after five runs PostgreSQL may switch to
 * its generic plan), a batch stores exactly its new events, byte for byte, in their order, and answers its
 * duplicates with the first copy's id.
 */
let url: string;
let storage: Storage;
let sourceId: SourceId;
let client: pg.Client;

const eventOf = (body: string): NewEvent =>
  acceptedEvent(sourceId, body, { contentType: 'application/json; charset=utf-8', receivedAt: 1_760_000_000_000 });

beforeAll(async () => {
  url = await freshPgDatabase();
  storage = await openStorage(url);
  await storage.migrate();
  sourceId = (await createSource(storage, 'batches')).id;
  client = new pg.Client({ connectionString: url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await storage?.close();
});

let calls = 0;
/** `fresh` new events (a start and an end of new calls, alternating), then `again` copies of earlier ones. */
function batchOf(fresh: number, earlier: NewEvent[], again: number): NewEvent[] {
  const events = Array.from({ length: fresh }, (_, i) => {
    const callId = `batch-call-${++calls}`;
    return eventOf(i % 2 === 0 ? startCall(callId) : endCall(callId));
  });
  const copies = earlier.slice(0, again).map((e) => ({ ...eventOf(e.body!.toString()), id: newId('evt') }));
  // The copies first: a duplicate in the middle of a batch must not shift the new events' places.
  return [...copies, ...events];
}

describe('PostgreSQL append batches of every size (prepared statements, padded rows)', () => {
  it('stores exactly the new events of each batch, in order, and answers duplicates with the first id', async () => {
    const sizes = [1, 3, 3, 3, 3, 3, 3, 3, 5, 8, 9, 31, 64, 65, 100, 129, 200, 2, 3];
    let earlier: NewEvent[] = [];
    const appended: string[] = [];
    for (const [n, size] of sizes.entries()) {
      const again = Math.min(earlier.length, n % 3);
      const batch = batchOf(size, earlier, again);
      const results = await storage.events.append(batch);
      expect(results).toHaveLength(batch.length);
      // The copies: answered as duplicates of the first stored copy.
      for (const [i, copy] of batch.slice(0, again).entries()) {
        expect(results[i]).toMatchObject({ duplicate: true, id: earlier[i]!.id });
        expect(copy.id).not.toBe(earlier[i]!.id);
      }
      const fresh = batch.slice(again);
      expect(results.slice(again).map((r) => [r.id, r.duplicate])).toEqual(fresh.map((e) => [e.id, false]));

      // Stored: these events and no other row of this transaction, byte for byte, each waiting for its seq in
      // event_queue with its place in the batch.
      const { rows } = await client.query<{ id: string; body: Buffer; content_type: string; xid_ord: number; call_id: string }>(
        `select r.id, r.body, r.content_type, p.xid_ord, r.call_id from event_queue p join event_rows r on r.id = p.id
         where p.xid = (select xid from event_queue where id = $1) order by p.xid_ord`,
        [fresh[0]!.id],
      );
      expect(rows.map((r) => r.id)).toEqual(fresh.map((e) => e.id));
      expect(rows.map((r) => r.xid_ord)).toEqual(fresh.map((_, i) => i));
      for (const [i, row] of rows.entries()) {
        expect(row.body.equals(fresh[i]!.body!)).toBe(true);
        expect(row.content_type).toBe('application/json; charset=utf-8');
      }
      earlier = fresh;
      appended.push(...fresh.map((e) => e.id));
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    const { rows } = await client.query<{ events: number; calls: number }>(
      'select (select count(*) from events)::int as events, (select count(*) from calls)::int as calls',
    );
    expect(rows[0]).toEqual({ events: total, calls: total });
    // The log: every event once, with a dense seq, in the order of the appends.
    const sequencer = storage.startSequencer({ nodeId: 'batches-test' })!;
    try {
      await sequenced(storage);
    } finally {
      await sequencer.stop();
    }
    const log = await storage.events.readAfter(0, total + 10);
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(log.map((e) => e.id)).toEqual(appended);
    // Each seq is a row of its own, which keeps the transaction and the place in its batch; none is left waiting.
    const { rows: seqs } = await client.query<{ ordered: boolean; waiting: number }>(
      `select bool_and(xid is not null and xid_ord is not null) and count(*) = ${total} as ordered,
         (select count(*) from event_queue)::int as waiting from event_seqs`,
    );
    expect(seqs[0]).toEqual({ ordered: true, waiting: 0 });
  });
});

describe('PostgreSQL outbox: deliveries wait in the queue with their event (0019)', () => {
  it('queues each event\'s deliveries with it, and the tick inserts each once, with the event\'s seq', async () => {
    const at = Date.now();
    const destination = (id: string, eventTypes: string[] | null) => ({
      id: id as DestinationId, url: `https://${id}.example.com/hook`, description: null, eventTypes, widgetKeys: null, callStatuses: null,
      headers: null, rateLimitPerSec: null, maxConcurrency: null, secret: 'whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=', previousSecrets: [],
      disabledAt: null, disabledReason: null, failingSince: null, pausedAt: null, createdAt: at, updatedAt: at,
    });
    await storage.destinations.create(destination('dst_outbox_all', null));
    await storage.destinations.create(destination('dst_outbox_ended', ['call.ended']));
    try {
      const callId = `outbox-call-${++calls}`;
      const batch = [eventOf(startCall(callId)), eventOf(endCall(callId)), ...batchOf(3, [], 0)];
      const results = await storage.events.append(batch);
      // start_call → one delivery (the catch-all), end_call → two.
      const expected = batch.map((e) => (e.type === 'end_call' ? 2 : 1));
      expect(results.map((r) => r.queued)).toEqual(expected);
      const ids = batch.map((e) => e.id);
      // Before the tick: no delivery row yet; each event's in its queue row, paired with its destination.
      const { rows: before } = await client.query<{ id: string; pairs: number; order_key: string; queued_at: string }>(
        `select id, cardinality(delivery_ids) as pairs, order_key, queued_at from event_queue where id = any($1) order by xid_ord`, [ids]);
      expect(before.map((r) => [r.id, r.pairs])).toEqual(ids.map((id, i) => [id, results[i]!.queued]));
      expect(before[0]!.order_key).toBe(`call ${batch[0]!.sourceId} ${callId}`);
      expect(Number(before[0]!.queued_at)).toBe(batch[0]!.receivedAt);
      const { rows: none } = await client.query<{ n: number }>('select count(*)::int as n from deliveries where event_id = any($1)', [ids]);
      expect(none[0]!.n).toBe(0);

      const sequencer = storage.startSequencer({ nodeId: 'outbox-test' })!;
      try {
        await sequenced(storage);
      } finally {
        await sequencer.stop();
      }
      const { rows: after } = await client.query<{ event_id: string; destination_id: string; seq: number; event_seq: number; status: string; order_key: string }>(
        `select d.event_id, d.destination_id, e.seq::int, d.event_seq::int, d.status, d.order_key
         from deliveries d join events e on e.id = d.event_id where d.event_id = any($1) order by e.seq, d.destination_id`, [ids]);
      expect(after).toHaveLength(expected.reduce((a, b) => a + b, 0));
      for (const row of after) expect(row).toMatchObject({ event_seq: row.seq, status: 'pending' });
      expect(after.filter((r) => r.event_id === ids[0]).map((r) => r.destination_id)).toEqual(['dst_outbox_all']);
      expect(after.filter((r) => r.event_id === ids[1]).map((r) => r.destination_id)).toEqual(['dst_outbox_all', 'dst_outbox_ended']);
      const { rows: left } = await client.query<{ n: number }>('select count(*)::int as n from event_queue where id = any($1)', [ids]);
      expect(left[0]!.n).toBe(0);
    } finally {
      await client.query(`delete from deliveries where destination_id like 'dst_outbox_%'`);
      await client.query(`delete from destinations where id like 'dst_outbox_%'`);
    }
  });
});

describe('PostgreSQL append: text that its array parameters must quote and escape', () => {
  // The calls' columns and the outbox rows travel as array literals made by arrayLiteral (append.ts).
  const hostile = ['plain', 'with "quotes"', 'back\\slash \\"both\\"', "O'Brien", '{a,b}', 'NULL', '', ' spaced ', 'ünï©ødé 🎉', 'line\nbreak'];

  it('round-trips every element, NULL and numbers through PostgreSQL\'s array input', async () => {
    const { rows } = await client.query<{ t: Array<string | null>; n: Array<string | null>; f: number[] }>(
      'select $1::text[] as t, $2::bigint[] as n, $3::double precision[] as f',
      [arrayLiteral([...hostile, null, undefined]), arrayLiteral([1_760_000_000_000, null, -5]), arrayLiteral([1.5, -0.25, 0])],
    );
    expect(rows[0]!.t).toEqual([...hostile, null, null]);
    expect(rows[0]!.n).toEqual(['1760000000000', null, '-5']);
    expect(rows[0]!.f).toEqual([1.5, -0.25, 0]);
    // Anything else is refused, not written as `[object Object]` or `true`.
    expect(() => arrayLiteral([{ a: 1 }])).toThrow(TypeError);
    expect(() => arrayLiteral([true])).toThrow(TypeError);
  });

  it('stores a call whose widget and lead hold quotes, backslashes, braces and commas exactly as sent', async () => {
    const callId = `escape-call-${++calls}`;
    const body = JSON.parse(startCall(callId)) as { widget_name?: string; lead?: Record<string, unknown> };
    const name = hostile.join(' | ');
    body.widget_name = name;
    body.lead = { ...(body.lead ?? {}), lead_name: name };
    const [result] = await storage.events.append([eventOf(JSON.stringify(body))]);
    expect(result!.duplicate).toBe(false);
    const { rows } = await client.query<{ widget_name: string; lead: string }>('select widget_name, lead from calls where call_id = $1', [callId]);
    expect(rows[0]!.widget_name).toBe(name);
    expect((JSON.parse(rows[0]!.lead) as { lead_name: string }).lead_name).toBe(name);
  });
});

describe('PostgreSQL prepared statements across a schema change (a newer node migrating while this one runs)', () => {
  it('keeps appending and sequencing after columns are added to events and calls, with the sequencer planning anew at every tick', async () => {
    // Prepared first on this node's connections: appends, and ticks of a sequencer that plans its statements
    // again at every tick (replanMs 0: the old name deallocated each time).
    const sequencer = storage.startSequencer({ nodeId: 'schema-test', replanMs: 0 })!;
    try {
      for (let i = 0; i < 3; i++) await storage.events.append(batchOf(4, [], 0));
      await sequenced(storage);
      // What a later migration may do while older nodes run: add columns (the calls read names its columns:
      // a prepared `select *` would fail from now on with "cached plan must not change result type").
      await client.query('alter table event_rows add column later_note text');
      await client.query('alter table calls add column later_score integer');
      const before = await storage.events.lastSeq();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const batch = batchOf(4, [], 0);
        await storage.events.append(batch);
        ids.push(...batch.map((e) => e.id));
      }
      await sequenced(storage);
      const log = await storage.events.readAfter(before, 100);
      expect(log.map((e) => e.id)).toEqual(ids);
      expect(log.map((e) => e.seq)).toEqual(ids.map((_, i) => before + i + 1));
      // A stored call is read back through the prepared read: its next event merges into it.
      const [first] = log;
      const again = await storage.events.append([eventOf(endCall(first!.callId!))]);
      expect(again[0]!.duplicate).toBe(false);
      const { rows } = await client.query<{ event_count: number }>('select event_count from calls where call_id = $1', [first!.callId]);
      expect(rows[0]!.event_count).toBe(2);
    } finally {
      await sequencer.stop();
      await client.query('alter table event_rows drop column later_note');
      await client.query('alter table calls drop column later_score');
    }
  });
});

describe('PostgreSQL plans the append\'s prepared statements once (generic plans)', () => {
  afterAll(() => {
    appendTestHooks.afterInsert = null;
  });

  it('runs every prepared statement of the ingest\'s connections on its generic plan, never planning it again per run', async () => {
    // Left to itself PostgreSQL plans a statement with parameters anew at every run (a custom plan) while
    // that looks cheaper than its generic plan: with arrays of a few keys and padded rows it always does.
    type PlanCounts = { name: string; generic_plans: number; custom_plans: number };
    let counts: PlanCounts[] = [];
    appendTestHooks.afterInsert = async (connection) => {
      ({ rows: counts } = await connection.query<PlanCounts>(`select name, generic_plans::int, custom_plans::int from pg_prepared_statements where name like 'switchboard%'`));
    };
    // One after the other, so that the pool hands the same connection back: each statement runs there far more
    // than the five custom plans PostgreSQL starts with.
    for (let i = 0; i < 40; i++) await storage.events.append(batchOf(3, [], 0));
    expect(counts.length, 'the step-1 statements and the named write').toBeGreaterThanOrEqual(4);
    expect(counts.filter((c) => c.custom_plans > 0)).toEqual([]);
    expect(counts.every((c) => c.generic_plans > 0)).toBe(true);
  });

  it('asks the ingest\'s group commit for one larger append rather than two small ones side by side', () => {
    // An append costs about the same up to a few dozen events (append.ts, commitOverlap), under any load.
    expect(storage.events.commitOverlap).toEqual({ kind: 'fixed', waiting: expect.any(Number) });
    expect((storage.events.commitOverlap as { waiting: number }).waiting).toBeGreaterThan(1);
  });
});

describe('PostgreSQL append of a batch larger than one write takes (SWITCHBOARD_COMMIT_MAX_BATCH above 4,096)', () => {
  it('stores every event in slices, in order, and answers a copy across the slices\' edge with the first id', async () => {
    expect(maxWriteRows).toBe(4096);
    const fresh = batchOf(maxWriteRows + 104, [], 0);
    // A copy of an event of the first slice in the second, and one of the second slice's in its own slice.
    const copies = [fresh[5]!, fresh[maxWriteRows + 20]!].map((e) => ({ ...eventOf(e.body!.toString()), id: newId('evt') }));
    const batch = [...fresh.slice(0, maxWriteRows + 50), copies[0]!, ...fresh.slice(maxWriteRows + 50), copies[1]!];
    const sequencer = storage.startSequencer({ nodeId: 'big-batch-test' })!;
    try {
      // What the tests before left without seq gets its seq first. The waits are long: the watermark is the
      // cluster's, and a test elsewhere on the shared server may hold a transaction open for seconds (the
      // default 5 s ran out under a loaded CI run, and the log read found nothing numbered yet).
      await sequenced(storage);
      const before = await storage.events.lastSeq();
      // Before the fix, every such batch failed: "bind message has 57375 parameter formats but 0 parameters".
      const results = await storage.events.append(batch);
      expect(results).toHaveLength(batch.length);
      expect(results[maxWriteRows + 50]).toMatchObject({ duplicate: true, id: fresh[5]!.id });
      expect(results.at(-1)).toMatchObject({ duplicate: true, id: fresh[maxWriteRows + 20]!.id });
      expect(results.filter((r) => !r.duplicate).map((r) => r.id)).toEqual(fresh.map((e) => e.id));
      await sequenced(storage);
      // The log: the batch's new events, in its order, with the seqs that follow.
      const log = await storage.events.readAfter(before, fresh.length + 10);
      expect(log.map((e) => e.id)).toEqual(fresh.map((e) => e.id));
      expect(log.map((e) => e.seq)).toEqual(fresh.map((_, i) => before + i + 1));
    } finally {
      await sequencer.stop();
    }
  }, 120_000);
});

describe('PostgreSQL behind a pooler in transaction mode (statements prepared on one connection missing on the next)', () => {
  afterAll(() => {
    appendTestHooks.afterInsert = null;
    preparing.on = true;
  });

  it('turns preparing off at the first missing statement, retries, and stores every event; the sequencer follows', async () => {
    // Before: the statements are prepared (a first append on each connection the pool hands out).
    for (let i = 0; i < 4; i++) await storage.events.append(batchOf(3, [], 0));
    expect(preparing.on).toBe(true);
    // What a pooler in transaction mode does to a session's prepared statements: the next transaction lands on a
    // server connection that never saw them. Here: every append's connection loses them at its commit.
    appendTestHooks.afterInsert = async (connection) => {
      await connection.query('deallocate all');
    };
    const warned: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warned.push(w.code ?? '');
    process.on('warning', onWarning);
    const stored: string[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const batch = batchOf(1 + (i % 5), [], 0);
        const results = await storage.events.append(batch);
        expect(results.map((r) => r.duplicate)).toEqual(batch.map(() => false));
        stored.push(...batch.map((e) => e.id));
      }
    } finally {
      process.off('warning', onWarning);
    }
    expect(preparing.on).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warned).toEqual(['SWITCHBOARD_UNPREPARED']);
    const { rows } = await client.query<{ n: number }>('select count(*)::int as n from events where id = any($1)', [stored]);
    expect(rows[0]!.n).toBe(stored.length);
    // Unprepared, the sequencer gives them their seq as before: the log stays dense, in the appends' order.
    const before = await storage.events.lastSeq();
    const sequencer = storage.startSequencer({ nodeId: 'pooler-test' })!;
    try {
      await sequenced(storage);
    } finally {
      await sequencer.stop();
    }
    const log = await storage.events.readAfter(before, 1000);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => before + i + 1));
    expect(log.slice(-stored.length).map((e) => e.id)).toEqual(stored);
  });
});
