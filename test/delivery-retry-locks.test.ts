import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { endCall, startTestApp, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { startReceiver, type Receiver } from './support/receiver.js';

/**
 * PostgreSQL: a retry (POST /v1/deliveries/{id}/retry) and the worker recording the outcome of the same
 * delivery's attempt lock the same two rows, the delivery's and its destination's: they must take them in
 * the same order, or each may hold one and wait for the other (a deadlock, which PostgreSQL ends by failing one).
 */
describe('a retry while the worker records the same delivery (postgres)', () => {
  let t: TestApp | undefined;
  let receiver: Receiver | undefined;
  let client: pg.Client | undefined;
  afterEach(async () => {
    await client?.end();
    await t?.close();
    await receiver?.close();
  });

  it("takes the delivery's row before its destination's, as recording an outcome does: neither fails", async () => {
    const url = await freshPgDatabase();
    receiver = await startReceiver();
    // No worker of its own: the test records the outcome, as the worker's write does, by hand.
    t = await startTestApp(url, { allowPrivateDestinations: true, role: 'api' } as never);
    expect((await t.request('POST', '/v1/destinations', { url: receiver.url })).status).toBe(201);
    expect((await t.post(endCall('locks-1'))).status).toBe(200);
    await t.app.storage.events.waitSequenced();
    const [delivery] = await t.app.storage.deliveries.claim(Date.now(), 10, 60_000);
    expect(delivery).toBeDefined();

    client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('begin');
    // The outcome's first statement updates the delivery's row (postgres/deliveries.ts `complete`)…
    await client.query('update deliveries set updated_at = updated_at where id = $1', [delivery!.id]);
    const retry = t.request('POST', `/v1/deliveries/${delivery!.id}/retry`);
    await sleep(300);
    // …then, when the destination starts or stops failing, the destination's row.
    const failing = client.query('update destinations set failing_since = $2 where id = $1', [delivery!.destinationId, Date.now()]).then(() => 'done', (e: Error) => e.message);
    expect(await failing).toBe('done');
    await client.query('commit');
    expect((await retry).status).toBe(202);
  });

  it('retries of single failed deliveries beside a retry of them all: none deadlocks with the other (each answers 202 or 409)', { timeout: 120_000 }, async () => {
    const url = await freshPgDatabase();
    t = await startTestApp(url, { allowPrivateDestinations: true, role: 'api' } as never);
    const created = await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/hook' });
    expect(created.status).toBe(201);
    for (let i = 0; i < 6; i++) expect((await t.post(endCall(`locks-all-${i}`))).status).toBe(200);
    await t.app.storage.events.waitSequenced();
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const ids = (await client.query<{ id: string }>('select id from deliveries order by id')).rows.map((r) => r.id);
    expect(ids).toHaveLength(6);
    const statuses: number[] = [];
    for (let round = 0; round < 20; round++) {
      // Dead letters, as the schedule's end leaves them (no worker runs here).
      await client.query(`update deliveries set status = 'failed', finished_at = 1, locked_until = null`);
      // The dashboard's "retry all failed" while someone retries them one by one (newest first, as listed).
      const asks = [t.request('POST', `/v1/destinations/${created.body.id}/retry-failed`, {}), ...ids.slice().reverse().map((id) => t!.request('POST', `/v1/deliveries/${id}/retry`))];
      for (const r of await Promise.all(asks)) statuses.push(r.status);
    }
    await sleep(1500);
    const { rows } = await client.query<{ deadlocks: string }>('select deadlocks from pg_stat_database where datname = current_database()');
    expect(Number(rows[0]!.deadlocks)).toBe(0);
    expect(statuses.filter((s) => s !== 202 && s !== 409)).toEqual([]);
  });
});
