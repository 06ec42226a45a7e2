import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { startReceiver, type Receiver } from './support/receiver.js';

/**
 * What the Webhooks pages need of the API (issue 13), on both backends: pause and resume with the worker,
 * the health figures, the delivery log's filters, the dry runs of replay and "retry all failed" (each
 * preview equal to what the real call then does), and what a viewer may read.
 */
describe.each(backends)('webhooks administration ($name)', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let clock: number;
  let dbUrl: string;

  async function start(answer?: Parameters<typeof startReceiver>[0]) {
    clock = Date.parse('2026-11-27T10:30:00Z');
    receiver = await startReceiver(answer);
    // One retry, a second later: a failing delivery fails for good within the test's clock.
    dbUrl = await backend.freshDb();
    t = await startTestApp(dbUrl, { allowPrivateDestinations: true, retryJitter: 0, retryScheduleSec: [1] } as never, { now: () => clock });
  }

  afterEach(async () => {
    await t?.close();
    await receiver?.close();
  });

  const run = () => t.app.relay.worker!.runUntilIdle();
  async function advance(ms: number) {
    clock += ms;
    await run();
  }
  async function destination() {
    const created = await t.request('POST', '/v1/destinations', { url: receiver.url });
    expect(created.status).toBe(201);
    return created.body.id as string;
  }
  async function calls(ids: string[]) {
    const events: string[] = [];
    for (const id of ids) {
      for (const body of [startCall(id), endCall(id)]) {
        const r = await t.post(body);
        expect(r.status).toBe(200);
        events.push(r.body.id);
      }
    }
    return events;
  }
  const log = async (query: string) => (await t.request('GET', `/v1/deliveries?${query}`)).body.data as Array<Record<string, any>>;

  it('queues a paused destination\'s deliveries without sending them, and sends them in per-call order once resumed', async () => {
    await start();
    const id = await destination();
    const paused = await t.request('PATCH', `/v1/destinations/${id}`, { paused: true });
    expect(paused.body).toMatchObject({ status: 'paused', paused_at: '2026-11-27T10:30:00.000Z' });
    await calls(['p-1', 'p-2']);
    await advance(60_000);
    expect(receiver.received).toEqual([]);
    expect((await log(`destination_id=${id}&status=pending`)).length).toBe(4);
    const health = (await t.request('GET', '/v1/destinations/health')).body;
    expect(health.data).toEqual([expect.objectContaining({ destination_id: id, pending: 4, delivered: 0, failed: 0 })]);

    const resumed = await t.request('PATCH', `/v1/destinations/${id}`, { paused: false });
    expect(resumed.body).toMatchObject({ status: 'enabled', paused_at: null });
    await run();
    const byCall = (call: string) => receiver.received.filter((r) => r.json.call_id === call).map((r) => r.json.type);
    expect(byCall('p-1')).toEqual(['call.started', 'call.ended']);
    expect(byCall('p-2')).toEqual(['call.started', 'call.ended']);
    expect((await log(`destination_id=${id}&status=delivered`)).length).toBe(4);
  });

  it('shows failures in the log and the health, retries every failed delivery once with a count first, and previews a replay exactly', async () => {
    let down = true;
    await start(() => (down ? { status: 503, body: 'receiver down' } : { status: 200 }));
    const id = await destination();
    const events = await calls(['f-1', 'f-2']);
    await run();
    await advance(1_000);
    await advance(1_000);
    const failed = await log(`destination_id=${id}&status=failed`);
    expect(failed.length).toBe(4);
    expect(failed[0]).toMatchObject({ event_type: expect.stringMatching(/^call\./), call_id: expect.stringMatching(/^f-/), last_status: 503 });
    expect(failed[0]!.attempts[0]).toMatchObject({ status: 503, response_body: 'receiver down' });

    // Resuming starts a new run of failures: the time spent paused does not count towards disabling it.
    expect((await t.request('GET', `/v1/destinations/${id}`)).body.failing_since).not.toBeNull();
    expect((await t.request('PATCH', `/v1/destinations/${id}`, { paused: true })).body.failing_since).not.toBeNull();
    expect((await t.request('PATCH', `/v1/destinations/${id}`, { paused: false })).body).toMatchObject({ status: 'enabled', failing_since: null });

    // Several statuses at once, the event type, the call.
    expect((await log('status=failed,pending')).length).toBe(4);
    expect((await log('status=delivered,pending')).length).toBe(0);
    expect((await log('event_type=call.ended')).map((d) => d.event_type)).toEqual(['call.ended', 'call.ended']);
    expect((await log('call_id=f-2')).map((d) => d.event_id).sort()).toEqual(events.slice(2).sort());
    expect((await t.request('GET', '/v1/deliveries?status=failed,lost')).status).toBe(400);

    const health = (await t.request('GET', '/v1/destinations/health')).body;
    expect(health.since).toBe('2026-11-26T11:00:00.000Z');
    const [h] = health.data;
    expect(h).toMatchObject({ destination_id: id, delivered: 0, failed: 4, pending: 0, last_error: { status: 503, error: expect.any(String) } });
    expect(h.hourly).toHaveLength(24);
    expect(h.hourly.at(-1)).toMatchObject({ start: '2026-11-27T10:00:00.000Z', failed: 4 });
    expect(h.hourly.slice(0, 23).every((b: any) => b.failed + b.delivered + b.pending === 0)).toBe(true);

    const preview = await t.request('POST', `/v1/destinations/${id}/retry-failed`, { dry_run: true });
    expect(preview).toMatchObject({ status: 200, body: { retried: 4, dry_run: true } });
    expect((await log(`destination_id=${id}&status=failed`)).length).toBe(4);
    down = false;
    receiver.received.length = 0;
    const retried = await t.request('POST', `/v1/destinations/${id}/retry-failed`);
    expect(retried).toMatchObject({ status: 202, body: { retried: 4, dry_run: false } });
    await run();
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(ids.sort()).toEqual([...events].sort());
    expect((await t.request('POST', `/v1/destinations/${id}/retry-failed`, { dry_run: true })).body.retried).toBe(0);

    // A replay's preview is what the replay then queues. Paused, so that the worker (which the replay wakes)
    // sends none of them before the log is read: a paused destination gets deliveries queued, none claimed.
    expect((await t.request('PATCH', `/v1/destinations/${id}`, { paused: true })).status).toBe(200);
    const dry = await t.request('POST', `/v1/destinations/${id}/replay`, { dry_run: true, since: '2026-11-27T00:00:00Z' });
    expect(dry).toMatchObject({ status: 200, body: { queued: 4, dry_run: true } });
    expect((await log(`destination_id=${id}&status=pending`)).length).toBe(0);
    const real = await t.request('POST', `/v1/destinations/${id}/replay`, { since: '2026-11-27T00:00:00Z' });
    expect(real).toMatchObject({ status: 202, body: { queued: dry.body.queued, dry_run: false } });
    expect((await log(`destination_id=${id}&status=pending`)).length).toBe(dry.body.queued);
  });

  it('shows as the last error the attempt that failed last: an older delivery retried and failing now, not the latest-created one that failed before', async () => {
    let answer: () => Promise<{ status: number }> | { status: number } = () => ({ status: 503 });
    let arrived = () => {};
    await start(() => {
      arrived();
      const a = answer();
      return a instanceof Promise ? { status: 200, hold: a } : a;
    });
    const id = await destination();
    // The older delivery fails (503, twice), then a newer one (500, twice).
    expect((await t.post(endCall('e-1'))).status).toBe(200);
    await run();
    await advance(1_000);
    const [older] = await log(`destination_id=${id}&call_id=e-1`);
    clock += 10_000;
    answer = () => ({ status: 500 });
    expect((await t.post(endCall('e-2'))).status).toBe(200);
    await run();
    await advance(1_000);
    expect((await log(`destination_id=${id}&status=failed`)).map((d) => d.last_status)).toEqual([500, 503]);
    let h = (await t.request('GET', '/v1/destinations/health')).body.data[0];
    expect(h.last_error).toEqual({ at: new Date(clock).toISOString(), status: 500, error: 'answered 500' });

    // The older delivery, retried, fails now with a third error: that attempt is the last, its error the last error.
    clock += 10_000;
    answer = () => ({ status: 502 });
    expect((await t.request('POST', `/v1/deliveries/${older!.id}/retry`)).status).toBe(202);
    await run();
    const attempted = new Date(clock).toISOString();
    expect((await t.request('GET', `/v1/deliveries/${older!.id}`)).body.attempts.at(-1)).toMatchObject({ status: 502, attempted_at: attempted });
    h = (await t.request('GET', '/v1/destinations/health')).body.data[0];
    expect(h.last_error).toEqual({ at: attempted, status: 502, error: 'answered 502' });

    // Its next attempt under way (claimed a second later, no outcome yet): the last error is still that attempt's, at its time.
    let release = () => {};
    answer = () => new Promise<void>((resolve) => (release = resolve)).then(() => ({ status: 200 }));
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    clock += 1_000;
    const running = run();
    await reached;
    h = (await t.request('GET', '/v1/destinations/health')).body.data[0];
    expect(h.last_error).toEqual({ at: attempted, status: 502, error: 'answered 502' });
    release();
    await running;
  });

  it('lets a viewer read destinations, their health and the deliveries, never the secret, and refuses every change', async () => {
    await start();
    const id = await destination();
    await calls(['v-1']);
    await run();
    const viewer = (await t.request('POST', '/v1/keys', { name: 'viewer', scope: 'read' })).body.key as string;
    const as = (method: string, path: string, body?: unknown) => t.request(method, path, body, viewer);
    expect((await as('GET', '/v1/destinations')).status).toBe(200);
    const one = await as('GET', `/v1/destinations/${id}`);
    expect(one.status).toBe(200);
    expect(one.body.secret).toBeUndefined();
    expect(JSON.stringify(one.body)).not.toContain('whsec_' + (await t.request('GET', `/v1/destinations/${id}`)).body.secret.slice(6, 20));
    expect((await as('GET', '/v1/destinations/health')).status).toBe(200);
    const deliveries = await as('GET', `/v1/deliveries?destination_id=${id}`);
    expect(deliveries.body.data).toHaveLength(2);
    expect((await as('GET', `/v1/deliveries/${deliveries.body.data[0].id}`)).status).toBe(200);
    const refused = [
      await as('PATCH', `/v1/destinations/${id}`, { paused: true }),
      await as('POST', `/v1/destinations/${id}/retry-failed`, { dry_run: true }),
      await as('POST', `/v1/destinations/${id}/replay`, { dry_run: true }),
      await as('POST', `/v1/destinations/${id}/rotate-secret`),
      await as('POST', `/v1/destinations/${id}/test`),
      await as('POST', `/v1/deliveries/${deliveries.body.data[0].id}/retry`),
      await as('DELETE', `/v1/destinations/${id}`),
      await as('POST', '/v1/destinations', { url: receiver.url }),
    ];
    expect(refused.map((r) => r.status)).toEqual(Array(refused.length).fill(403));
    expect((await t.request('GET', `/v1/destinations/${id}`)).body.secret).toMatch(/^whsec_/);
  });

  it("never shows a viewer the values of a destination's headers (a receiver's credentials), only their names; an admin sees them", async () => {
    await start();
    const headers = { Authorization: 'Bearer receiver-token-123', 'X-Api-Key': 'crm-key-456' };
    const created = await t.request('POST', '/v1/destinations', { url: receiver.url, headers });
    expect(created.status).toBe(201);
    expect(created.body.headers).toEqual(headers);
    const id = created.body.id as string;
    const viewer = (await t.request('POST', '/v1/keys', { name: 'viewer', scope: 'read' })).body.key as string;
    for (const path of ['/v1/destinations', `/v1/destinations/${id}`]) {
      const seen = await t.request('GET', path, undefined, viewer);
      expect(seen.status).toBe(200);
      const text = JSON.stringify(seen.body);
      expect(text, path).not.toContain('receiver-token-123');
      expect(text, path).not.toContain('crm-key-456');
      const shown = path === '/v1/destinations' ? seen.body.data[0] : seen.body;
      expect(shown.headers).toEqual({ Authorization: '…', 'X-Api-Key': '…' });
    }
    // An admin (who edits them) reads them in full, listed or alone; a destination without headers shows null.
    expect((await t.request('GET', '/v1/destinations')).body.data[0].headers).toEqual(headers);
    expect((await t.request('GET', `/v1/destinations/${id}`)).body.headers).toEqual(headers);
    await t.request('PATCH', `/v1/destinations/${id}`, { headers: null });
    expect((await t.request('GET', `/v1/destinations/${id}`, undefined, viewer)).body.headers).toBeNull();
  });

  it("shows a viewer a destination's URL with its query values as [redacted] (the names kept); an admin sees it whole", async () => {
    await start();
    const url = `${receiver.url}/in?api_key=crm-key-789&sig=abc%2Fdef&flag=&debug`;
    const created = await t.request('POST', '/v1/destinations', { url });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const viewer = (await t.request('POST', '/v1/keys', { name: 'viewer', scope: 'read' })).body.key as string;
    const hidden = `${receiver.url}/in?api_key=[redacted]&sig=[redacted]&flag=&debug`;
    for (const path of ['/v1/destinations', `/v1/destinations/${id}`]) {
      const seen = await t.request('GET', path, undefined, viewer);
      expect(seen.status).toBe(200);
      expect(JSON.stringify(seen.body), path).not.toContain('crm-key-789');
      expect((path === '/v1/destinations' ? seen.body.data[0] : seen.body).url, path).toBe(hidden);
    }
    expect((await t.request('GET', '/v1/destinations')).body.data[0].url).toBe(url);
    expect((await t.request('GET', `/v1/destinations/${id}`)).body.url).toBe(url);
  });

  it("shows a viewer the secret in a destination URL's path (an incoming webhook's token) as [redacted]; an admin sees it whole", async () => {
    await start();
    const url = `${receiver.url}/services/T024BE7LD/B08K1Q2M3N4/vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a`;
    const created = await t.request('POST', '/v1/destinations', { url });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const viewer = (await t.request('POST', '/v1/keys', { name: 'viewer', scope: 'read' })).body.key as string;
    for (const path of ['/v1/destinations', `/v1/destinations/${id}`]) {
      const seen = await t.request('GET', path, undefined, viewer);
      expect(seen.status).toBe(200);
      expect(JSON.stringify(seen.body), path).not.toContain('vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a');
      expect((path === '/v1/destinations' ? seen.body.data[0] : seen.body).url, path).toBe(`${receiver.url}/services/T024BE7LD/B08K1Q2M3N4/[redacted]`);
    }
    expect((await t.request('GET', `/v1/destinations/${id}`)).body.url).toBe(url);
  });

  it('shows the messages a delivery stored before they were written redacted with their URLs redacted (the path token, query values)', async () => {
    await start(() => ({ status: 500 }));
    const destination = (await t.request('POST', '/v1/destinations', { url: receiver.url })).body as { id: string };
    await t.post(endCall('stored-before'));
    await run();
    // As a version before this one stored a refused redirect's target: whole.
    const old = 'redirect not followed (301 to https://hooks.slack.com/services/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?token=xoxb-123)';
    const db = new Kysely<any>({
      dialect: backend.name === 'sqlite'
        ? new SqliteDialect({ database: new SqliteDatabase(dbUrl.slice('sqlite:'.length)) })
        : new PostgresDialect({ pool: new pg.Pool({ connectionString: dbUrl, max: 1 }) }),
    });
    try {
      await db.updateTable('deliveries').set({ last_error: old }).execute();
      await db.updateTable('delivery_attempts').set({ error: old }).execute();
    } finally {
      await db.destroy();
    }
    const shown = 'redirect not followed (301 to https://hooks.slack.com/services/T024BE7LD/B08K1Q2M3N4/[redacted]?token=[redacted])';
    const viewer = (await t.request('POST', '/v1/keys', { name: 'viewer', scope: 'read' })).body.key as string;
    for (const key of [viewer, undefined]) {
      const [delivery] = (await t.request('GET', `/v1/deliveries?destination_id=${destination.id}`, undefined, key)).body.data;
      expect(delivery.last_error).toBe(shown);
      expect(delivery.attempts[0].error).toBe(shown);
      const health = (await t.request('GET', '/v1/destinations/health', undefined, key)).body.data[0];
      expect(health.last_error.error).toBe(shown);
      const call = (await t.request('GET', '/v1/calls/stored-before', undefined, key)).body;
      expect(JSON.stringify(call)).not.toContain('vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a');
    }
  });
});
