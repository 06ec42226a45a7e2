import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../src/storage/open.js';
import { startCall, startTestApp, startTestAppAgain, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { waitFor } from './support/sse.js';

/**
 * Issue 14: a destination's own `rate_limit_per_sec` and `max_concurrency` hold for the whole cluster on
 * PostgreSQL, not per worker: two nodes on one database, both sending, never give a receiver more than its
 * limits (with per-worker limits it got twice the rate, and twice the requests at once).
 */
describe('a destination\'s limits across two workers on one PostgreSQL', () => {
  let first: TestApp;
  let second: TestApp;
  let receiver: Receiver | undefined;

  beforeAll(async () => {
    const db = await freshPgDatabase();
    // A short poll: each worker looks for what fell due (a deferred delivery) on its own, as it would under load.
    const flags = { allowPrivateDestinations: true, relayPollMs: 50 };
    first = await startTestApp(db, flags);
    second = await startTestAppAgain(db, first, flags);
  });
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  /** Webhooks a node's worker delivered so far (its metrics). */
  async function deliveredBy(node: TestApp): Promise<number> {
    const text = (await node.api('/metrics', null)).body as string;
    return Number(/^switchboard_delivery_attempts_total\{result="delivered"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  /**
   * `count` calls' call.started queued while the destination is paused, then let go at once, so that both
   * workers claim; resolves once the receiver has every one of them, each once, to how many each worker sent.
   */
  async function sendAll(fields: Record<string, unknown>, count: number, prefix: string): Promise<[number, number]> {
    const created = await first.request('POST', '/v1/destinations', { url: receiver!.url, event_types: ['call.started'], ...fields });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await first.request('PATCH', `/v1/destinations/${id}`, { paused: true })).status).toBe(200);
    const ids = new Set<string>();
    for (let i = 0; i < count; i++) {
      const answer = await first.post(startCall(`${prefix}-${i}`), 'application/json', i % 2 ? first.ingestUrl : second.ingestUrl);
      expect(answer.status).toBe(200);
      ids.add(answer.body.id as string);
    }
    const before = [await deliveredBy(first), await deliveredBy(second)];
    expect((await second.request('PATCH', `/v1/destinations/${id}`, { paused: false })).status).toBe(200);
    await waitFor(`all ${count} delivered`, () => receiver!.received.length >= ids.size, 30_000);
    const sent = receiver!.received.map((r) => r.headers['webhook-id'] as string);
    expect(sent, 'none twice').toHaveLength(ids.size);
    expect(new Set(sent)).toEqual(ids);
    // The outcomes are recorded after the receiver answered.
    const by = async (): Promise<[number, number]> => [await deliveredBy(first) - before[0]!, await deliveredBy(second) - before[1]!];
    await waitFor('every outcome recorded', async () => (await by()).reduce((a, b) => a + b) === count);
    return by();
  }

  it('rate_limit_per_sec 5: the receiver gets 5 a second (after one second\'s burst) from both workers together, every event once', async () => {
    receiver = await startReceiver();
    const [byFirst, bySecond] = await sendAll({ rate_limit_per_sec: 5 }, 60, 'pace');
    // Both workers sent their part (each claims what it can and reserves its slots from the one bucket).
    expect(byFirst).toBeGreaterThan(0);
    expect(bySecond).toBeGreaterThan(0);
    const at = receiver.received.map((r) => r.at).sort((a, b) => a - b);
    // 5 at once (a new bucket's second), then one every 200 ms: 55 more take 11 s. Two buckets of 5 (per
    // worker) took half as long: 50 more at 10 a second, 5 s.
    expect(at.at(-1)! - at[0]!).toBeGreaterThan(9_500);
    // In any 2 s: at most 2 s of the rate and one burst (15), with a few of margin for sends a loaded machine
    // held up and let go together; per worker it was 20 a steady 2 s, 30 with the bursts.
    for (let i = 0; i < at.length; i++) {
      const within = at.filter((t) => t >= at[i]! && t < at[i]! + 2000).length;
      expect(within, `arrivals in the 2 s from the ${i}th`).toBeLessThanOrEqual(18);
    }
  }, 40_000);

  it('max_concurrency 2: the receiver never has more than 2 requests at once from both workers together, every event once', async () => {
    receiver = await startReceiver(() => ({ status: 200, delayMs: 300 }));
    const [byFirst, bySecond] = await sendAll({ max_concurrency: 2 }, 20, 'conc');
    expect(receiver.maxInFlight).toBe(2);
    // Both claimed when it was let go (with per-worker caps, both sent 2 at once). Since, the worker whose
    // request was answered takes the freed slot as soon as its outcome is written: it may send them all.
    expect(byFirst + bySecond).toBe(20);
  }, 40_000);
});

describe('claims of two nodes at the same moment, for a destination with max_concurrency', () => {
  it('lease no more than its max_concurrency between them, round after round (each node alone would take it all)', async () => {
    const url = await freshPgDatabase();
    const [a, b] = [await openStorage(url), await openStorage(url)];
    await a.migrate();
    const sqlClient = new pg.Client({ connectionString: url });
    await sqlClient.connect();
    try {
      const now = Date.now();
      await sqlClient.query(`insert into destinations (id, url, secret, created_at, updated_at) values ('dst_capped', 'http://127.0.0.1:9/', 's', 0, 0)`);
      await sqlClient.query(`insert into deliveries (id, destination_id, event_seq, event_id, order_key, status, attempts, schedule_start, next_attempt_at, created_at, updated_at)
        select 'dlv_' || i, 'dst_capped', i, 'evt_' || i, 'call-' || i, 'pending', 0, 0, ${now} - 1000 + i, 0, 0 from generate_series(1, 60) i`);
      const share = { perDestination: 16, busy: {}, caps: {} };
      // Without a max_concurrency of its own, each node takes its share (both have claimed before the cap is set).
      const [x, y] = await Promise.all([a.deliveries.claim(now, 8, 60_000, share), b.deliveries.claim(now, 8, 60_000, share)]);
      expect(x.length + y.length).toBe(16);
      await sqlClient.query(`update deliveries set locked_until = null where locked_until is not null`);
      await sqlClient.query(`update destinations set max_concurrency = 2`);
      let total = 0;
      for (let round = 0; round < 15; round++) {
        const at = now + round;
        const [x, y] = await Promise.all([a.deliveries.claim(at, 16, 60_000, share), b.deliveries.claim(at, 16, 60_000, share)]);
        expect(x.length + y.length, `round ${round}: ${x.length} + ${y.length}`).toBeLessThanOrEqual(2);
        total += x.length + y.length;
        // Both answered: the leases end, as their outcomes would end them.
        await sqlClient.query(`update deliveries set locked_until = null where locked_until is not null`);
      }
      expect(total).toBeGreaterThanOrEqual(15 * 2 - 2);
    } finally {
      await sqlClient.end();
      await a.close();
      await b.close();
    }
  });
});
