import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { endCall, startTestApp, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { waitFor } from './support/sse.js';

/**
 * PostgreSQL: an administrator's writes on deliveries in flight (a replay's and a retry-failed's marks, a
 * DELETE's cancellations) and the worker's write of those deliveries' outcomes (one update over its batch,
 * then, when the destination starts or stops failing, the destination's row) lock the same rows. Taken in
 * different orders, each may hold rows the other waits for: PostgreSQL fails one (the admin's request with a
 * 503, or the worker's write, which is tried again). The receiver holds every attempt and answers 500 to them
 * all at once, beside the admin's requests; pg_stat_database counts the deadlocks PostgreSQL detected.
 */
describe('admin writes while the worker records outcomes of the same deliveries (postgres)', () => {
  let t: TestApp | undefined;
  let receiver: Receiver | undefined;
  let url: string;
  let held: Array<() => void> = [];
  const release = () => {
    const now = held;
    held = [];
    for (const r of now) r();
  };
  afterEach(async () => {
    release();
    await t?.close();
    await receiver?.close();
  });

  async function start() {
    receiver = await startReceiver(() => {
      let done!: () => void;
      const hold = new Promise<void>((resolve) => { done = resolve; });
      held.push(done);
      return { status: 500, hold };
    });
    url = await freshPgDatabase();
    t = await startTestApp(url, { allowPrivateDestinations: true, retryScheduleSec: [1], logLevel: 'warn' } as never, { logger: { stream: new Writable({ write: (_c, _e, done) => done() }) } });
  }

  /** Deadlocks PostgreSQL detected in the test's database (a write tried again after one leaves no other trace). */
  async function deadlocks(): Promise<number> {
    await sleep(1500);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ deadlocks: string }>('select deadlocks from pg_stat_database where datname = current_database()');
      return Number(rows[0]!.deadlocks);
    } finally {
      await client.end();
    }
  }

  it('replays and retry-failed mark deliveries in flight without a deadlock: every request answers 202', { timeout: 120_000 }, async () => {
    await start();
    const created = await t!.request('POST', '/v1/destinations', { url: receiver!.url });
    expect(created.status).toBe(201);
    const destination = created.body.id as string;
    for (let i = 0; i < 32; i++) expect((await t!.post(endCall(`locks-${i}`))).status).toBe(200);
    const statuses: number[] = [];
    let retried = 0;
    const ask = async (path: string, body: unknown) => {
      const r = await t!.request('POST', `/v1/destinations/${destination}/${path}`, body);
      statuses.push(r.status);
      if (path === 'retry-failed' && r.status === 202) retried += r.body.retried as number;
    };
    for (let round = 0; round < 30; round++) {
      await waitFor('deliveries in flight', () => held.length >= 8, 20_000);
      // The outcomes of every attempt in flight arrive at once, while replays and retries of the failed ones mark them.
      const asks = [ask('replay', {}), ask('retry-failed', {}), ask('replay', {}), ask('retry-failed', {})];
      release();
      await Promise.all(asks);
    }
    release();
    expect(await deadlocks()).toBe(0);
    expect(statuses.filter((s) => s !== 202)).toEqual([]);
    // The retries of the failed ones had work to do (failed deliveries, replays of them in flight).
    expect(retried).toBeGreaterThan(0);
  });

  it('deletes a destination whose attempts in flight fail at that moment without a deadlock: every DELETE answers 204, nothing is left pending', { timeout: 120_000 }, async () => {
    await start();
    const statuses: number[] = [];
    for (let round = 0; round < 30; round++) {
      const created = await t!.request('POST', '/v1/destinations', { url: receiver!.url });
      expect(created.status).toBe(201);
      for (let i = 0; i < 8; i++) expect((await t!.post(endCall(`delete-${round}-${i}`))).status).toBe(200);
      await waitFor('deliveries in flight', () => held.length >= 8, 20_000);
      // The first failures: the worker writes the outcomes, then the destination's failing_since.
      const deleted = t!.request('DELETE', `/v1/destinations/${created.body.id}`);
      await sleep(round % 4);
      release();
      statuses.push((await deleted).status);
    }
    release();
    expect(await deadlocks()).toBe(0);
    expect(statuses.filter((s) => s !== 204)).toEqual([]);
    expect(await t!.app.storage.deliveries.pendingCount()).toBe(0);
  });
});
