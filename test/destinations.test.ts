import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/admin/credentials.js';
import { signingSecrets } from '../src/domain/destination.js';
import type { DestinationId } from '../src/domain/ids.js';
import { newWebhookSecret } from '../src/relay/signing.js';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { startReceiver, type Received } from './support/receiver.js';
import { sequenced } from './support/sequenced.js';

describe.each(backends)('destinations and deliveries on $name', (backend) => {
  let t: TestApp;
  const receivers: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    // Retries without delay, so a failing delivery runs out of attempts (three) within a test.
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true, retryScheduleSec: '0,0', retryJitter: 0 });
  });
  afterAll(() => t.close());
  // Each test starts with no destination, so no test's events go out to another's receivers.
  afterEach(async () => {
    for (const d of (await t.api('/v1/destinations')).body.data) await t.request('DELETE', `/v1/destinations/${d.id}`);
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  const api = (method: string, path: string, body?: unknown, key?: string | null) => t.request(method, path, body, key);
  async function receiver(answer?: Parameters<typeof startReceiver>[0]) {
    const r = await startReceiver(answer);
    receivers.push(r);
    return r;
  }
  async function createDestination(body: Record<string, unknown>) {
    const created = await api('POST', '/v1/destinations', body);
    expect(created.status).toBe(201);
    return created.body;
  }
  /** Lets the delivery worker send everything due until `done` holds (retries included). */
  async function settle(done: () => boolean | Promise<boolean>) {
    const deadline = Date.now() + 8000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('the deliveries did not settle within 8 s');
      await t.app.relay.worker!.runUntilIdle();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  const deliveriesOf = async (destinationId: string, query = '') => (await api('GET', `/v1/deliveries?destination_id=${destinationId}${query}`)).body.data;

  it('creates, reads, lists, changes and deletes a destination', async () => {
    const created = await createDestination({
      url: 'http://127.0.0.1:9/hook', description: 'CRM', event_types: ['call.ended'], widget_keys: ['w1'], call_statuses: ['answered'],
      headers: { 'X-Api-Key': 'crm-key' }, rate_limit_per_sec: 5,
    });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^dst_/), url: 'http://127.0.0.1:9/hook', description: 'CRM', event_types: ['call.ended'], widget_keys: ['w1'],
      call_statuses: ['answered'], headers: { 'X-Api-Key': 'crm-key' }, rate_limit_per_sec: 5, status: 'enabled', disabled_at: null,
      disabled_reason: null, failing_since: null, created_at: expect.stringMatching(/Z$/), secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/),
    });
    expect(created.secret_hint).toBe(`whsec_…${created.secret.slice(-4)}`);
    expect((await api('GET', `/v1/destinations/${created.id}`)).body).toEqual(created);

    const listed = (await api('GET', '/v1/destinations')).body.data;
    expect(listed).toHaveLength(1);
    expect(listed[0]).not.toHaveProperty('secret');
    expect(JSON.stringify(listed)).not.toContain(created.secret.slice(6));
    expect(listed[0]).toMatchObject({ id: created.id, secret_hint: created.secret_hint });

    const disabled = await api('PATCH', `/v1/destinations/${created.id}`, { description: null, rate_limit_per_sec: null, event_types: null, disabled: true });
    expect(disabled).toMatchObject({
      status: 200,
      body: { description: null, rate_limit_per_sec: null, event_types: null, widget_keys: ['w1'], status: 'disabled', disabled_reason: 'disabled by an administrator', disabled_at: expect.stringMatching(/Z$/) },
    });
    expect(disabled.body).not.toHaveProperty('secret');
    const enabled = await api('PATCH', `/v1/destinations/${created.id}`, { disabled: false, url: 'http://127.0.0.1:10/other' });
    expect(enabled.body).toMatchObject({ status: 'enabled', disabled_at: null, disabled_reason: null, url: 'http://127.0.0.1:10/other' });

    expect(await api('DELETE', `/v1/destinations/${created.id}`)).toEqual({ status: 204, body: '' });
    expect((await api('GET', `/v1/destinations/${created.id}`)).body.error).toBe('not_found');
    expect((await api('GET', '/v1/destinations')).body.data).toEqual([]);
    for (const [method, path] of [['DELETE', ''], ['PATCH', ''], ['POST', '/rotate-secret'], ['POST', '/test'], ['POST', '/replay']] as const) {
      const body = method === 'PATCH' || path === '/replay' ? {} : undefined;
      expect((await api(method, `/v1/destinations/${created.id}${path}`, body)).status, `${method} ${path}`).toBe(404);
    }
  });

  it('refuses a URL that is not an absolute http(s) URL with 422 invalid_destination and the reason', async () => {
    for (const [url, reason] of [
      ['not a url', 'not a valid absolute URL'],
      ['ftp://example.com/hook', 'must use http or https'],
      ['https://user:pw@example.com/hook', 'must not carry a username or password'],
      [`https://example.com/${'a'.repeat(2100)}`, 'longer than 2048'],
    ] as const) {
      const answer = await api('POST', '/v1/destinations', { url });
      expect(answer.status, url).toBe(422);
      expect(answer.body).toMatchObject({ error: 'invalid_destination', detail: expect.stringContaining(reason) });
    }
    expect((await api('POST', '/v1/destinations', {})).body.error).toBe('invalid_request');
  });

  it('refuses headers a destination must not set, and malformed ones, with 400', async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']));
    for (const headers of [
      { 'Bad Name': 'x' }, { 'x-é': 'x' }, { 'webhook-id': 'x' }, { 'Webhook-Signature': 'x' }, { 'Content-Type': 'text/plain' }, { 'content-length': '1' },
      { Host: 'example.com' }, { 'User-Agent': 'x' }, { Connection: 'close' }, { 'Transfer-Encoding': 'chunked' }, { 'X-A': 'a\r\nX-B: b' },
      // The body is plain JSON: a receiver told it is gzip (body-parser inflates) refuses every delivery.
      { 'Content-Encoding': 'gzip' },
      { 'X-A': 'a\nb' }, { 'X-A': '1', 'x-a': '2' }, tooMany,
    ]) {
      const answer = await api('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/', headers });
      expect(answer.status, JSON.stringify(headers)).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
    }
    const created = await createDestination({ url: 'http://127.0.0.1:9/', headers: { Authorization: 'Bearer abc', 'X-Tenant_ID.1': 'a b\tc' } });
    const patched = await api('PATCH', `/v1/destinations/${created.id}`, { headers: { 'webhook-timestamp': '1' } });
    expect(patched.status).toBe(400);
  });

  it('refuses unknown event types and out-of-range rate limits with 400', async () => {
    for (const body of [
      { event_types: ['call.start'] }, { event_types: ['convolo.start_call'] }, { event_types: ['switchboard.test'] }, { event_types: ['convolo.'] },
      { event_types: [] }, { event_types: ['call.ended', 'call.ended'] }, { rate_limit_per_sec: 0 }, { rate_limit_per_sec: 10_001 }, { rate_limit_per_sec: 1.5 },
    ]) {
      const answer = await api('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/', ...body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
    }
    expect((await api('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/', event_types: ['convolo.start_call'] })).body.detail).toContain('"call.started"');
    const created = await createDestination({
      url: 'http://127.0.0.1:9/', event_types: ['call.started', 'call.stale', 'convolo.agent_assigned', 'switchboard.delivery.failed', 'switchboard.destination.disabled'],
      rate_limit_per_sec: 10_000,
    });
    expect(created.event_types).toHaveLength(5);
  });

  it('answers 401 without a key on every route, and 403 to a read key on every change (reading is open to it)', async () => {
    const { key: readKey } = await createApiKey(t.app.storage, 'reader', 'read');
    const id = 'dst_unknown';
    const changes = [
      ['POST', '/v1/destinations', { url: 'http://127.0.0.1:9/' }],
      ['PATCH', `/v1/destinations/${id}`, {}], ['DELETE', `/v1/destinations/${id}`], ['POST', `/v1/destinations/${id}/rotate-secret`],
      ['POST', `/v1/destinations/${id}/test`], ['POST', `/v1/destinations/${id}/replay`, {}], ['POST', `/v1/destinations/${id}/retry-failed`, {}],
      ['POST', '/v1/deliveries/dlv_unknown/retry'],
    ] as const;
    const reads = [['GET', '/v1/destinations'], ['GET', '/v1/destinations/health'], ['GET', `/v1/destinations/${id}`], ['GET', '/v1/deliveries'], ['GET', '/v1/deliveries/dlv_unknown']] as const;
    for (const [method, path, body] of changes) {
      expect(await api(method, path, body, readKey), `${method} ${path}`).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    }
    for (const [method, path] of reads) expect((await api(method, path, undefined, readKey)).status, `${method} ${path}`).not.toBe(403);
    for (const [method, path, body] of [...changes, ...reads] as Array<readonly [string, string, unknown?]>) {
      expect(await api(method, path, body, null), `${method} ${path}`).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    }
    expect((await api('GET', '/v1/destinations')).body.data).toEqual([]);
  });

  it('rotates the secret and signs with the new and the old one during the grace period', async () => {
    const r = await receiver();
    const created = await createDestination({ url: r.url, headers: { 'X-Tenant': 't1' } });
    const rotated = await api('POST', `/v1/destinations/${created.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    expect((await api('GET', `/v1/destinations/${created.id}`)).body.secret).toBe(rotated.body.secret);

    const sent = await api('POST', `/v1/destinations/${created.id}/test`);
    expect(sent.body).toMatchObject({ ok: true, status: 200 });
    const [{ headers, body, json }] = r.received as [Received];
    for (const secret of [created.secret, rotated.body.secret]) expect(new Webhook(secret).verify(body, headers as Record<string, string>)).toEqual(json);
    expect(() => new Webhook(`whsec_${Buffer.alloc(24, 1).toString('base64')}`).verify(body, headers as Record<string, string>)).toThrow();
    expect(json).toEqual({
      id: expect.stringMatching(/^evt_/), type: 'switchboard.test', created_at: expect.stringMatching(/Z$/), source_id: null, call_id: null,
      data: { message: 'This is a test event from Switchboard.' }, call: null,
    });
    expect(headers).toMatchObject({ 'webhook-id': json.id, 'x-tenant': 't1', 'user-agent': 'Switchboard-Webhooks/1.0', 'content-type': 'application/json' });
  });

  it('test sends answer with the receiver’s status and body, are not recorded, and report a closed port', async () => {
    const r = await receiver(() => ({ status: 418, body: 'I am a teapot' }));
    const created = await createDestination({ url: r.url });
    const answer = await api('POST', `/v1/destinations/${created.id}/test`);
    expect(answer).toMatchObject({ status: 200, body: { ok: false, status: 418, response_body: 'I am a teapot', error: 'answered 418', latency_ms: expect.any(Number) } });
    r.answer(() => ({ status: 204 }));
    expect((await api('POST', `/v1/destinations/${created.id}/test`)).body).toEqual({ ok: true, status: 204, latency_ms: expect.any(Number), response_body: '', error: null });
    expect(await deliveriesOf(created.id)).toEqual([]);

    const closed = await startReceiver();
    await closed.close();
    const nobody = await createDestination({ url: closed.url });
    expect((await api('POST', `/v1/destinations/${nobody.id}/test`)).body).toMatchObject({ ok: false, status: null, error: 'connection refused' });
  });

  it('replays the past events that match each destination', async () => {
    const since = new Date().toISOString();
    const events = [
      await t.post(startCall('replay-a', { widget_key: 'wA' })), await t.post(endCall('replay-a', { widget_key: 'wA' })),
      await t.post(startCall('replay-b', { widget_key: 'wB' })), await t.post(endCall('replay-b', { widget_key: 'wB' })),
    ].map((e) => e.body.id as string);
    const everything = await receiver();
    const filtered = await receiver();
    const all = await createDestination({ url: everything.url });
    const onlyA = await createDestination({ url: filtered.url, widget_keys: ['wA'], event_types: ['call.ended'] });

    expect(await api('POST', `/v1/destinations/${all.id}/replay`, { since })).toEqual({ status: 202, body: { queued: 4, dry_run: false } });
    expect(await api('POST', `/v1/destinations/${onlyA.id}/replay`, { since })).toEqual({ status: 202, body: { queued: 1, dry_run: false } });
    await settle(() => everything.received.length === 4 && filtered.received.length === 1);
    // Per call in order: a call's end never overtakes its start.
    const order = everything.received.map((e) => e.json.id);
    expect(order.toSorted()).toEqual(events.toSorted());
    expect(order.indexOf(events[0]!)).toBeLessThan(order.indexOf(events[1]!));
    expect(order.indexOf(events[2]!)).toBeLessThan(order.indexOf(events[3]!));
    expect(filtered.received[0]!.json).toMatchObject({ id: events[1], type: 'call.ended', call_id: 'replay-a' });
    expect(filtered.received[0]!.headers['webhook-id']).toBe(events[1]);

    // A range that ends before the events, and one that is empty.
    expect((await api('POST', `/v1/destinations/${all.id}/replay`, { until: since })).body.queued).toBe(0);
    expect(await api('POST', `/v1/destinations/${all.id}/replay`, { since, until: since })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect((await api('POST', `/v1/destinations/${all.id}/replay`, { since: 'yesterday' })).status).toBe(400);
  });

  it('keeps every previous secret signing until its own grace ends, the 5 most recent of them', async () => {
    const r = await receiver();
    const created = await createDestination({ url: r.url, event_types: ['call.started'] });
    // Six rotations within the grace: the first secret is the sixth previous one, beyond the five kept.
    const secrets: string[] = [created.secret];
    for (let i = 0; i < 6; i++) {
      const rotated = await api('POST', `/v1/destinations/${created.id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      secrets.push(rotated.body.secret);
    }
    expect(new Set(secrets).size).toBe(7);
    const shown = (await api('GET', `/v1/destinations/${created.id}`)).body;
    expect(shown.previous_secrets.map((p: { secret_hint: string }) => p.secret_hint)).toEqual(secrets.slice(1, 6).toReversed().map((s) => `whsec_…${s.slice(-4)}`));
    expect(Date.parse(shown.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);

    await t.post(startCall('rotated-often'));
    await settle(() => r.received.length === 1);
    expect((await api('POST', `/v1/destinations/${created.id}/test`)).body).toMatchObject({ ok: true });
    expect(r.received).toHaveLength(2);
    for (const { headers, body, json } of r.received) {
      // One signature per live secret: the current one and the five previous ones.
      expect(String(headers['webhook-signature']).split(' ')).toHaveLength(6);
      for (const secret of secrets.slice(1)) expect(new Webhook(secret).verify(body, headers as Record<string, string>)).toEqual(json);
      expect(() => new Webhook(secrets[0]!).verify(body, headers as Record<string, string>)).toThrow();
    }
  });

  it('ends each previous secret at its own grace: a second rotation does not end the first one early, nor extend it', async () => {
    const created = await createDestination({ url: 'http://127.0.0.1:9/' });
    const { storage } = t.app;
    const t0 = Date.now();
    await storage.destinations.rotateSecret(created.id as DestinationId, newWebhookSecret(), t0 + 10_000, t0);
    const second = newWebhookSecret();
    const after = await storage.destinations.rotateSecret(created.id as DestinationId, second, t0 + 15_000, t0 + 5_000);
    expect(after!.previousSecrets).toEqual([
      { secret: expect.any(String), expiresAt: t0 + 15_000 },
      { secret: created.secret, expiresAt: t0 + 10_000 },
    ]);
    const signingAt = (at: number) => signingSecrets(after!, at);
    expect(signingAt(t0 + 9_999)).toEqual([second, after!.previousSecrets[0]!.secret, created.secret]);
    expect(signingAt(t0 + 12_000)).toEqual([second, after!.previousSecrets[0]!.secret]);
    expect(signingAt(t0 + 15_000)).toEqual([second]);
    // A rotation after the first grace ended keeps only what is still live.
    const third = await storage.destinations.rotateSecret(created.id as DestinationId, newWebhookSecret(), t0 + 30_000, t0 + 12_000);
    expect(third!.previousSecrets.map((p) => p.secret)).toEqual([second, after!.previousSecrets[0]!.secret]);
  });

  it('loses no secret to rotations at the same moment: each is a previous one of the next', async () => {
    const created = await createDestination({ url: 'http://127.0.0.1:9/' });
    const answers = await Promise.all([1, 2, 3].map(() => api('POST', `/v1/destinations/${created.id}/rotate-secret`)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const now = (await t.app.storage.destinations.get(created.id as DestinationId))!;
    const issued = [created.secret, ...answers.map((a) => a.body.secret as string)];
    expect([now.secret, ...now.previousSecrets.map((p) => p.secret)].toSorted()).toEqual(issued.toSorted());
  });

  it('two replays of a destination at once queue each event once', async () => {
    const since = new Date().toISOString();
    for (let i = 0; i < 3; i++) await t.post(endCall(`replay-twice-${i}`));
    const r = await receiver();
    const created = await createDestination({ url: r.url });
    // Disabled, so the replayed deliveries stay pending and count as queued for the second replay.
    await api('PATCH', `/v1/destinations/${created.id}`, { disabled: true });
    // Two at once (a key's most expensive requests at once: a double click, or two administrators).
    const answers = await Promise.all([1, 2].map(() => api('POST', `/v1/destinations/${created.id}/replay`, { since })));
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    expect(answers.map((a) => a.body.queued as number).reduce((a, b) => a + b)).toBe(3);
    expect(await deliveriesOf(created.id)).toHaveLength(3);
  });

  it('a retry of the failed deliveries beside a replay of the failed ones sends each event once', async () => {
    const since = new Date().toISOString();
    const r = await receiver(() => ({ status: 500 }));
    const created = await createDestination({ url: r.url });
    for (let i = 0; i < 3; i++) await t.post(endCall(`retry-replay-${i}`));
    await settle(async () => (await deliveriesOf(created.id, '&status=failed')).length === 3);
    // Disabled, so what either queues stays pending and counts as queued for the other.
    await api('PATCH', `/v1/destinations/${created.id}`, { disabled: true });
    const [retried, replayed] = await Promise.all([
      api('POST', `/v1/destinations/${created.id}/retry-failed`, {}),
      api('POST', `/v1/destinations/${created.id}/replay`, { since, only_failed: true }),
    ]);
    expect(retried.body.retried + replayed.body.queued).toBe(3);
    expect(await deliveriesOf(created.id, '&status=pending')).toHaveLength(3);
  });

  it('a replay that reaches the database after its destination was deleted queues nothing', async () => {
    const since = Date.now();
    await t.post(endCall('replay-deleted-1'));
    const created = await createDestination({ url: 'http://127.0.0.1:9/' });
    const destination = (await t.app.storage.destinations.get(created.id as DestinationId))!;
    // The replay's route found the destination; the DELETE commits before the replay inserts.
    expect((await api('DELETE', `/v1/destinations/${created.id}`)).status).toBe(204);
    expect(await t.app.storage.deliveries.replay(destination, { since }, Date.now())).toBe(0);
    expect(await deliveriesOf(created.id)).toEqual([]);
    expect(await t.app.storage.deliveries.pendingCount()).toBe(0);
  });

  it('deleting a destination while events arrive leaves none of its deliveries pending', async () => {
    const created = await createDestination({ url: 'http://127.0.0.1:9/' });
    // Disabled would queue nothing: paused, its deliveries are queued and wait.
    await api('PATCH', `/v1/destinations/${created.id}`, { paused: true });
    let rounds = 0;
    let stop = false;
    const ingest = (async () => {
      for (; !stop; rounds++) await Promise.all([0, 1, 2, 3].map((k) => t.post(endCall(`delete-while-${k}-${rounds}`))));
    })();
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await until(() => rounds >= 3);
    expect((await api('DELETE', `/v1/destinations/${created.id}`)).status).toBe(204);
    const deletedAt = rounds;
    await until(() => rounds >= deletedAt + 3);
    stop = true;
    await ingest;
    await sequenced(t.app.storage);
    const statuses = (await t.app.storage.deliveries.list({ destinationId: created.id as DestinationId, limit: 500 })).map((d) => d.status);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 'pending')).toEqual([]);
  });

  it('deleting a destination cancels its pending deliveries', async () => {
    const since = new Date().toISOString();
    await t.post(endCall('cancel-1'));
    await t.post(endCall('cancel-2'));
    const r = await receiver();
    const created = await createDestination({ url: r.url });
    // Disabled, so the replayed deliveries stay pending (the worker sends only to enabled destinations).
    await api('PATCH', `/v1/destinations/${created.id}`, { disabled: true });
    expect((await api('POST', `/v1/destinations/${created.id}/replay`, { since })).body.queued).toBe(2);
    // Already pending: replaying again does not queue them twice.
    expect((await api('POST', `/v1/destinations/${created.id}/replay`, { since })).body.queued).toBe(0);
    expect((await deliveriesOf(created.id)).map((d: { status: string }) => d.status)).toEqual(['pending', 'pending']);
    expect(await t.app.storage.deliveries.pendingCount()).toBe(2);

    expect((await api('DELETE', `/v1/destinations/${created.id}`)).status).toBe(204);
    const cancelled = await deliveriesOf(created.id);
    expect(cancelled).toHaveLength(2);
    for (const d of cancelled) expect(d).toMatchObject({ status: 'cancelled', finished_at: expect.stringMatching(/Z$/), next_attempt_at: null });
    expect(await t.app.storage.deliveries.pendingCount()).toBe(0);
    expect((await api('POST', `/v1/deliveries/${cancelled[0].id}/retry`)).status).toBe(404);
    expect((await api('GET', `/v1/destinations/${created.id}`)).status).toBe(404);
    expect(r.received).toEqual([]);
  });

  it('lists each delivery with every attempt: a 500, then the 2xx', async () => {
    const r = await receiver(({ index }) => (index === 0 ? { status: 500, body: 'boom' } : { status: 200, body: 'thanks' }));
    const created = await createDestination({ url: r.url });
    const event = (await t.post(endCall('attempts-1'))).body.id;
    await settle(async () => (await deliveriesOf(created.id, '&status=delivered')).length === 1);

    const [delivery] = await deliveriesOf(created.id);
    expect(delivery).toMatchObject({ id: expect.stringMatching(/^dlv_/), destination_id: created.id, event_id: event, status: 'delivered', attempt_count: 2, last_status: 200, last_error: null });
    expect(delivery.attempts).toEqual([
      { attempt: 1, attempted_at: expect.stringMatching(/Z$/), status: 500, latency_ms: expect.any(Number), response_body: 'boom', error: 'answered 500' },
      { attempt: 2, attempted_at: expect.stringMatching(/Z$/), status: 200, latency_ms: expect.any(Number), response_body: 'thanks', error: null },
    ]);
    expect((await api('GET', `/v1/deliveries/${delivery.id}`)).body).toEqual(delivery);
    expect((await api('GET', `/v1/deliveries?event_id=${event}`)).body.data).toEqual([delivery]);
    expect((await api('GET', '/v1/deliveries/dlv_unknown')).status).toBe(404);
  });

  it('pages through deliveries newest first with next_cursor', async () => {
    const r = await receiver();
    const created = await createDestination({ url: r.url });
    for (let i = 0; i < 5; i++) await t.post(endCall(`page-${i}`));
    await settle(() => r.received.length === 5);
    const all = await deliveriesOf(created.id);
    expect(all).toHaveLength(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: Array<{ id: string }>; next_cursor: string | null } } =
        await api('GET', `/v1/deliveries?destination_id=${created.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.data.map((d) => d.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((d: { id: string }) => d.id));
    expect(all.map((d: { created_at: string }) => d.created_at)).toEqual(all.map((d: { created_at: string }) => d.created_at).toSorted().reverse());
    expect((await api('GET', '/v1/deliveries?cursor=nonsense')).body.error).toBe('invalid_request');
  });

  it('retries a failed delivery with a fresh schedule, and replays only the failed ones with only_failed', async () => {
    const since = new Date().toISOString();
    // Fails everything about the call "bad" until told otherwise.
    const r = await receiver(({ json }) => (json.call_id === 'bad' ? { status: 500, body: 'down' } : { status: 200 }));
    const created = await createDestination({ url: r.url });
    await t.post(endCall('good'));
    const bad = (await t.post(endCall('bad'))).body.id;
    await settle(async () => (await deliveriesOf(created.id, '&status=failed')).length === 1 && (await deliveriesOf(created.id, '&status=delivered')).length === 1);

    const [failed] = await deliveriesOf(created.id, '&status=failed');
    expect(failed).toMatchObject({ event_id: bad, attempt_count: 3, last_status: 500, finished_at: expect.stringMatching(/Z$/) });
    expect(failed.attempts.map((a: { status: number }) => a.status)).toEqual([500, 500, 500]);

    // Retried while the receiver still fails: a fresh run of the schedule, three more attempts.
    expect(await api('POST', `/v1/deliveries/${failed.id}/retry`)).toMatchObject({ status: 202, body: { id: failed.id } });
    await settle(async () => (await api('GET', `/v1/deliveries/${failed.id}`)).body.status === 'failed');
    expect((await api('GET', `/v1/deliveries/${failed.id}`)).body).toMatchObject({ attempt_count: 6 });

    r.answer(() => ({ status: 200 }));
    expect((await api('POST', `/v1/deliveries/${failed.id}/retry`)).status).toBe(202);
    // Its event is pending (or delivered) through the retry: nothing failed to replay.
    expect((await api('POST', `/v1/destinations/${created.id}/replay`, { since, only_failed: true })).body.queued).toBe(0);
    await settle(async () => (await deliveriesOf(created.id, '&status=delivered')).length === 2);

    const again = (await api('GET', `/v1/deliveries/${failed.id}`)).body;
    expect(again).toMatchObject({ status: 'delivered', attempt_count: 7, finished_at: expect.any(String) });
    expect(again.attempts.map((a: { attempt: number; status: number }) => [a.attempt, a.status])).toEqual([
      [1, 500], [2, 500], [3, 500], [4, 500], [5, 500], [6, 500], [7, 200],
    ]);
    // Nothing failed any more; a delivered delivery is not retried (a replay sends it again).
    expect((await api('POST', `/v1/destinations/${created.id}/replay`, { since, only_failed: true })).body.queued).toBe(0);
    expect(await api('POST', `/v1/deliveries/${failed.id}/retry`)).toMatchObject({ status: 409, body: { error: 'conflict' } });
    expect((await api('POST', '/v1/deliveries/dlv_unknown/retry')).status).toBe(404);
  });

  it('a retry of one failed delivery and a replay of its destination at the same instant queue its event once', async () => {
    const since = new Date().toISOString();
    const r = await receiver(() => ({ status: 500 }));
    const created = await createDestination({ url: r.url });
    const calls = ['race-a', 'race-b', 'race-c'];
    for (const call of calls) await t.post(endCall(call));
    await settle(async () => (await deliveriesOf(created.id, '&status=failed')).length === calls.length);
    const failed = (await deliveriesOf(created.id, '&status=failed')) as Array<{ id: string; event_id: string }>;
    // Paused: whatever is queued stays pending.
    expect((await api('PATCH', `/v1/destinations/${created.id}`, { paused: true })).status).toBe(200);
    const answers = await Promise.all([
      ...failed.map((d) => api('POST', `/v1/deliveries/${d.id}/retry`)),
      api('POST', `/v1/destinations/${created.id}/replay`, { since, only_failed: true }),
    ]);
    const replayed = answers.pop()!;
    const retried = answers.filter((a) => a.status === 202).length;
    expect(answers.every((a) => a.status === 202 || (a.status === 409 && a.body.error === 'conflict' && typeof a.body.delivery_id === 'string'))).toBe(true);
    expect(retried + replayed.body.queued).toBe(calls.length);
    const pending = (await deliveriesOf(created.id, '&status=pending')) as Array<{ event_id: string }>;
    expect(pending.map((d) => d.event_id).toSorted()).toEqual(failed.map((d) => d.event_id).toSorted());
  });

  it('keeps one live delivery per event and destination, whichever comes first: a replay skips what a retry queued, a retry beside what a replay queued answers 409 conflict naming it (delivery_id)', async () => {
    const since = new Date().toISOString();
    const r = await receiver(() => ({ status: 500 }));
    const created = await createDestination({ url: r.url });
    const calls = ['live-a', 'live-b', 'live-c', 'live-d'];
    const events = new Map<string, string>();
    for (const call of calls) events.set((await t.post(endCall(call))).body.id, call);
    await settle(async () => (await deliveriesOf(created.id, '&status=failed')).length === calls.length);
    const failedOf = new Map<string, string>((await deliveriesOf(created.id, '&status=failed')).map((d: { id: string; event_id: string }) => [events.get(d.event_id)!, d.id]));
    // Paused: whatever is queued stays pending.
    expect((await api('PATCH', `/v1/destinations/${created.id}`, { paused: true })).status).toBe(200);
    const pendingOf = async (call: string) => (await deliveriesOf(created.id, '&status=pending')).filter((d: { event_id: string }) => events.get(d.event_id) === call);
    const retry = (call: string) => api('POST', `/v1/deliveries/${failedOf.get(call)}/retry`);

    // live-a retried first: a replay skips it (it is pending), for only the failed ones or all.
    expect((await retry('live-a')).status).toBe(202);
    expect((await api('POST', `/v1/destinations/${created.id}/replay`, { since, only_failed: true, dry_run: true })).body.queued).toBe(3);
    // Then a replay queues live-b, live-c and live-d again: their failed deliveries' retries would send them twice.
    expect((await api('POST', `/v1/destinations/${created.id}/replay`, { since })).body.queued).toBe(3);
    const [liveB] = await pendingOf('live-b');
    expect(await retry('live-b')).toMatchObject({ status: 409, body: { error: 'conflict', delivery_id: liveB.id, message: expect.stringContaining(`Delivery ${liveB.id} of the same event to this destination is pending`) } });
    expect((await api('GET', `/v1/deliveries/${failedOf.get('live-b')}`)).body.status).toBe('failed');
    // Retrying the live one itself is no conflict.
    expect((await api('POST', `/v1/deliveries/${liveB.id}/retry`)).status).toBe(202);
    for (const call of calls) expect(await pendingOf(call), call).toHaveLength(1);
  });

  it('a retry of the failed deliveries queues an event once when several of its deliveries failed (the original and a replay)', async () => {
    const since = new Date().toISOString();
    const r = await receiver(() => ({ status: 500 }));
    const created = await createDestination({ url: r.url });
    const event = (await t.post(endCall('failed-twice'))).body.id;
    await settle(async () => (await deliveriesOf(created.id, '&status=failed')).length === 1);
    expect((await api('POST', `/v1/destinations/${created.id}/replay`, { since, only_failed: true })).body.queued).toBe(1);
    await settle(async () => (await deliveriesOf(created.id, '&status=failed')).length === 2);
    // Paused: what the retry queues stays pending.
    expect((await api('PATCH', `/v1/destinations/${created.id}`, { paused: true })).status).toBe(200);
    expect((await api('POST', `/v1/destinations/${created.id}/retry-failed`, { dry_run: true })).body.retried).toBe(1);
    expect((await api('POST', `/v1/destinations/${created.id}/retry-failed`, {})).body.retried).toBe(1);
    expect((await deliveriesOf(created.id, '&status=pending')).map((d: { event_id: string }) => d.event_id)).toEqual([event]);
  });

  describe('with private destinations not allowed', () => {
    let strict: TestApp;
    beforeAll(async () => {
      strict = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: false });
    });
    afterAll(() => strict.close());

    it('refuses loopback, private, link-local, metadata and unique-local addresses with 422 invalid_destination', async () => {
      for (const host of ['127.0.0.1', '[::1]', '10.0.0.1', '172.16.0.1', '192.168.1.1', '169.254.169.254', '[fd00::1]', '[::ffff:127.0.0.1]', 'localhost']) {
        const url = `http://${host}:8080/hook`;
        const answer = await strict.request('POST', '/v1/destinations', { url });
        expect(answer.status, url).toBe(422);
        expect(answer.body).toMatchObject({ error: 'invalid_destination', detail: expect.stringContaining('resolves to') });
      }
      expect((await strict.request('GET', '/v1/destinations')).body.data).toEqual([]);
    });

    it('refuses a port other than 80, 443 or a non-service port from 1024 up, naming it, on create and on change', async () => {
      for (const [port, service] of [[6379, 'Redis'], [5432, 'PostgreSQL'], [11211, 'memcached'], [2375, 'Docker'], [22, null], [25, null]] as const) {
        const url = `http://1.1.1.1:${port}/hook`;
        const answer = await strict.request('POST', '/v1/destinations', { url });
        expect(answer.status, url).toBe(422);
        expect(answer.body, url).toMatchObject({ error: 'invalid_destination', reason: 'forbidden_port', port, detail: expect.stringContaining(`port ${port}`) });
        if (service) expect(answer.body.detail).toContain(service);
      }
      for (const url of ['http://1.1.1.1/hook', 'https://1.1.1.1/hook', 'http://1.1.1.1:443/hook', 'https://1.1.1.1:8443/hook', 'http://1.1.1.1:8080/hook']) {
        expect((await strict.request('POST', '/v1/destinations', { url })).status, url).toBe(201);
      }
      const created = await strict.request('POST', '/v1/destinations', { url: 'https://1.1.1.1/ok' });
      const patched = await strict.request('PATCH', `/v1/destinations/${created.body.id}`, { url: 'https://1.1.1.1:27017/' });
      expect(patched).toMatchObject({ status: 422, body: { error: 'invalid_destination', reason: 'forbidden_port', port: 27017 } });
      expect((await strict.request('GET', `/v1/destinations/${created.body.id}`)).body.url).toBe('https://1.1.1.1/ok');
    });

    it('accepts a public address and refuses a change to a private one', async () => {
      const created = await strict.request('POST', '/v1/destinations', { url: 'https://93.184.216.34/hook' });
      expect(created.status).toBe(201);
      const patched = await strict.request('PATCH', `/v1/destinations/${created.body.id}`, { url: 'http://10.0.0.1/hook' });
      expect(patched).toMatchObject({ status: 422, body: { error: 'invalid_destination', detail: expect.stringContaining('a private address') } });
      expect((await strict.request('GET', `/v1/destinations/${created.body.id}`)).body.url).toBe('https://93.184.216.34/hook');
    });
  });
});
