import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemEvent } from '../src/ingest/system-event.js';
import type { DeliveryOutcome } from '../src/storage/ports.js';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { waitFor } from './support/sse.js';
import { sequenced } from './support/sequenced.js';

/**
 * Issue 10: no destination can stall the others. A receiver that never answers holds no more than its cap
 * of the worker's send slots; one that stops answering is left alone for a cool-down; and a worker that lost
 * its lease records nothing over the claim that took it over.
 */

/**
 * Accepts TCP connections and never answers a byte: each request to it waits for the whole timeout. It reads
 * (and drops) what it is sent, so that a connection the client closes is seen to close.
 */
async function startBlackHole() {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.resume();
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    /** Connections open now (one per request in flight: none is ever answered, so none is reused). */
    get open() {
      return sockets.size;
    },
    get accepted() {
      return accepted;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A loopback port nothing listens on (connections to it are refused at once). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.each(backends)('one destination cannot stall the others ($name)', (backend) => {
  let t: TestApp | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    // Receivers first: the worker waits for its requests in flight when it closes, and a black hole's
    // would otherwise last the whole delivery timeout.
    for (const close of cleanups.splice(0).reverse()) await close();
    await t?.close();
    t = undefined;
  });

  it("keeps a black-hole destination to its cap, and a healthy one gets every webhook before the black hole's first timeout could fire", async () => {
    const hole = await startBlackHole();
    cleanups.push(hole.close);
    const healthy = await startReceiver();
    cleanups.push(healthy.close);
    // 8 send slots in all, 4 per destination by default; the black hole's own cap is 2. The 30 s timeout
    // never fires during the test: while it has not, no attempt to the black hole can have been recorded.
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true, deliveryTimeoutSec: 30, deliveryConcurrency: 8, destinationConcurrency: 4 } as never);
    const holeDestination = await t.request('POST', '/v1/destinations', { url: hole.url, max_concurrency: 2 });
    expect(holeDestination.status).toBe(201);
    expect((await t.request('POST', '/v1/destinations', { url: healthy.url })).status).toBe(201);

    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      for (const body of [startCall(`bh-${i}`), endCall(`bh-${i}`)]) {
        const answer = await t.post(body);
        expect(answer.status).toBe(200);
        ids.push(answer.body.id as string);
      }
    }
    // Well under the black hole's 30 s timeout: with its requests holding every slot, nothing would get here.
    await waitFor('every webhook at the healthy destination', () => healthy.received.length >= ids.length, 20_000);
    expect(healthy.received.map((r) => r.headers['webhook-id']).sort()).toEqual([...ids].sort());
    for (let i = 0; i < 30; i++) {
      expect(healthy.received.filter((r) => r.json.call_id === `bh-${i}`).map((r) => r.json.type)).toEqual(['call.started', 'call.ended']);
    }
    // Structural, not timed: not one attempt to the black hole has ended yet, so every healthy delivery
    // above arrived before its first timeout could fire.
    const holeDeliveries = (await t.api(`/v1/deliveries?destination_id=${holeDestination.body.id}&limit=100`)).body.data as Array<{ attempts: unknown[] }>;
    expect(holeDeliveries).toHaveLength(ids.length);
    expect(holeDeliveries.every((d) => d.attempts.length === 0)).toBe(true);
    // It holds its own cap of the slots, never more (each request in flight holds its own connection).
    await waitFor('the black hole to hold its cap of requests', () => hole.open === 2);
    expect(hole.accepted).toBe(2);
    expect(hole.open).toBe(2);
    expect((await t.api(`/v1/destinations/${holeDestination.body.id}`)).body.max_concurrency).toBe(2);
    expect((await t.request('PATCH', `/v1/destinations/${holeDestination.body.id}`, { max_concurrency: 0 })).status).toBe(400);
    expect((await t.request('PATCH', `/v1/destinations/${holeDestination.body.id}`, { max_concurrency: null })).body.max_concurrency).toBeNull();
  });

  it('stops claiming for a destination that keeps refusing connections, probes it once after the cool-down, and resumes when it answers', async () => {
    let clock = Date.parse('2026-11-27T10:00:00Z');
    const port = await closedPort();
    const other = await startReceiver();
    cleanups.push(other.close);
    t = await startTestApp(
      await backend.freshDb(),
      { allowPrivateDestinations: true, retryJitter: 0, destinationConcurrency: 1, breakerFailures: 3, breakerCooldownSec: 60 } as never,
      { now: () => clock },
    );
    const down = (await t.request('POST', '/v1/destinations', { url: `http://127.0.0.1:${port}/hooks` })).body as { id: string };
    expect((await t.request('POST', '/v1/destinations', { url: other.url })).status).toBe(201);
    for (let i = 0; i < 6; i++) expect((await t.post(endCall(`cb-${i}`))).status).toBe(200);
    const run = () => t!.app.relay.worker!.runUntilIdle();
    const attempts = async () => {
      const data = (await t!.api(`/v1/deliveries?destination_id=${down.id}`)).body.data as Array<{ status: string; attempts: Array<{ error: string }> }>;
      return { made: data.reduce((n, d) => n + d.attempts.length, 0), delivered: data.filter((d) => d.status === 'delivered').length, errors: data.flatMap((d) => d.attempts.map((a) => a.error)) };
    };

    await run();
    // Three refused connections in a row open the circuit: the other three deliveries are not even tried.
    expect(await attempts()).toMatchObject({ made: 3, delivered: 0 });
    expect((await attempts()).errors).toEqual(Array(3).fill('connection refused'));
    // The other destination is served meanwhile.
    expect(other.received).toHaveLength(6);
    expect((await t.api('/metrics', null)).body).toMatch(/^switchboard_delivery_circuits_open 1$/m);
    // The first retries fall due after 5 s, but the circuit is open for 60.
    clock += 5_000;
    await run();
    expect((await attempts()).made).toBe(3);
    clock += 55_000;
    await run();
    expect((await attempts()).made, 'one probe after the cool-down').toBe(4);
    clock += 59_999;
    await run();
    expect((await attempts()).made, 'the failed probe opened it for another cool-down').toBe(4);

    const back = await startReceiver();
    cleanups.push(back.close);
    const revived = await t.request('PATCH', `/v1/destinations/${down.id}`, { url: back.url });
    expect(revived.status).toBe(200);
    clock += 1;
    await run();
    expect(await attempts()).toMatchObject({ made: 10, delivered: 6 });
    expect((await t.api('/metrics', null)).body).toMatch(/^switchboard_delivery_circuits_open 0$/m);
    expect(back.received).toHaveLength(6);
  });

  it('keeps the outcomes it failed to record and records them once the database answers again, sending each webhook once', async () => {
    let clock = Date.parse('2026-11-27T10:00:00Z');
    let failures = 2;
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true } as never, {
      now: () => clock,
      // The first two attempts to record outcomes fail, as on a database that is briefly unreachable.
      wrapStorage: (storage) => ({
        ...storage,
        deliveries: {
          ...storage.deliveries,
          async complete(outcomes, at) {
            if (failures > 0) {
              failures -= 1;
              throw new Error('simulated write failure');
            }
            return storage.deliveries.complete(outcomes, at);
          },
        },
      }),
    });
    const destination = (await t.request('POST', '/v1/destinations', { url: receiver.url })).body as { id: string };
    for (let i = 0; i < 3; i++) expect((await t.post(endCall(`wf-${i}`))).status).toBe(200);
    await t.app.relay.worker!.runUntilIdle();
    expect(failures).toBe(0);
    const listed = (await t.api(`/v1/deliveries?destination_id=${destination.id}`)).body.data as Array<{ status: string; attempts: unknown[] }>;
    expect(listed.map((d) => [d.status, d.attempts.length])).toEqual(Array(3).fill(['delivered', 1]));
    // A lease period later nothing goes out again.
    clock += 61_000;
    await t.app.relay.worker!.runUntilIdle();
    expect(receiver.received).toHaveLength(3);
  });

  it("records nothing of a worker whose lease ran out and was claimed by another: the row stays as the second claim left it", async () => {
    // No worker of its own: the test is both workers.
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true, role: 'api' } as never);
    const receiver: Receiver = await startReceiver();
    cleanups.push(receiver.close);
    expect((await t.request('POST', '/v1/destinations', { url: receiver.url })).status).toBe(201);
    const posted = await t.post(endCall('fence-1'));
    expect(posted.status).toBe(200);
    const deliveries = t.app.storage.deliveries;
    const t0 = Date.now();
    // PostgreSQL: a delivery is claimable once the sequencer gave its event a seq (after the commit).
    await sequenced(t.app.storage);

    const [first] = await deliveries.claim(t0, 10, 1000);
    expect(first).toBeDefined();
    expect(await deliveries.claim(t0 + 999, 10, 1000), 'leased: not claimable').toEqual([]);
    // The first worker's lease runs out; another worker claims the delivery.
    const [second] = await deliveries.claim(t0 + 1000, 10, 1000);
    expect(second?.id).toBe(first!.id);

    // The first worker, late, reports a failure that would dead-letter the delivery and raise an event.
    const late: DeliveryOutcome = {
      deliveryId: first!.id, destinationId: first!.destinationId, result: 'failed', nextAttemptAt: null, disableDestination: 'late worker', lease: first!.lease,
      attempt: { attempt: 1, attemptedAt: t0 + 1500, status: 500, latencyMs: 1, responseBody: 'x', error: 'answered 500' },
      raises: [systemEvent({ type: 'switchboard.delivery.failed', sourceId: 'src_x', callId: null, data: { delivery_id: first!.id }, at: t0 + 1500 })],
    };
    const result = await deliveries.complete([late], t0 + 1500);
    const row = await deliveries.get(first!.id);
    expect(row).toMatchObject({ status: 'pending', attempts: 0, attemptLog: [] });
    expect(row!.lease, "the second claim's lease").toBe(t0 + 2000);
    expect(result).toEqual({ stale: [first!.id], appended: [] });
    expect((await t.api('/v1/events?type=switchboard.delivery.failed')).body.data).toEqual([]);
    expect((await t.api(`/v1/destinations/${first!.destinationId}`)).body).toMatchObject({ status: 'enabled', failing_since: null });

    // The second worker holds the lease: its outcome counts.
    const recorded = await deliveries.complete([{ ...late, result: 'delivered', disableDestination: null, lease: second!.lease, raises: [] }], t0 + 1600);
    expect(recorded.stale).toEqual([]);
    expect(await deliveries.get(first!.id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('records the outcomes of a batch whose lease still holds and only those, when another claim took over one of them', async () => {
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true, role: 'api' } as never);
    const receiver: Receiver = await startReceiver();
    cleanups.push(receiver.close);
    expect((await t.request('POST', '/v1/destinations', { url: receiver.url })).status).toBe(201);
    for (const id of ['fence-a', 'fence-b']) expect((await t.post(endCall(id))).status).toBe(200);
    const deliveries = t.app.storage.deliveries;
    const t0 = Date.now();
    await sequenced(t.app.storage);
    const firsts = await deliveries.claim(t0, 10, 1000);
    expect(firsts).toHaveLength(2);
    // Both leases run out; another worker claims one of the two (the first in order) again.
    const [taken] = await deliveries.claim(t0 + 1000, 1, 1000);
    const kept = firsts.find((d) => d.id !== taken!.id)!;
    const failed = (d: (typeof firsts)[number]): DeliveryOutcome => ({
      deliveryId: d.id, destinationId: d.destinationId, result: 'failed', nextAttemptAt: null, disableDestination: null, lease: d.lease,
      attempt: { attempt: 1, attemptedAt: t0 + 1500, status: 500, latencyMs: 1, responseBody: 'x', error: 'answered 500' },
      raises: [systemEvent({ type: 'switchboard.delivery.failed', sourceId: 'src_x', callId: null, data: { delivery_id: d.id }, at: t0 + 1500 })],
    });
    const result = await deliveries.complete(firsts.map(failed), t0 + 1500);
    expect(result.stale).toEqual([taken!.id]);
    expect(result.appended).toHaveLength(1);
    expect(await deliveries.get(kept.id)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await deliveries.get(taken!.id)).toMatchObject({ status: 'pending', attempts: 0, attemptLog: [], lease: t0 + 2000 });
    const raised = (await t.api('/v1/events?type=switchboard.delivery.failed')).body.data as Array<{ id: string }>;
    expect(raised).toHaveLength(1);
    expect(JSON.parse((await t.api(`/v1/events/${raised[0]!.id}`)).body.body)).toEqual({ delivery_id: kept.id });
  });
});
