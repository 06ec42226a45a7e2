import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventId } from '../src/domain/ids.js';
import { createMigrator } from '../src/storage/migrations.js';
import { openStorage } from '../src/storage/open.js';
import type { Storage } from '../src/storage/ports.js';
import { freshPgDatabase } from './support/pg.js';
import { sequenced } from './support/sequenced.js';

/**
 * Migration 0018 on a PostgreSQL database in use: the events' seqs become rows of event_seqs, the events still
 * waiting for one become rows of event_pending (event_queue since 0019), and `events` a view of both. What the sequencer had numbered
 * keeps its seq; what it had not is numbered after the upgrade in the order it would have been (the writing
 * transaction, then the place in its batch), with its waiting deliveries; and a node of an earlier version,
 * which inserts into `events` and updates its seq, is refused rather than let write beside the new tables.
 */
let url: string;
let db: Kysely<any>;
let storage: Storage;

/** Events as the version before 0018 wrote them: in one transaction (one xid), with their place in its batch; seq as given. */
async function writeAsBefore(rows: Array<{ id: string; ord: number; seq?: number; status?: string }>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const r of rows) {
      await sql`insert into events (id, source_id, call_id, type, status, body, body_hash, body_size, received_at, xid_ord, seq)
        values (${r.id}, 'src_up', ${`call-${r.id}`}, 'start_call', ${r.status ?? 'accepted'}, ${Buffer.from(`{"n":"${r.id}"}`)},
          ${`hash-${r.id}`}, 10, 1000, ${r.ord}, ${r.seq ?? null})`.execute(trx);
    }
  });
}

beforeAll(async () => {
  url = await freshPgDatabase();
  db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  const { error } = await createMigrator(db, 'postgres').migrateTo('0017_events_by_call_row');
  expect(error).toBeUndefined();
  // Sequenced before the upgrade: seqs 1–3, the third a quarantine record.
  await writeAsBefore([{ id: 'evt_a', ord: 0, seq: 1 }, { id: 'evt_b', ord: 1, seq: 2 }, { id: 'evt_q', ord: 2, seq: 3, status: 'quarantined' }]);
  await sql`update switchboard_sequencer set last_seq = 3 where id = 1`.execute(db);
  // Committed but not sequenced yet: a batch of two whose ids sort against their order, then a later transaction.
  await writeAsBefore([{ id: 'evt_z', ord: 0 }, { id: 'evt_y', ord: 1 }]);
  await writeAsBefore([{ id: 'evt_x', ord: 0 }]);
  // evt_y's delivery waits for its event's seq.
  await sql`insert into deliveries (id, destination_id, event_seq, event_id, order_key, status, next_attempt_at, created_at, updated_at)
    values ('dlv_y', 'dst_up', null, 'evt_y', 'call-evt_y', 'pending', 0, 0, 0)`.execute(db);

  storage = await openStorage(url);
  expect(await storage.migrate()).toEqual(['0018_event_order', '0019_delivery_queue', '0020_no_in_progress_index', '0021_previous_secrets', '0022_invitation_inviter', '0023_destination_pace', '0024_log_id']);
});

afterAll(async () => {
  await storage?.close();
  await db?.destroy();
});

describe('migration 0018 on a PostgreSQL database in use', () => {
  it('keeps every seq given and queues the events still waiting, with their transaction and place', async () => {
    const { rows } = await sql<{ id: string; seq: string | null }>`select id, seq from events order by seq nulls last, id`.execute(db);
    expect(rows.map((r) => [r.id, r.seq === null ? null : Number(r.seq)])).toEqual([
      ['evt_a', 1], ['evt_b', 2], ['evt_q', 3], ['evt_x', null], ['evt_y', null], ['evt_z', null],
    ]);
    const { rows: pending } = await sql<{ id: string; xid_ord: number; first: boolean }>`
      select id, xid_ord, xid = (select min(xid) from event_queue) as first from event_queue order by xid, xid_ord`.execute(db);
    expect(pending).toEqual([{ id: 'evt_z', xid_ord: 0, first: true }, { id: 'evt_y', xid_ord: 1, first: true }, { id: 'evt_x', xid_ord: 0, first: false }]);
    // The bodies are the rows' own, read through the view.
    expect((await storage.events.get('evt_b' as EventId))?.body?.toString()).toBe('{"n":"evt_b"}');
    const [quarantined] = await storage.events.list({ status: 'quarantined', limit: 10 });
    expect(quarantined).toMatchObject({ id: 'evt_q', seq: 3 });
  });

  it("refuses an earlier version's writes: its insert into events and its sequencer's update", async () => {
    await expect(sql`insert into events (id, source_id, status, body_size, received_at) values ('evt_old', 'src_up', 'accepted', 0, 0)`.execute(db))
      .rejects.toThrow(/cannot insert into view "events"/);
    await expect(sql`update events set seq = 99 where id = 'evt_x'`.execute(db)).rejects.toThrow(/cannot update view "events"/);
  });

  it('numbers the waiting events after the last seq, in their transactions\' order, and gives their delivery its seq', async () => {
    const sequencer = storage.startSequencer({ nodeId: 'upgrade-test' })!;
    try {
      await sequenced(storage);
    } finally {
      await sequencer.stop();
    }
    const log = await storage.events.readAfter(0, 10);
    // The quarantine record keeps its seq but is not streamed.
    expect(log.map((e) => [e.id, e.seq])).toEqual([['evt_a', 1], ['evt_b', 2], ['evt_z', 4], ['evt_y', 5], ['evt_x', 6]]);
    expect(await storage.events.lastSeq()).toBe(6);
    const { rows } = await sql<{ event_seq: string }>`select event_seq from deliveries where id = 'dlv_y'`.execute(db);
    expect(Number(rows[0]!.event_seq)).toBe(5);
    const { rows: left } = await sql<{ n: number }>`select count(*)::int as n from event_queue`.execute(db);
    expect(left[0]!.n).toBe(0);
  });
});
