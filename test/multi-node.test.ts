import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { startReceiver } from './support/receiver.js';
import { openStream, waitFor } from './support/sse.js';

/** Several Switchboard processes on one PostgreSQL (SPEC "Scale"): any node ingests, nothing races. */
describe('two nodes on one PostgreSQL database', () => {
  let first: TestApp;
  let second: App;
  let secondIngestUrl: string;
  let secondUrl: string;

  beforeAll(async () => {
    const db = await freshPgDatabase();
    // A long poll interval: what reaches the other node fast must come through NOTIFY.
    const flags = { allowPrivateDestinations: true, relayPollMs: 60_000 };
    first = await startTestApp(db, flags);
    second = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0, logLevel: 'silent', ...flags }), { logger: false });
    expect(await second.prepare()).toBeNull(); // the database is shared: no second bootstrap
    const { baseUrl } = await second.listen();
    secondIngestUrl = `${baseUrl}${new URL(first.ingestUrl).pathname}`;
    secondUrl = baseUrl;
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it("merges each call from events that reach different nodes at the same time", async () => {
    const calls = Array.from({ length: 200 }, (_, i) => `mn-${i}`);
    const answers = await Promise.all(
      calls.flatMap((id, i) => [
        first.post(startCall(id, { widget_name: 'from start' }), 'application/json', i % 2 ? first.ingestUrl : secondIngestUrl),
        first.post(endCall(id, { call_status: 'answered' }), 'application/json', i % 2 ? secondIngestUrl : first.ingestUrl),
      ]),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    for (const id of calls.filter((_, i) => i % 20 === 0)) {
      expect((await first.api(`/v1/calls/${id}`)).body).toMatchObject({ status: 'answered', event_count: 2, widget_name: 'string' });
    }
  });

  it('stores one event for the same body posted to both nodes at once, and gives both the same id', async () => {
    const bodies = Array.from({ length: 100 }, (_, i) => endCall(`mn-dup-${i}`));
    const answers = await Promise.all(bodies.flatMap((b) => [first.post(b), first.post(b, 'application/json', secondIngestUrl)]));
    for (let i = 0; i < bodies.length; i++) {
      const [a, b] = [answers[2 * i]!, answers[2 * i + 1]!];
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.body.id).toBe(b.body.id);
      expect([a.body.duplicate, b.body.duplicate].filter((d) => d === true)).toHaveLength(1);
    }
    const stored = (await first.api('/v1/events?call_id=mn-dup-7')).body.data;
    expect(stored).toHaveLength(1);
  });

  it('shares the deliveries between both workers: each event sent once, each call in order', async () => {
    const receiver = await startReceiver(({ index }) => ({ status: 200, delayMs: index % 3 }));
    try {
      const created = await first.request('POST', '/v1/destinations', { url: receiver.url, event_types: ['call.started', 'call.ended'] });
      expect(created.status).toBe(201);
      const calls = Array.from({ length: 150 }, (_, i) => `mn-dlv-${i}`);
      const ids = new Set<string>();
      await Promise.all(calls.map(async (id, i) => {
        for (const body of [startCall(id), endCall(id)]) {
          const answer = await first.post(body, 'application/json', i % 2 ? first.ingestUrl : secondIngestUrl);
          expect(answer.status).toBe(200);
          ids.add(answer.body.id);
        }
      }));
      const deadline = Date.now() + 20_000;
      while (receiver.received.length < ids.size && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const sent = receiver.received.map((r) => r.headers['webhook-id'] as string);
      expect(sent.length, 'every event exactly once').toBe(ids.size);
      expect(new Set(sent)).toEqual(ids);
      for (const id of calls) {
        expect(receiver.received.filter((r) => r.json.call_id === id).map((r) => r.json.type)).toEqual(['call.started', 'call.ended']);
      }
    } finally {
      await receiver.close();
    }
  });

  it("streams an event ingested on the other node at once, woken by NOTIFY (the poll is a minute)", async () => {
    const since = await first.app.storage.events.lastSeq();
    const stream = await openStream(first.baseUrl, { key: first.adminKey, query: `types=call.ended&since=${since}` });
    try {
      expect(stream.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100)); // caught up and live before the post
      const answer = await first.post(endCall('mn-stream-1'), 'application/json', secondIngestUrl);
      expect(answer.status).toBe(200);
      await waitFor('the event on the first node\'s stream', () => stream.events.some((e) => JSON.parse(e.data).id === answer.body.id), 5_000);
    } finally {
      stream.close();
    }
  });

  it('refuses on the other node at once a key revoked, a user demoted and a user removed on one node (its lookups are cached 5 s)', async () => {
    const onSecond = (path: string, headers: Record<string, string>) => fetch(`${secondUrl}${path}`, { headers }).then((r) => r.status);
    const key = (await first.request('POST', '/v1/keys', { name: 'mn-read', scope: 'read' })).body;
    const password = 'a long passphrase 1';
    const users = [];
    for (const [email, role] of [['mn-admin@example.com', 'admin'], ['mn-viewer@example.com', 'viewer']] as const) {
      const user = (await first.request('POST', '/v1/users', { email, role, password })).body;
      const signedIn = await fetch(`${secondUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
      users.push({ id: user.id as string, cookie: { cookie: /^sb_session=[^;]*/.exec(signedIn.headers.get('set-cookie')!)![0] } });
    }
    const [admin, viewer] = users as [typeof users[0], typeof users[0]];
    await first.request('POST', '/v1/users', { email: 'mn-other-admin@example.com', role: 'admin', password }); // not the last admin
    // Each resolved on the second node: cached there.
    expect(await onSecond('/v1/events', { authorization: `Bearer ${key.key}` })).toBe(200);
    expect(await onSecond('/v1/users', admin.cookie)).toBe(200);
    expect(await onSecond('/v1/events', viewer.cookie)).toBe(200);
    expect((await first.request('DELETE', `/v1/keys/${key.id}`)).status).toBe(204);
    expect((await first.request('PATCH', `/v1/users/${admin.id}`, { role: 'viewer' })).status).toBe(200);
    expect((await first.request('DELETE', `/v1/users/${viewer.id}`)).status).toBe(204);
    await waitFor('the revoked key refused on the second node', async () => (await onSecond('/v1/events', { authorization: `Bearer ${key.key}` })) === 401, 1000);
    await waitFor('the demoted admin refused an admin route there', async () => (await onSecond('/v1/users', admin.cookie)) === 403, 1000);
    await waitFor("the removed user's session refused there", async () => (await onSecond('/v1/events', viewer.cookie)) === 401, 1000);
  });

  it('splits the roles: an api node sends no webhooks, a worker node sends what the api node ingested', async () => {
    const db = await freshPgDatabase();
    const flags = { allowPrivateDestinations: true, relayPollMs: 100 };
    const api = await startTestApp(db, { ...flags, role: 'api' });
    const worker = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0, logLevel: 'silent', ...flags, role: 'worker' }), { logger: false });
    const receiver = await startReceiver();
    try {
      expect(api.app.relay.worker).toBeNull();
      expect((await api.request('POST', '/v1/destinations', { url: receiver.url })).status).toBe(201);
      const posted = await api.post(endCall('roles-1'));
      expect(posted.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receiver.received, 'the api node sends nothing itself').toHaveLength(0);
      const { baseUrl } = await worker.listen();
      await waitFor('the worker node to deliver', () => receiver.received.length === 1, 10_000);
      expect(receiver.received[0]!.headers['webhook-id']).toBe(posted.body.id);
      // The worker node serves health and metrics, not the API or the ingest.
      expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${baseUrl}/v1/events`, { headers: { authorization: `Bearer ${api.adminKey}` } })).status).toBe(404);
    } finally {
      await worker.close();
      await api.close();
      await receiver.close();
    }
  });
});
