import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, SwitchboardApiError, type SwitchboardClient } from '../src/sdk/client.js';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { waitFor } from './support/sse.js';

/** The SDK's REST client against a real server: its types name what the server answers. */
describe('createClient against a live server (sqlite)', () => {
  let t: TestApp;
  let sb: SwitchboardClient;
  let receiver: Receiver;

  beforeAll(async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { allowPrivateDestinations: true, retryScheduleSec: '0,0', retryJitter: 0 });
    sb = createClient({ baseUrl: `${t.baseUrl}/`, apiKey: t.adminKey });
    receiver = await startReceiver();
    for (let i = 0; i < 5; i++) {
      expect((await t.post(startCall(`client-${i}`))).status).toBe(200);
      expect((await t.post(endCall(`client-${i}`))).status).toBe(200);
    }
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });

  it('lists calls page by page, iterates them all, and gets one with its events', async () => {
    const page = await sb.calls.list({ limit: 2 });
    expect(page.data).toHaveLength(2);
    expect(typeof page.next_cursor).toBe('string');
    const all: string[] = [];
    for await (const call of sb.calls.iterate({ limit: 2 })) all.push(call.call_id);
    expect(all.sort()).toEqual(['client-0', 'client-1', 'client-2', 'client-3', 'client-4']);

    const call = await sb.calls.get('client-3');
    expect(call.call_id).toBe('client-3');
    expect(call.event_count).toBe(2);
    expect(call.events.map((e) => e.type)).toEqual(['start_call', 'end_call']);
    expect(typeof call.first_event_at).toBe('string');
  });

  it('lists events with a numeric cursor and gets one with its raw body', async () => {
    const page = await sb.events.list({ call_id: 'client-1' });
    expect(page.data.map((e) => e.type)).toEqual(['end_call', 'start_call']);
    expect(page.next_cursor).toBeNull();
    const seqs: number[] = [];
    for await (const e of sb.events.iterate({ limit: 3 })) seqs.push(e.seq);
    expect(seqs).toHaveLength(10);
    const event = await sb.events.get(page.data[0]!.id);
    expect(JSON.parse(event.body!).call_id).toBe('client-1');
    expect(Buffer.from(event.body_base64!, 'base64').toString()).toBe(event.body);
  });

  it('reads stats', async () => {
    // The fixtures' calls started on 2020-01-01.
    const stats = await sb.stats({ group_by: 'source', from: '2019-12-01', to: '2020-01-31', tz: 'UTC' });
    expect(stats.group_by).toBe('source');
    expect(stats.buckets.reduce((n, b) => n + b.calls, 0)).toBe(5);
    expect(stats.buckets[0]!.name).toBeTypeOf('string');
  });

  it('administers destinations and their deliveries', async () => {
    const created = await sb.destinations.create({ url: receiver.url, event_types: ['call.ended'] });
    expect(created.secret).toMatch(/^whsec_/);
    expect((await sb.destinations.list()).data.map((d) => d.id)).toContain(created.id);
    expect((await sb.destinations.get(created.id)).secret).toBe(created.secret);
    const updated = await sb.destinations.update(created.id, { description: 'laptop' });
    expect(updated.description).toBe('laptop');
    expect('secret' in updated).toBe(false);
    const rotated = await sb.destinations.rotateSecret(created.id);
    expect(rotated.secret).not.toBe(created.secret);
    const test = await sb.destinations.test(created.id);
    expect(test).toMatchObject({ ok: true, status: 200 });
    expect(await sb.destinations.replay(created.id)).toEqual({ queued: 5, dry_run: false });
    await waitFor('the replayed deliveries', async () => (await sb.deliveries.list({ destination_id: created.id, status: 'delivered' })).data.length === 5);
    const deliveries = await sb.deliveries.list({ destination_id: created.id, limit: 2 });
    expect(deliveries.data[0]!.attempts[0]!.status).toBe(200);
    let count = 0;
    for await (const _ of sb.deliveries.iterate({ destination_id: created.id, limit: 2 })) count++;
    expect(count).toBe(5);
    // A delivered one cannot be retried: the server's stable code comes through.
    await expect(sb.deliveries.retry(deliveries.data[0]!.id)).rejects.toMatchObject({ status: 409, code: 'conflict' });
    expect(await sb.destinations.delete(created.id)).toBeUndefined();
    await expect(sb.destinations.get(created.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('creates, lists and revokes keys and sources', async () => {
    const key = await sb.keys.create({ name: 'reader', scope: 'read' });
    expect(key.key).toMatch(/^sbk_/);
    expect((await sb.keys.list()).data.find((k) => k.id === key.id)?.status).toBe('active');
    const source = await sb.sources.create({ name: 'second' });
    expect(source.ingest_url).toContain(source.token);
    const rotated = await sb.sources.rotate(source.id);
    expect(rotated.token).not.toBe(source.token);
    expect(rotated.previous_token_expires_at).not.toBeNull();
    await sb.sources.revoke(source.id);
    expect((await sb.sources.list()).data.find((s) => s.id === source.id)?.status).toBe('revoked');

    // A read key reads, and is refused administration with `forbidden`.
    const reader = createClient({ baseUrl: t.baseUrl, apiKey: key.key });
    expect((await reader.calls.list({ limit: 1 })).data).toHaveLength(1);
    const refused = await reader.keys.list().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SwitchboardApiError);
    expect(refused).toMatchObject({ status: 403, code: 'forbidden' });
    await sb.keys.revoke(key.id);
    await expect(reader.calls.list()).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('streams the CSV export and reads an event\'s raw bytes', async () => {
    const csv = Buffer.from(await new Response(await sb.calls.csv({ status: 'answered' })).arrayBuffer()).toString();
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\uFEFFcall_id,/); // a BOM, for spreadsheets
    expect(lines).toHaveLength(6);
    const [event] = (await sb.events.list({ call_id: 'client-2', type: 'end_call' })).data;
    expect(Buffer.from(await sb.events.raw(event!.id)).toString()).toBe(endCall('client-2'));
  });

  it('reprocesses the quarantine, one request or all, and prunes by retention', async () => {
    expect((await t.post('{"call_id":')).status).toBe(400);
    const [quarantined] = (await sb.events.list({ status: 'quarantined' })).data;
    await expect(sb.events.reprocess(quarantined!.id)).rejects.toMatchObject({ status: 400, code: 'invalid_json' });
    expect(await sb.events.quarantine()).toEqual({ waiting: 1, reprocessed: 0 });
    expect(await sb.events.reprocessAll()).toEqual({
      reprocessed: 0, still_invalid: 1, not_reprocessable: 0,
      results: [{ id: quarantined!.id, outcome: 'still_invalid', error: 'invalid_json', detail: 'The JSON ends before it is complete.' }],
    });
    const pruned = await sb.prune({ retention_days: 36_500 });
    expect(pruned).toEqual({ before: expect.any(String), events: 0, deliveries: 0, undelivered: 0, calls: 0 });
  });

  it('names a bad filter with invalid_request and its detail', async () => {
    const error = (await sb.calls.list({ limit: 501 }).catch((e: unknown) => e)) as SwitchboardApiError;
    expect(error.code).toBe('invalid_request');
    expect(error.status).toBe(400);
    expect(error.detail).toContain('limit');
  });

  it('reports an unreachable server as connection_failed with status 0', async () => {
    const offline = createClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'sbk_x' });
    await expect(offline.calls.list()).rejects.toMatchObject({ status: 0, code: 'connection_failed' });
  });
});
