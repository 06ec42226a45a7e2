import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { endCall, startTestApp, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { waitFor } from './support/sse.js';

/**
 * PostgreSQL: a replay's and a retry-failed's marks on deliveries in flight (one update over several rows)
 * and the worker's outcome write of those deliveries (one update over its batch) lock the same rows. Taken in
 * different orders, each may hold some and wait for the others: PostgreSQL fails one (the admin's request
 * with a 503, or the worker's write, which is tried again).
 */
describe('replays and retry-failed while the worker records outcomes of the same deliveries (postgres)', () => {
  let t: TestApp | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    release?.();
    await t?.close();
    await receiver?.close();
  });
  let release: (() => void) | undefined;

  it('marks and records without a deadlock: every request answers 202, no write fails', { timeout: 120_000 }, async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    let held: Array<() => void> = [];
    release = () => {
      const now = held;
      held = [];
      for (const r of now) r();
    };
    receiver = await startReceiver(() => {
      let done!: () => void;
      const hold = new Promise<void>((resolve) => { done = resolve; });
      held.push(done);
      return { status: 500, hold };
    });
    const url = await freshPgDatabase();
    t = await startTestApp(url, { allowPrivateDestinations: true, retryScheduleSec: [1], logLevel: 'warn' } as never, { logger: { stream } });
    const created = await t.request('POST', '/v1/destinations', { url: receiver.url });
    expect(created.status).toBe(201);
    const destination = created.body.id as string;
    for (let i = 0; i < 32; i++) expect((await t.post(endCall(`locks-${i}`))).status).toBe(200);
    const statuses: number[] = [];
    let marked = 0;
    const ask = async (path: string, body: unknown) => {
      const r = await t!.request('POST', `/v1/destinations/${destination}/${path}`, body);
      statuses.push(r.status);
      if (path === 'retry-failed' && r.status === 202) marked += r.body.retried as number;
    };
    for (let round = 0; round < 30; round++) {
      await waitFor('deliveries in flight', () => held.length >= 8, 20_000);
      // The outcomes of every attempt in flight arrive at once, while replays and retries of the failed ones mark them.
      const asks = [ask('replay', {}), ask('retry-failed', {}), ask('replay', {}), ask('retry-failed', {})];
      release();
      await Promise.all(asks);
    }
    release();
    // Deadlocks PostgreSQL detected in this database (a write tried again after one leaves no other trace).
    await sleep(1500);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ deadlocks: string }>('select deadlocks from pg_stat_database where datname = current_database()');
    await client.end();
    const failures = lines.map((line) => JSON.parse(line)).filter((entry) => /deadlock|40P01/.test(JSON.stringify(entry)));
    expect(Number(rows[0]!.deadlocks)).toBe(0);
    expect(failures).toEqual([]);
    expect(statuses.filter((s) => s !== 202)).toEqual([]);
    // The retries of the failed ones had work to do (failed deliveries, replays of them in flight).
    expect(marked).toBeGreaterThan(0);
  });
});
