import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/admin/credentials.js';
import type { SourceId } from '../src/domain/ids.js';
import { openStorage } from '../src/storage/open.js';
import type { NewEvent, Storage } from '../src/storage/ports.js';
import { acceptedEvent, endCall } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { sequenced } from './support/sequenced.js';

/**
 * The sequencer's queue on PostgreSQL (event_queue, migration 0018): every event is inserted there and taken
 * out by the tick, so each leaves a dead row and a dead entry of the key behind. Autovacuum comes after its
 * nap, a minute shared by the cluster's databases; until then every tick walked over all of them. The node
 * holding the role vacuums the queue while it takes rows out, and gives its empty pages back once the log is
 * idle. Counted in pages, not time.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let url: string;
let storage: Storage;
let sourceId: SourceId;
let client: pg.Client;

beforeAll(async () => {
  url = await freshPgDatabase();
  storage = await openStorage(url);
  await storage.migrate();
  sourceId = (await createSource(storage, 'queue')).id;
  client = new pg.Client({ connectionString: url });
  await client.connect();
  // Only the sequencer's vacuum: autovacuum, waking by chance during the test, would hide its absence.
  await client.query('alter table event_queue set (autovacuum_enabled = false)');
});

afterAll(async () => {
  await client?.end();
  await storage?.close();
});

let calls = 0;
function batch(size: number): NewEvent[] {
  return Array.from({ length: size }, () => acceptedEvent(sourceId, endCall(`queue-call-${++calls}`)));
}

/** How many VACUUMs of event_queue have ended (PostgreSQL's statistics, in shared memory since 15). */
const vacuums = async () => Number((await client.query<{ n: string }>(`select pg_stat_get_vacuum_count('event_queue'::regclass) as n`)).rows[0]!.n);
const pages = async () => Number((await client.query<{ pages: string }>(`select pg_relation_size('event_queue') / 8192 as pages`)).rows[0]!.pages);

describe("the sequencer's queue", () => {
  it('stays a few pages under a steady load and is given back once the log is idle', async () => {
    const sequencer = storage.startSequencer({ nodeId: 'queue-test', vacuumEveryMs: 100 })!;
    let most = 0;
    const total = 24_000;
    try {
      for (let appended = 0; appended < total; ) {
        await storage.events.append(batch(200));
        sequencer.wake();
        appended += 200;
        if (appended % 2000 !== 0) continue;
        most = Math.max(most, await pages());
        // A steady load, not a burst: before the next 2,000 events the ticks take these out and a vacuum runs
        // after them (at most 2 s). On a busy machine (the suite's other files) the appends outran both, and
        // the queue then held that many more rows, alive, whatever the vacuum did.
        await sequenced(storage);
        const before = await vacuums();
        for (const since = Date.now(); (await vacuums()) === before && Date.now() - since < 2000; ) await sleep(20);
      }
      await sequenced(storage);
      most = Math.max(most, await pages());
      // Idle: the next vacuum gives the empty pages back.
      const idleSince = Date.now();
      while ((await pages()) > 0 && Date.now() - idleSince < 5000) await sleep(50);
      expect(await pages()).toBe(0);
    } finally {
      await sequencer.stop();
    }
    // Without the vacuum, the dead rows of the 24,000 events filled 198 pages (7 with it); a tick's worth of live and dead
    // rows between two vacuums takes a few.
    expect(most).toBeLessThan(60);
    const { rows } = await client.query<{ waiting: number; sequenced: number }>(
      `select (select count(*) from event_queue)::int as waiting, (select count(*) from event_seqs)::int as sequenced`,
    );
    expect(rows[0]).toEqual({ waiting: 0, sequenced: total });
  });

  it("says once when the node's role may not vacuum the queue, and the events are sequenced all the same", async () => {
    // A role with every right on the tables but not their owner, as when migrations run as another role.
    // Roles are the cluster's, which other test files share: a name of this run's own.
    const role = `switchboard_not_owner_${process.pid}_${Date.now()}`;
    await client.query(`create role ${role} login`);
    await client.query(`grant all on all tables in schema public to ${role}`);
    await client.query(`grant all on all sequences in schema public to ${role}`);
    const asRole = new URL(url);
    asRole.username = role;
    const other = await openStorage(asRole.toString());
    const warnings: string[] = [];
    const errors: Error[] = [];
    const sequencer = other.startSequencer({
      nodeId: 'queue-test-not-owner', vacuumEveryMs: 20, onWarning: (m) => warnings.push(m), onError: (e) => errors.push(e),
    })!;
    try {
      const before = await client.query<{ n: number }>('select count(*)::int as n from event_seqs');
      for (let i = 0; i < 10; i++) {
        await other.events.append(batch(100));
        sequencer.wake();
        await sleep(30);
      }
      await sequenced(other);
      await sleep(200);
      const after = await client.query<{ n: number }>('select count(*)::int as n from event_seqs');
      expect(after.rows[0]!.n - before.rows[0]!.n).toBe(1000);
    } finally {
      await sequencer.stop();
      await other.close();
    }
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/does not own event_queue/);
  });
});
