import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import SqliteDatabase from 'better-sqlite3';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppOptions } from '../src/app.js';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { startReceiver, type Answer, type Receiver } from './support/receiver.js';
import { openStream, waitFor } from './support/sse.js';

/**
 * Outbound webhooks end to end: real server, real database, a real receiver on loopback, and a clock the
 * test drives, so the whole retry schedule (hours) runs in milliseconds.
 */
const schedule = [5, 300, 1800, 7200, 18000, 36000, 36000];

describe.each(backends)('outbound webhooks ($name)', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let clock: number;
  let dbUrl: string;

  async function start(flags: Record<string, unknown> = {}, answer?: Parameters<typeof startReceiver>[0], options: AppOptions = {}) {
    clock = Date.parse('2026-11-27T10:00:00Z');
    receiver = await startReceiver(answer);
    dbUrl = await backend.freshDb();
    t = await startTestApp(dbUrl, { allowPrivateDestinations: true, retryJitter: 0, ...flags } as never, { now: () => clock, ...options });
  }

  afterEach(async () => {
    await t?.close();
    await receiver?.close();
  });

  async function addDestination(body: Record<string, unknown> = {}) {
    const created = await t.request('POST', '/v1/destinations', { url: receiver.url, ...body });
    expect(created.status).toBe(201);
    return created.body as { id: string; secret: string };
  }

  async function post(body: string) {
    const r = await t.post(body);
    expect(r.status).toBe(200);
    return r.body.id as string;
  }

  const run = () => t.app.relay.worker!.runUntilIdle();
  /** Moves the driven clock and lets the worker send what fell due. */
  async function advance(ms: number) {
    clock += ms;
    await run();
  }

  /**
   * A trigger that refuses the attempts of `destination` (null: every attempt), as a broken constraint would:
   * SQLite's SQLITE_CONSTRAINT_TRIGGER, PostgreSQL's 23514.
   */
  async function refuseAttempts(destination: string | null) {
    if (backend.name === 'sqlite') {
      const raw = new SqliteDatabase(dbUrl.slice('sqlite:'.length));
      raw.exec(`create trigger refuse_attempts before insert on delivery_attempts
        when ${destination === null ? 'true' : `(select destination_id from deliveries where id = new.delivery_id) = '${destination}'`}
        begin select raise(abort, 'refused by a constraint'); end`);
      raw.close();
      return;
    }
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    await client.query(`create function refuse_attempts() returns trigger language plpgsql as $$ begin
      if ${destination === null ? 'true' : `(select destination_id from deliveries where id = new.delivery_id) = '${destination}'`} then
        raise exception 'refused by a constraint' using errcode = 'check_violation'; end if; return new; end $$`);
    await client.query('create trigger refuse_attempts before insert on delivery_attempts for each row execute function refuse_attempts()');
    await client.end();
  }
  /** The webhook-ids the receiver got with header x-to: `to`. */
  const sentTo = (to: string) => receiver.received.filter((r) => r.headers['x-to'] === to).map((r) => r.headers['webhook-id']);
  const statusesOf = async (destination: string) => ((await t.api(`/v1/deliveries?destination_id=${destination}`)).body.data as Array<{ status: string }>).map((d) => d.status);

  it('signs every webhook so that both standardwebhooks and svix verify it, with the event id as webhook-id', async () => {
    await start();
    const destination = await addDestination();
    const started = await post(startCall('sig-1'));
    const ended = await post(endCall('sig-1'));
    await run();
    expect(receiver.received.map((r) => r.json.type)).toEqual(['call.started', 'call.ended']);
    for (const r of receiver.received) {
      const headers = r.headers as Record<string, string>;
      expect(new StandardWebhook(destination.secret).verify(r.body, headers)).toEqual(r.json);
      expect(new SvixWebhook(destination.secret).verify(r.body, headers)).toEqual(r.json);
      expect(() => new StandardWebhook(destination.secret).verify(r.body.replace('sig-1', 'sig-2'), headers)).toThrow();
    }
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([started, ended]);
    const [first, second] = receiver.received.map((r) => r.json);
    expect(first).toMatchObject({ id: started, call_id: 'sig-1', data: { type: 'start_call', call_id: 'sig-1' }, call: { status: 'in_progress' } });
    expect(second).toMatchObject({ id: ended, data: { type: 'end_call', call_status: 'answered' }, call: { status: 'answered', event_count: 2 } });
  });

  it('retries a destination that is down for the whole schedule, on the schedule, and delivers every event in order per call when it is back', async () => {
    await start({}, () => ({ status: 500, body: 'down' }));
    await addDestination();
    const calls = ['down-a', 'down-b', 'down-c'];
    for (const id of calls) {
      await post(startCall(id));
      await post(endCall(id));
    }
    await run();
    // Only each call's first event is tried: its call.ended waits behind it.
    expect(receiver.received.map((r) => r.json.type)).toEqual(['call.started', 'call.started', 'call.started']);
    for (const [k, seconds] of schedule.entries()) {
      if (k === 1) {
        // From a failed attempt on, a call.ended is not due before its call.started's next retry, so claims
        // do not step over it while the destination is down. (Each retry pushes them: one queued after the
        // first attempt, as the worker may try a call.started before its call.ended is even committed, is
        // pushed at the next.)
        const pending = (await t.api('/v1/deliveries?status=pending')).body.data as Array<{ next_attempt_at: string }>;
        expect(pending).toHaveLength(6);
        expect(new Set(pending.map((d) => d.next_attempt_at))).toEqual(new Set([new Date(clock + seconds * 1000).toISOString()]));
      }
      await advance(seconds * 1000 - 1);
      expect(receiver.received, `nothing is sent before retry ${k + 1} is due`).toHaveLength(3 * (k + 1));
      if (k === schedule.length - 1) receiver.answer(() => ({ status: 204 }));
      await advance(1);
      expect(receiver.received.length, `retry ${k + 1} went out when due`).toBeGreaterThanOrEqual(3 * (k + 2));
    }
    const delivered = receiver.received.filter((r) => r.status === 204);
    expect(delivered.map((r) => r.json.type).sort()).toEqual(['call.ended', 'call.ended', 'call.ended', 'call.started', 'call.started', 'call.started']);
    for (const id of calls) {
      const types = receiver.received.filter((r) => r.json.call_id === id).map((r) => r.json.type);
      expect(types).toEqual([...Array(8).fill('call.started'), 'call.ended']);
      expect(new Set(receiver.received.filter((r) => r.json.call_id === id && r.json.type === 'call.started').map((r) => r.headers['webhook-id'])).size).toBe(1);
    }
    const listed = await t.api(`/v1/deliveries?status=delivered`);
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(6);
    const started = listed.body.data.find((d: any) => d.attempts.length === 8);
    expect(started.attempts.slice(0, 7).map((a: any) => a.status)).toEqual(Array(7).fill(500));
    expect(started.attempts[0].response_body).toBe('down');
  });

  it('delivers every event larger than a claim\'s byte budget, once each, to every destination (a claim reads what fits, the rest waits)', async () => {
    // A budget of 64 KB: a claim of these ~30 KB events reads two or three of them.
    await start({}, undefined, { readPageBytes: 64 * 1024 });
    const destinations = [await addDestination(), await addDestination()];
    // Queued while the destinations are paused, so that one claim takes them all (the worker, woken by each append,
    // would otherwise send each as it comes).
    for (const d of destinations) expect((await t.request('PATCH', `/v1/destinations/${d.id}`, { paused: true })).status).toBe(200);
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await post(i % 4 === 3 ? startCall(`large-${i}`) : endCall(`large-${i}`, { note: `${i}`.padEnd(30_000, 'x') })));
    for (const d of destinations) expect((await t.request('PATCH', `/v1/destinations/${d.id}`, { paused: false })).status).toBe(200);
    await run();
    expect(receiver.received.filter((r) => r.status === 200)).toHaveLength(ids.length * destinations.length);
    const sent = receiver.received.map((r) => r.headers['webhook-id'] as string);
    expect(new Set(sent).size).toBe(ids.length);
    expect([...sent].sort()).toEqual([...ids, ...ids].sort());
    for (const id of ids) {
      const deliveries = (await t.api(`/v1/deliveries?event_id=${id}`)).body.data as { status: string; attempt_count: number }[];
      expect(deliveries.map((d) => [d.status, d.attempt_count])).toEqual([['delivered', 1], ['delivered', 1]]);
    }
  });

  it('records an answer whose body holds NUL (which PostgreSQL text cannot store) with U+FFFD in its place', async () => {
    await start({}, ({ index }) => (index === 0 ? { status: 500, body: 'down\u0000again' } : { status: 200, body: '\u0000ok' }));
    await addDestination();
    await post(startCall('nul-answer'));
    await run();
    await advance(schedule[0]! * 1000);
    expect(receiver.received.map((r) => r.status)).toEqual([500, 200]);
    const listed = (await t.api('/v1/deliveries?status=delivered')).body.data as Array<{ attempts: Array<{ status: number; response_body: string }> }>;
    expect(listed).toHaveLength(1);
    expect(listed[0]!.attempts.map((a) => [a.status, a.response_body])).toEqual([[500, 'down\uFFFDagain'], [200, '\uFFFDok']]);
  });

  it('counts a 2xx whose body the receiver cut off as delivered, and says in the attempt that the body was cut', async () => {
    await start({}, () => ({ status: 200, body: 'accepted', cutBody: true }));
    await addDestination();
    await post(startCall('cut-answer'));
    await run();
    await advance(schedule[0]! * 1000);
    expect(receiver.received).toHaveLength(1);
    const [delivery] = (await t.api('/v1/deliveries')).body.data as Array<{ status: string; last_error: string | null; attempts: Array<{ status: number; response_body: string; error: string | null }> }>;
    expect(delivery).toMatchObject({ status: 'delivered', last_error: null });
    expect(delivery!.attempts).toMatchObject([{
      status: 200, error: null,
      response_body: 'accepted[body cut off: connection closed by the receiver in the middle of its answer (after the status)]',
    }]);
  });

  it('names the source of each delivery\'s call in the delivery log (two sources may send the same call id)', async () => {
    await start();
    await addDestination();
    await post(startCall('src-1'));
    await run();
    const { source_id: sourceId } = (await t.api('/v1/calls/src-1')).body;
    expect(sourceId).toMatch(/^src_/);
    const log = (await t.api('/v1/deliveries')).body;
    expect(log.data).toHaveLength(1);
    expect(log.data[0]).toMatchObject({ call_id: 'src-1', source_id: sourceId });
    expect((await t.api(`/v1/deliveries/${log.data[0].id}`)).body).toMatchObject({ call_id: 'src-1', source_id: sourceId });
  });

  it("shows each destination's deliveries of a call in the call's detail view", async () => {
    await start({}, ({ index }) => ({ status: index === 1 ? 503 : 200, body: 'x' }));
    const good = await addDestination();
    const filtered = await addDestination({ event_types: ['call.ended'] });
    await post(startCall('sum-1'));
    await post(endCall('sum-1'));
    await run();
    const detail = (await t.api('/v1/calls/sum-1')).body;
    const byDestination = Object.fromEntries(detail.deliveries.map((d: { destination_id: string }) => [d.destination_id, d]));
    expect(Object.keys(byDestination).sort()).toEqual([good.id, filtered.id].sort());
    // Three deliveries in all, one of them answered 503: retrying, so one of the two destinations has it pending.
    const total = (d: { pending: number; delivered: number; failed: number; cancelled: number }) => d.pending + d.delivered + d.failed + d.cancelled;
    expect(total(byDestination[good.id]) + total(byDestination[filtered.id])).toBe(3);
    expect(total(byDestination[filtered.id])).toBe(1);
    expect(detail.deliveries.reduce((n: number, d: { pending: number }) => n + d.pending, 0)).toBe(1);
    const retrying = detail.deliveries.find((d: { pending: number }) => d.pending === 1);
    expect(retrying).toMatchObject({ last_status: 503, last_attempt_at: new Date(clock).toISOString() });
    await advance(5_000);
    const after = (await t.api('/v1/calls/sum-1')).body;
    expect(after.deliveries.reduce((n: number, d: { delivered: number }) => n + d.delivered, 0)).toBe(3);
    expect(after.deliveries.every((d: { last_status: number }) => d.last_status === 200)).toBe(true);
  });

  it('sends the events of different calls in parallel, and each call in order', async () => {
    await start({}, ({ index }) => ({ status: 200, delayMs: (index * 7) % 23 }));
    await addDestination();
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      await post(startCall(`par-${i}`));
      await post(endCall(`par-${i}`));
    }));
    await run();
    expect(receiver.received).toHaveLength(80);
    for (let i = 0; i < 40; i++) {
      expect(receiver.received.filter((r) => r.json.call_id === `par-${i}`).map((r) => r.json.type)).toEqual(['call.started', 'call.ended']);
    }
    expect(receiver.maxInFlight).toBeGreaterThan(1);
  });

  it('honours Retry-After on 429 within 1× to 2× the scheduled delay', async () => {
    const retryAfter = ['3600', '7'];
    await start({}, ({ index }) => (index < 2 ? { status: 429, headers: { 'retry-after': retryAfter[index]! } } : { status: 200 }));
    await addDestination();
    await post(endCall('busy-1'));
    await run();
    // Retry-After: 3600 is more than twice the 5 s the schedule gives: it waits 10 s.
    await advance(9_999);
    expect(receiver.received).toHaveLength(1);
    await advance(1);
    expect(receiver.received).toHaveLength(2);
    // Retry-After: 7 is below the 300 s the schedule gives the second retry: the schedule wins.
    await advance(299_999);
    expect(receiver.received).toHaveLength(2);
    await advance(1);
    expect(receiver.received.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('waits the Retry-After a 503 asks for when it lies between 1× and 2× the schedule', async () => {
    await start({}, ({ index }) => (index === 0 ? { status: 503, headers: { 'retry-after': '8' } } : { status: 200 }));
    await addDestination();
    await post(endCall('unavailable-1'));
    await run();
    await advance(7_999);
    expect(receiver.received).toHaveLength(1);
    await advance(1);
    expect(receiver.received.map((r) => r.status)).toEqual([503, 200]);
  });

  it('disables a destination that answers 410 Gone, and says so on the log', async () => {
    await start({}, () => ({ status: 410 }));
    const destination = await addDestination();
    await post(endCall('gone-1'));
    await run();
    const shown = await t.api(`/v1/destinations/${destination.id}`);
    expect(shown.body.disabled_at).not.toBeNull();
    expect(shown.body.disabled_reason).toMatch(/410/);
    const disabled = await t.api('/v1/events?type=switchboard.destination.disabled');
    expect(disabled.body.data).toHaveLength(1);
    const failed = await t.api(`/v1/deliveries?destination_id=${destination.id}&status=failed`);
    expect(failed.body.data).toHaveLength(1);
    // No deliveries are made for a disabled destination; after re-enabling, new events go out again.
    await post(endCall('gone-2'));
    await run();
    expect(receiver.received).toHaveLength(1);
    receiver.answer(() => ({ status: 200 }));
    expect((await t.request('PATCH', `/v1/destinations/${destination.id}`, { disabled: false })).status).toBe(200);
    await post(endCall('gone-3'));
    await run();
    expect(receiver.received.map((r) => r.json.call_id)).toEqual(['gone-1', 'gone-3']);
  });

  it('publishes switchboard.destination.disabled once when several deliveries in flight get 410 Gone, and not for a destination already disabled', async () => {
    await start({}, () => ({ status: 410, delayMs: 50 }));
    const destination = await addDestination();
    // Three calls: sent in parallel, all three answered 410 while in flight. Queued while the destination is
    // paused: the worker, woken by each append, would otherwise send the first (and be disabled by its 410)
    // before a slow machine had posted the third.
    expect((await t.request('PATCH', `/v1/destinations/${destination.id}`, { paused: true })).status).toBe(200);
    for (const id of ['gone-a', 'gone-b', 'gone-c']) await post(endCall(id));
    expect((await t.request('PATCH', `/v1/destinations/${destination.id}`, { paused: false })).status).toBe(200);
    await run();
    expect(receiver.received).toHaveLength(3);
    const disabled = (await t.api('/v1/events?type=switchboard.destination.disabled')).body.data as Array<{ id: string }>;
    expect(disabled).toHaveLength(1);
    expect((await t.api(`/v1/deliveries?destination_id=${destination.id}&status=failed`)).body.data).toHaveLength(3);
    // Each delivery's own failure is still published, once each.
    expect((await t.api('/v1/events?type=switchboard.delivery.failed')).body.data).toHaveLength(3);

    // Disabled by an administrator while a delivery is in flight: its 410 disables nothing more, and says nothing.
    const other = await addDestination();
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => { arrived = resolve; });
    receiver.answer(() => { arrived(); return { status: 410, delayMs: 300 }; });
    await post(endCall('gone-d'));
    const running = run();
    await arrival;
    expect((await t.request('PATCH', `/v1/destinations/${other.id}`, { disabled: true })).status).toBe(200);
    await running;
    expect((await t.api(`/v1/destinations/${other.id}`)).body.disabled_reason).toBe('disabled by an administrator');
    expect((await t.api('/v1/events?type=switchboard.destination.disabled')).body.data).toHaveLength(1);
  });

  it('dead-letters a delivery when the schedule runs out, publishes switchboard.delivery.failed, and a retry or replay sends it again', async () => {
    await start({ retryScheduleSec: [1, 1] }, () => ({ status: 500 }));
    const destination = await addDestination();
    const first = await post(endCall('dead-1'));
    const second = await post(endCall('dead-2'));
    await run();
    await advance(1000);
    await advance(1000);
    expect(receiver.received).toHaveLength(6);
    const failed = await t.api(`/v1/deliveries?destination_id=${destination.id}&status=failed`);
    expect(failed.body.data.map((d: any) => d.event_id).sort()).toEqual([first, second].sort());
    const events = await t.api('/v1/events?type=switchboard.delivery.failed');
    expect(events.body.data).toHaveLength(2);
    const detail = await t.api(`/v1/events/${events.body.data[0].id}`);
    expect(JSON.parse(detail.body.body)).toMatchObject({ destination_id: destination.id, attempts: 3, last_status: 500 });

    receiver.answer(() => ({ status: 200 }));
    const deliveryOfFirst = failed.body.data.find((d: any) => d.event_id === first).id;
    expect((await t.request('POST', `/v1/deliveries/${deliveryOfFirst}/retry`)).status).toBe(202);
    await run();
    expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(first);
    const replay = await t.request('POST', `/v1/destinations/${destination.id}/replay`, { only_failed: true });
    expect(replay.status).toBe(202);
    expect(replay.body.queued).toBe(1);
    await run();
    expect(receiver.received.slice(-2).map((r) => [r.headers['webhook-id'], r.status])).toEqual([[first, 200], [second, 200]]);
  });

  /**
   * The second attempt (the schedule's last) is held open until the test has asked (`ask`: a retry, a replay), then
   * answered `last`; the worker then runs until idle.
   */
  async function askDuringLastAttempt(last: number, ask: (destinationId: string, deliveryId: string) => Promise<void>) {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => { arrived = resolve; });
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    await start({ retryScheduleSec: [5] }, ({ index }) => {
      if (index !== 1) return { status: index === 0 ? 500 : 200 };
      arrived();
      return { status: last, hold: held };
    });
    const destination = await addDestination();
    const event = await post(endCall('asked-in-flight'));
    await run();
    clock += 5000;
    const running = run();
    await arrival;
    const [delivery] = (await t.api(`/v1/deliveries?destination_id=${destination.id}`)).body.data as Array<{ id: string }>;
    await ask(destination.id, delivery!.id);
    release();
    await running;
    await run();
    return { event, destination, delivery: (await t.api(`/v1/deliveries/${delivery!.id}`)).body };
  }

  describe('a retry asked for while the last scheduled attempt is in flight', () => {
    const retryDuringLastAttempt = (last: number) => askDuringLastAttempt(last, async (_, id) => {
      expect((await t.request('POST', `/v1/deliveries/${id}/retry`)).status).toBe(202);
    });

    it('is honoured when that attempt fails: the delivery goes out again, not failed', async () => {
      const { event, delivery } = await retryDuringLastAttempt(500);
      expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([[event, 500], [event, 500], [event, 200]]);
      expect(delivery).toMatchObject({ status: 'delivered', attempt_count: 3 });
      expect(delivery.attempts.map((a: { status: number }) => a.status)).toEqual([500, 500, 200]);
      expect((await t.api('/v1/events?type=switchboard.delivery.failed')).body.data).toEqual([]);
      // The held attempt's failure is counted as the retry it became.
      const metrics = (await t.api('/metrics', null)).body as string;
      expect(metrics).toContain('switchboard_delivery_attempts_total{result="retry"} 2');
      expect(metrics).not.toContain('switchboard_delivery_attempts_total{result="failed"}');
    });

    it('begins a fresh run at the next claim when that attempt\'s lease runs out before its outcome', async () => {
      let arrivals = 0;
      let arrived!: () => void;
      const arrival = new Promise<void>((resolve) => { arrived = resolve; });
      let release!: () => void;
      const held = new Promise<void>((resolve) => { release = resolve; });
      await start({ retryScheduleSec: [5] }, () => {
        arrivals += 1;
        if (arrivals > 1) return { status: arrivals === 2 ? 500 : 200 };
        arrived();
        return { status: 500, hold: held };
      });
      const destination = await addDestination();
      await post(endCall('lease-out'));
      const first = run();
      await arrival;
      const [delivery] = (await t.api(`/v1/deliveries?destination_id=${destination.id}`)).body.data as Array<{ id: string }>;
      expect((await t.request('POST', `/v1/deliveries/${delivery!.id}/retry`)).status).toBe(202);
      // The held attempt outlives its lease (60 s): the delivery is claimed again and its attempt fails.
      clock += 61_000;
      const second = run();
      await waitFor('the second claim\'s attempt', () => arrivals === 2);
      release();
      await Promise.all([first, second]);
      // That attempt is the first of the run the retry began: the next is due 5 s after it. (The held attempt's outcome came too late.)
      expect((await t.api(`/v1/deliveries/${delivery!.id}`)).body).toMatchObject({ status: 'pending', attempt_count: 1, next_attempt_at: new Date(clock + 5000).toISOString() });
      await advance(5000);
      expect((await t.api(`/v1/deliveries/${delivery!.id}`)).body).toMatchObject({ status: 'delivered', attempt_count: 2 });
    });

    it('is moot when that attempt succeeds: delivered, not sent again', async () => {
      const { event, delivery } = await retryDuringLastAttempt(200);
      expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([[event, 500], [event, 200]]);
      expect(delivery).toMatchObject({ status: 'delivered', attempt_count: 2 });
    });
  });

  describe('retention over a paused destination\'s backlog', () => {
    /** Log lines at warn and above, parsed. */
    function warnings() {
      const lines: string[] = [];
      const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
      return { options: { logger: { stream } }, read: () => lines.map((line) => JSON.parse(line)).filter((entry) => entry.level >= 40) };
    }

    it('deletes its pending deliveries with their events, and says so: the prune\'s answer counts them (undelivered) and a warning names the destination', async () => {
      const log = warnings();
      await start({ logLevel: 'warn' }, undefined, log.options);
      const destination = await addDestination({ headers: { authorization: 'Bearer receiver-secret' } });
      const other = await addDestination();
      expect((await t.request('PATCH', `/v1/destinations/${destination.id}`, { paused: true })).status).toBe(200);
      await post(endCall('paused-old-1'));
      await post(endCall('paused-old-2'));
      await run();
      // The other destination got both: its two delivered deliveries go too, and are not counted as undelivered.
      expect(receiver.received).toHaveLength(2);
      const [delivery] = (await t.api(`/v1/deliveries?destination_id=${destination.id}&status=pending`)).body.data as Array<{ id: string }>;
      expect(delivery).toBeDefined();
      clock += 10 * 86_400_000;
      expect((await t.request('POST', '/v1/prune', { retention_days: 5 })).body).toEqual({
        before: new Date(clock - 5 * 86_400_000).toISOString(), events: 2, deliveries: 4, undelivered: 2, calls: 2,
      });
      expect((await t.api(`/v1/deliveries/${delivery!.id}`)).status).toBe(404);
      expect(await t.app.storage.deliveries.pendingCount()).toBe(0);
      const said = log.read().filter((entry) => entry.undelivered !== undefined);
      expect(said).toHaveLength(1);
      expect(said[0]).toMatchObject({ level: 40, undelivered: { [destination.id]: 2 } });
      expect(said[0].msg).toMatch(/retention deleted 2 deliveries that were still pending/);
      expect(JSON.stringify(said[0])).not.toContain(other.id);
      expect(JSON.stringify(said[0])).not.toContain(receiver.url);
      expect(JSON.stringify(said[0])).not.toContain('receiver-secret');
      // A prune with nothing undelivered says nothing.
      expect((await t.request('POST', '/v1/prune', { retention_days: 5 })).body).toMatchObject({ events: 0, undelivered: 0 });
      expect(log.read().filter((entry) => entry.undelivered !== undefined)).toHaveLength(1);
      // Resumed, the destination never gets those events: retention applies to a held backlog too.
      expect((await t.request('PATCH', `/v1/destinations/${destination.id}`, { paused: false })).status).toBe(200);
      await run();
      expect(receiver.received).toHaveLength(2);
    });

    it('says so when the server\'s own retention (SWITCHBOARD_RETENTION_DAYS) deletes them', async () => {
      const log = warnings();
      await start({ logLevel: 'warn', retentionDays: 5, retentionCheckSec: 1 }, undefined, log.options);
      const destination = await addDestination();
      expect((await t.request('PATCH', `/v1/destinations/${destination.id}`, { paused: true })).status).toBe(200);
      await post(endCall('paused-old'));
      await run();
      expect(await t.app.storage.deliveries.pendingCount()).toBe(1);
      clock += 10 * 86_400_000;
      await waitFor('the retention job\'s warning', () => log.read().some((entry) => entry.undelivered !== undefined));
      expect(log.read().find((entry) => entry.undelivered !== undefined)).toMatchObject({ level: 40, undelivered: { [destination.id]: 1 } });
      expect(await t.app.storage.deliveries.pendingCount()).toBe(0);
    });
  });

  describe('a replay asked for while a delivery of one of its events is in flight', () => {
    it('is honoured when that attempt, the schedule\'s last, fails: the delivery stays pending and goes out again', async () => {
      const { event, destination, delivery } = await askDuringLastAttempt(500, async (destinationId) => {
        // The replay meets the delivery in flight: it queues nothing beside it (one live delivery per event).
        const replay = await t.request('POST', `/v1/destinations/${destinationId}/replay`, {});
        expect(replay.status).toBe(202);
        expect(replay.body.queued).toBe(0);
      });
      // The held attempt's failure left it pending, due at once: it went out again (it had ended failed).
      expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([[event, 500], [event, 500], [event, 200]]);
      expect(delivery).toMatchObject({ status: 'delivered', attempt_count: 3 });
      expect((await t.api(`/v1/deliveries?destination_id=${destination.id}`)).body.data).toHaveLength(1);
      expect((await t.api('/v1/events?type=switchboard.delivery.failed')).body.data).toEqual([]);
    });

    it('leaves a pending delivery that is not in flight as it is (it goes out anyway, at its time)', async () => {
      await start({ retryScheduleSec: [5] }, ({ index }) => ({ status: index === 0 ? 500 : 200 }));
      const destination = await addDestination();
      const event = await post(endCall('replay-pending'));
      await run();
      const [before] = (await t.api(`/v1/deliveries?destination_id=${destination.id}`)).body.data as Array<{ id: string; next_attempt_at: string }>;
      const replay = await t.request('POST', `/v1/destinations/${destination.id}/replay`, {});
      expect(replay.body.queued).toBe(0);
      expect((await t.api(`/v1/deliveries/${before!.id}`)).body).toMatchObject({ status: 'pending', attempt_count: 1, next_attempt_at: before!.next_attempt_at });
      await advance(5000);
      expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([[event, 500], [event, 200]]);
    });
  });

  it('honours a retry of the failed deliveries asked for while a replay of one of them is on its last attempt: that attempt fails, it goes out again', async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => { arrived = resolve; });
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    // The original's two attempts and the replay's first fail; the replay's second (its last) is held, then fails.
    await start({ retryScheduleSec: [5] }, ({ index }) => {
      if (index !== 3) return { status: index < 3 ? 500 : 200 };
      arrived();
      return { status: 500, hold: held };
    });
    const destination = await addDestination();
    const event = await post(endCall('retry-failed-in-flight'));
    await run();
    await advance(5000);
    const [original] = (await t.api(`/v1/deliveries?destination_id=${destination.id}`)).body.data as Array<{ id: string; status: string }>;
    expect(original).toMatchObject({ status: 'failed' });
    expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, {})).body.queued).toBe(1);
    await run();
    clock += 5000;
    const running = run();
    await arrival;
    // The failed event's replay is in flight: the retry marks it (counted, the preview too) instead of queuing beside it.
    expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, { dry_run: true })).body).toMatchObject({ retried: 1, dry_run: true });
    expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, {})).body).toMatchObject({ retried: 1 });
    release();
    await running;
    await run();
    expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([[event, 500], [event, 500], [event, 500], [event, 500], [event, 200]]);
    const deliveries = (await t.api(`/v1/deliveries?destination_id=${destination.id}`)).body.data as Array<{ id: string; status: string }>;
    expect(deliveries.map((d) => d.status).sort()).toEqual(['delivered', 'failed']);
    // Only the original's failure was published: the replay's last attempt did not end it.
    expect((await t.api('/v1/events?type=switchboard.delivery.failed')).body.data).toHaveLength(1);
  });

  /**
   * Replays the destination's events received before `until` (one: `event`), its attempt held open, then
   * answered 500; meanwhile retries the failed deliveries, whose preview and retry must count 1 (another
   * event's; `event`'s delivery in flight is neither counted nor marked). Other webhooks are answered 200.
   * Answers what the receiver got from `from` on, sorted.
   */
  async function retryFailedDuringHeldReplay(destinationId: string, event: string, until: number, from: number) {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => { arrived = resolve; });
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    receiver.answer(({ json }) => {
      if (json?.id !== event) return { status: 200 };
      arrived();
      return { status: 500, hold: held };
    });
    expect((await t.request('POST', `/v1/destinations/${destinationId}/replay`, { until: new Date(until).toISOString() })).body.queued).toBe(1);
    const running = run();
    await arrival;
    expect((await t.request('POST', `/v1/destinations/${destinationId}/retry-failed`, { dry_run: true })).body).toMatchObject({ retried: 1 });
    expect((await t.request('POST', `/v1/destinations/${destinationId}/retry-failed`, {})).body).toMatchObject({ retried: 1 });
    release();
    await running;
    await run();
    return receiver.received.slice(from).map((r) => [r.headers['webhook-id'], r.status]).sort();
  }

  describe('a retry of the failed deliveries after a replay delivered one of their events', () => {
    /** `first` fails (both attempts), is replayed and delivered; then `second` fails. */
    async function failReplayDeliverThenFail(answer: (arrival: number) => Answer) {
      let arrivals = 0;
      await start({ retryScheduleSec: [5] }, () => answer(arrivals++));
      const destination = await addDestination();
      const first = await post(endCall('failed-then-replayed'));
      await run();
      await advance(5000);
      expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, {})).body.queued).toBe(1);
      await run();
      const second = await post(endCall('failed-only'));
      await run();
      await advance(5000);
      return { destination, first, second };
    }

    it('sends only the events whose latest delivery failed, not one the replay delivered (the preview counts the same)', async () => {
      // first: 500, 500, then its replay 200; second: 500, 500; then 200.
      const { destination, first, second } = await failReplayDeliverThenFail((arrival) => ({ status: arrival === 2 || arrival > 4 ? 200 : 500 }));
      expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([[first, 500], [first, 500], [first, 200], [second, 500], [second, 500]]);
      expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, { dry_run: true })).body).toMatchObject({ retried: 1, dry_run: true });
      expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, {})).body).toMatchObject({ retried: 1, dry_run: false });
      await run();
      expect(receiver.received.slice(5).map((r) => [r.headers['webhook-id'], r.status])).toEqual([[second, 200]]);
      // The original failed delivery of `first` stays as it was: failed, its event delivered by the replay.
      const ofFirst = (await t.api(`/v1/deliveries?event_id=${first}`)).body.data as Array<{ status: string }>;
      expect(ofFirst.map((d) => d.status).sort()).toEqual(['delivered', 'failed']);
    });

    it('does not mark a later replay of that event in flight (its latest delivery before it was delivered)', async () => {
      // first: 500, 500, its replay 200; second: 500, 500.
      const { destination, first, second } = await failReplayDeliverThenFail((arrival) => ({ status: arrival === 2 ? 200 : 500 }));
      // A replay of `first` alone (by its time: `second` came later), its attempt held. Marked, its failure
      // would leave it due at once and it would go out again; unmarked, it waits its 5 s.
      expect(await retryFailedDuringHeldReplay(destination.id, first, clock - 5000, 5)).toEqual([[first, 500], [second, 200]].sort());
    });
  });

  describe('"the events whose latest delivery failed": the delivery whose outcome came last', () => {
    /**
     * `event`'s original delivery fails (both attempts), a replay of it fails too; then `then` answers a single
     * retry of the original (a second later). Another event, `other`, fails after that: the rule still takes it.
     */
    async function replayFailedThenRetryOriginal(then: number) {
      let answer = 500;
      await start({ retryScheduleSec: [5] }, () => ({ status: answer }));
      const destination = await addDestination();
      const event = await post(endCall('latest-outcome'));
      await run();
      await advance(5000);
      expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, {})).body.queued).toBe(1);
      await run();
      await advance(5000);
      const ofEvent = (await t.api(`/v1/deliveries?event_id=${event}`)).body.data as Array<{ id: string; status: string }>;
      expect(ofEvent.map((d) => d.status)).toEqual(['failed', 'failed']);
      // The list is newest first: the original is the last.
      const original = ofEvent[1]!;
      clock += 1000;
      answer = then;
      expect((await t.request('POST', `/v1/deliveries/${original.id}/retry`)).status).toBe(202);
      await run();
      answer = 500;
      clock += 1000;
      const other = await post(endCall('latest-outcome-other'));
      await run();
      await advance(5000);
      answer = 200;
      return { destination, event, other, original };
    }

    it('leaves out an event whose original, retried after its replay failed, was delivered (retry-failed, its preview, only_failed)', async () => {
      const { destination, event, other } = await replayFailedThenRetryOriginal(200);
      expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([
        [event, 500], [event, 500], [event, 500], [event, 500], [event, 200], [other, 500], [other, 500],
      ]);
      expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, { dry_run: true })).body).toMatchObject({ retried: 1, dry_run: true });
      expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, { only_failed: true, dry_run: true })).body).toMatchObject({ queued: 1 });
      expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, {})).body).toMatchObject({ retried: 1, dry_run: false });
      await run();
      expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, { only_failed: true })).body).toMatchObject({ queued: 0 });
      await run();
      // The delivered event is not sent again; the other one is, once.
      expect(receiver.received.slice(7).map((r) => [r.headers['webhook-id'], r.status])).toEqual([[other, 200]]);
    });

    it('does not mark a later replay of that event in flight (of the others, the one finished last was delivered)', async () => {
      const { destination, event, other } = await replayFailedThenRetryOriginal(200);
      // A replay of `event` alone (by its time: `other` came later), its attempt held. Marked, its failure would
      // leave it due at once and it would go out again; unmarked, it waits its 5 s.
      expect(await retryFailedDuringHeldReplay(destination.id, event, clock - 6000, 7)).toEqual([[event, 500], [other, 200]].sort());
    });

    it('takes an event whose replay was delivered and whose original, retried after that, failed again', async () => {
      let answer = 500;
      await start({ retryScheduleSec: [5] }, () => ({ status: answer }));
      const destination = await addDestination();
      const event = await post(endCall('latest-outcome-failed'));
      await run();
      await advance(5000);
      answer = 200;
      expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, {})).body.queued).toBe(1);
      await run();
      const ofEvent = (await t.api(`/v1/deliveries?event_id=${event}`)).body.data as Array<{ id: string; status: string }>;
      expect(ofEvent.map((d) => d.status)).toEqual(['delivered', 'failed']);
      clock += 1000;
      answer = 500;
      expect((await t.request('POST', `/v1/deliveries/${ofEvent[1]!.id}/retry`)).status).toBe(202);
      await run();
      await advance(5000);
      expect((await t.api(`/v1/deliveries/${ofEvent[1]!.id}`)).body).toMatchObject({ status: 'failed' });
      answer = 200;
      expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, { only_failed: true, dry_run: true })).body).toMatchObject({ queued: 1 });
      expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, { dry_run: true })).body).toMatchObject({ retried: 1 });
      expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, {})).body).toMatchObject({ retried: 1 });
      await run();
      expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([
        [event, 500], [event, 500], [event, 200], [event, 500], [event, 500], [event, 200],
      ]);
    });

    it('takes an event delivered, then replayed and failed (retry-failed and only_failed)', async () => {
      let answer = 200;
      await start({ retryScheduleSec: [5] }, () => ({ status: answer }));
      const destination = await addDestination();
      const event = await post(endCall('delivered-then-replay-failed'));
      await run();
      answer = 500;
      clock += 1000;
      expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, {})).body.queued).toBe(1);
      await run();
      await advance(5000);
      answer = 200;
      expect((await t.request('POST', `/v1/destinations/${destination.id}/replay`, { only_failed: true, dry_run: true })).body).toMatchObject({ queued: 1 });
      expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, { dry_run: true })).body).toMatchObject({ retried: 1 });
      expect((await t.request('POST', `/v1/destinations/${destination.id}/retry-failed`, {})).body).toMatchObject({ retried: 1 });
      await run();
      expect(receiver.received.map((r) => [r.headers['webhook-id'], r.status])).toEqual([[event, 200], [event, 500], [event, 500], [event, 200]]);
      const ofEvent = (await t.api(`/v1/deliveries?event_id=${event}`)).body.data as Array<{ status: string }>;
      expect(ofEvent.map((d) => d.status)).toEqual(['delivered', 'delivered']);
    });
  });

  it('records the outcomes the database takes at once when it refuses one destination\'s (even without their text): the worker goes on, and the refused deliveries go out again once their leases run out', async () => {
    let refused: string | null = null;
    // A data exception (PostgreSQL's 22003) for any batch holding an outcome of the `refused` destination.
    await start({}, undefined, {
      wrapStorage: (s) => ({
        ...s,
        deliveries: {
          ...s.deliveries,
          complete: (outcomes, at) => outcomes.some((o) => o.destinationId === refused)
            ? Promise.reject(Object.assign(new Error('numeric field overflow'), { code: '22003' }))
            : s.deliveries.complete(outcomes, at),
        },
      }),
    });
    const a = await addDestination({ headers: { 'x-to': 'a' } });
    const b = await addDestination({ headers: { 'x-to': 'b' } });
    refused = a.id;
    const first = await post(endCall('refused-1'));
    await run();
    expect(sentTo('a')).toEqual([first]);
    expect(sentTo('b')).toEqual([first]);
    expect(await statusesOf(b.id)).toEqual(['delivered']);
    expect(await statusesOf(a.id)).toEqual(['pending']);
    // The worker is not held: the next event goes out and is recorded at once.
    const second = await post(endCall('refused-2'));
    await run();
    expect(sentTo('b')).toEqual([first, second]);
    expect(await statusesOf(b.id)).toEqual(['delivered', 'delivered']);
    // Past the leases, the refused ones are claimed again and sent again (same webhook-id); b's are not.
    clock += 61_000;
    refused = null;
    await run();
    expect(sentTo('a').sort()).toEqual([first, second, first, second].sort());
    expect(sentTo('b')).toEqual([first, second]);
    expect(await statusesOf(a.id)).toEqual(['delivered', 'delivered']);
  });

  it('records the other outcomes at once when a constraint of the database itself refuses one destination\'s (a trigger): the worker goes on', async () => {
    await start();
    const a = await addDestination({ headers: { 'x-to': 'a' } });
    const b = await addDestination({ headers: { 'x-to': 'b' } });
    // The database refuses every attempt of destination a.
    await refuseAttempts(a.id);
    const first = await post(endCall('constraint-1'));
    await run();
    expect(sentTo('a')).toEqual([first]);
    expect(sentTo('b')).toEqual([first]);
    expect(await statusesOf(b.id)).toEqual(['delivered']);
    expect(await statusesOf(a.id)).toEqual(['pending']);
    const second = await post(endCall('constraint-2'));
    await run();
    expect(sentTo('b')).toEqual([first, second]);
    expect(await statusesOf(b.id)).toEqual(['delivered', 'delivered']);
  }, 20_000);

  it('rests its claims while the database refuses every outcome (a broken constraint), instead of claiming, sending and saying each again and again', async () => {
    const logs: string[] = [];
    let claims = 0;
    // The real clock: leases of 3 s run out during the test, as they would.
    await start({ deliveryTimeoutSec: 1, deliveryLeaseSec: 3, logLevel: 'warn' }, undefined, {
      now: () => Date.now(),
      logger: { stream: { write: (line: string) => void logs.push(line) } },
      // The claims that leased deliveries (to send them).
      wrapStorage: (s) => ({ ...s, deliveries: { ...s.deliveries, claim: async (...args) => {
        const claimed = await s.deliveries.claim(...args);
        if (claimed.length > 0) claims++;
        return claimed;
      } } }),
    });
    await addDestination();
    // A trigger that refuses every attempt's row: an integrity violation, every outcome refused.
    await refuseAttempts(null);
    for (let i = 0; i < 300; i++) await post(endCall(`refused-all-${i}`));
    claims = 0;
    const sentBefore = receiver.received.length;
    const saidBefore = logs.length;
    await sleep(6_000);
    const said = logs.slice(saidBefore).filter((line) => line.includes('delivery worker failed')).length;
    const sent = receiver.received.length - sentBefore;
    // Before, on PostgreSQL: the backlog claimed, sent and refused again and again (in 6 s: 77 claims, 493
    // webhooks, 616 lines); now a claim after each rest (100 ms doubling to 5 s): 6 claims, 81 webhooks, 70 lines.
    const seen = JSON.stringify({ claims, said, sent });
    expect(claims, seen).toBeLessThan(15);
    expect(said, seen).toBeLessThan(200);
    expect(sent, seen).toBeLessThan(250);
    // What it claimed went out once per lease at most, and is still pending: nothing recorded, nothing lost.
    expect((await t.api('/v1/deliveries?status=pending&limit=500')).body.data).toHaveLength(300);
  }, 30_000);

  it('disables a destination that has failed continuously for five days', async () => {
    await start({ retryScheduleSec: Array(7).fill(86_400) }, () => ({ status: 500 }));
    const destination = await addDestination();
    await post(endCall('long-1'));
    await run();
    for (let day = 1; day <= 4; day++) await advance(86_400_000);
    expect((await t.api(`/v1/destinations/${destination.id}`)).body.disabled_at).toBeNull();
    await advance(86_400_000);
    const shown = (await t.api(`/v1/destinations/${destination.id}`)).body;
    expect(shown.disabled_at).not.toBeNull();
    expect(shown.disabled_reason).toMatch(/120 hours/);
    expect((await t.api('/v1/events?type=switchboard.destination.disabled')).body.data).toHaveLength(1);
    // Disabled: the schedule's last retries are not sent.
    await advance(86_400_000);
    expect(receiver.received).toHaveLength(6);
  });

  it('sends only what a destination filters for', async () => {
    await start();
    await addDestination({ event_types: ['call.ended'], call_statuses: ['answered'] });
    await post(startCall('filter-1'));
    await post(endCall('filter-1'));
    await post(endCall('filter-2', { call_status: 'missed' }));
    await run();
    expect(receiver.received.map((r) => [r.json.type, r.json.call_id])).toEqual([['call.ended', 'filter-1']]);
  });

  it("keeps to a destination's rate limit (a second's burst, then evenly spaced)", async () => {
    await start();
    await addDestination({ rate_limit_per_sec: 4 });
    for (let i = 0; i < 8; i++) await post(endCall(`rate-${i}`));
    await run();
    expect(receiver.received).toHaveLength(8);
    const span = receiver.received.at(-1)!.at - receiver.received[0]!.at;
    // Four at once, then one every 250 ms: the last leaves a second after the first at the earliest.
    expect(span).toBeGreaterThanOrEqual(950);
  });

  it('defers what a rate limit cannot send within a second, records that, and sends it when it falls due: every event once', async () => {
    await start();
    const destination = await addDestination({ rate_limit_per_sec: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 14; i++) ids.push(await post(endCall(`defer-${i}`)));
    await run();
    // Four at once, four more within the second: the rest go back to the outbox, due when the bucket has room.
    expect(receiver.received.length).toBeLessThan(ids.length);
    const pending = (await t.api(`/v1/deliveries?destination_id=${destination.id}&status=pending&limit=100`)).body.data as Array<{ next_attempt_at: string; attempts: unknown[] }>;
    expect(pending.length).toBe(ids.length - receiver.received.length);
    expect(pending.every((d) => d.attempts.length === 0)).toBe(true);
    expect(pending.some((d) => Date.parse(d.next_attempt_at) > clock)).toBe(true);
    for (let i = 0; i < 10 && receiver.received.length < ids.length; i++) await advance(1500);
    expect(receiver.received.map((r) => r.headers['webhook-id']).sort()).toEqual([...ids].sort());
  }, 30_000);

  it("leaves a rate-limited destination's backlog alone while its bucket has no slot: one claim's worth is deferred, not the whole backlog", async () => {
    await start();
    const destination = await addDestination({ rate_limit_per_sec: 4 });
    for (let i = 0; i < 100; i++) await post(endCall(`backlog-${i}`));
    await run();
    // The first claim takes 16 (the default share), sends the 8 its bucket has within a second and defers the
    // others to their turn; until then the worker claims none of the backlog (it deferred it all, each claim
    // rewriting 16 more rows, until none was left).
    const pending = (await t.api(`/v1/deliveries?destination_id=${destination.id}&status=pending&limit=100`)).body.data as Array<{ next_attempt_at: string }>;
    expect(receiver.received.length).toBeGreaterThanOrEqual(8);
    expect(pending).toHaveLength(100 - receiver.received.length);
    const deferred = pending.filter((d) => Date.parse(d.next_attempt_at) > clock).length;
    expect(deferred, `deferred, of ${pending.length} pending`).toBeLessThanOrEqual(16);
  });

  it('counts attempts, pending deliveries and stream clients in /metrics', async () => {
    await start({}, ({ index }) => ({ status: index === 0 ? 500 : 200 }));
    await addDestination();
    await post(endCall('metrics-1'));
    await post(endCall('metrics-2'));
    await run();
    const metrics = async () => (await t.api('/metrics', null)).body as string;
    let text = await metrics();
    expect(text).toContain('switchboard_delivery_attempts_total{result="retry"} 1');
    expect(text).toContain('switchboard_delivery_attempts_total{result="delivered"} 1');
    expect(text).toContain('switchboard_delivery_queue_depth 1');
    expect(text).toMatch(/switchboard_delivery_duration_seconds_count 2/);
    await advance(5_000);
    const stream = await openStream(t.baseUrl, { key: t.adminKey });
    try {
      await waitFor('the stream client to count', async () => (await metrics()).includes('switchboard_stream_clients 1'));
      text = await metrics();
      expect(text).toContain('switchboard_delivery_attempts_total{result="delivered"} 2');
      expect(text).toContain('switchboard_delivery_queue_depth 0');
    } finally {
      stream.close();
    }
  });
});
