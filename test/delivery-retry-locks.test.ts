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
});
