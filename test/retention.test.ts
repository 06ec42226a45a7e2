import { afterEach, describe, expect, it } from 'vitest';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { startReceiver, type Receiver } from './support/receiver.js';

/** SWITCHBOARD_RETENTION_DAYS / `switchboard prune`: old data goes, recent data and the seq order stay. */
describe.each(backends)('retention ($name)', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  afterEach(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('deletes old events with their deliveries and old calls, keeps recent ones, and never reuses a seq', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    receiver = await startReceiver();
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true }, { now: () => clock });
    expect((await t.request('POST', '/v1/destinations', { url: receiver.url })).status).toBe(201);
    await t.post(startCall('old-1'));
    await t.post(endCall('old-1'));
    await t.app.relay.worker!.runUntilIdle();
    clock += 10 * 86_400_000;
    const recent = await t.post(endCall('new-1'));
    await t.app.relay.worker!.runUntilIdle();
    const lastSeqBefore = await t.app.storage.events.lastSeq();

    const deleted = await t.app.storage.prune(clock - 5 * 86_400_000);
    expect(deleted).toEqual({ events: 2, calls: 1, deliveries: 2, undelivered: {} });
    expect((await t.api('/v1/calls/old-1')).status).toBe(404);
    expect((await t.api('/v1/calls/new-1')).body).toMatchObject({ status: 'answered', event_count: 1 });
    const events = (await t.api('/v1/events')).body.data as Array<{ id: string; seq: number }>;
    expect(events.map((e) => e.id)).toEqual([recent.body.id]);
    expect((await t.api('/v1/deliveries')).body.data).toHaveLength(1);
    expect(await t.app.storage.prune(clock - 5 * 86_400_000)).toEqual({ events: 0, calls: 0, deliveries: 0, undelivered: {} });
    // Even after pruning everything, the newest included, a seq never comes back: stream cursors stay valid.
    await t.app.storage.prune(clock + 1);
    expect((await t.api('/v1/events')).body.data).toEqual([]);
    const again = await t.post(endCall('new-2'));
    const seq = (await t.api(`/v1/events/${again.body.id}`)).body.seq as number;
    expect(seq).toBeGreaterThan(lastSeqBefore);
  });
});
