import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/admin/credentials.js';
import { newId, type SourceId } from '../src/domain/ids.js';
import { openStorage } from '../src/storage/open.js';
import type { NewEvent, Storage } from '../src/storage/ports.js';
import { endCall } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';

/**
 * The sequencer's queue on PostgreSQL (event_pending, migration 0018): every event is inserted there and taken
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
  await client.query('alter table event_pending set (autovacuum_enabled = false)');
});

afterAll(async () => {
  await client?.end();
  await storage?.close();
});

let calls = 0;
function batch(size: number): NewEvent[] {
  return Array.from({ length: size }, () => {
    const raw = Buffer.from(endCall(`queue-call-${++calls}`));
    return {
      id: newId('evt'), sourceId, callId: `queue-call-${calls}`, type: 'end_call', status: 'ok', errorCode: null, errorDetail: null,
      contentType: 'application/json', body: raw, bodyHash: createHash('sha256').update(raw).digest('hex'), bodySize: raw.length,
      bodyTruncated: false, receivedAt: Date.now(),
    };
  });
}

const pages = async () => Number((await client.query<{ pages: string }>(`select pg_relation_size('event_pending') / 8192 as pages`)).rows[0]!.pages);

describe("the sequencer's queue", () => {
  it('stays a few pages under a steady load and is given back once the log is idle', async () => {
    const sequencer = storage.startSequencer({ nodeId: 'queue-test', vacuumEveryMs: 100 })!;
    let most = 0;
    const total = 24_000;
    try {
      for (let appended = 0; appended < total; appended += 200) {
        await storage.events.append(batch(200));
        sequencer.wake();
        if (appended % 2000 === 0) most = Math.max(most, await pages());
      }
      await storage.events.waitSequenced();
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
      `select (select count(*) from event_pending)::int as waiting, (select count(*) from event_seqs)::int as sequenced`,
    );
    expect(rows[0]).toEqual({ waiting: 0, sequenced: total });
  });
});
