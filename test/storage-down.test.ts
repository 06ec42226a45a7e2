import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endCall, startTestApp, type TestApp } from './support/app.js';
import { pgGuards } from '../src/storage/postgres/pool.js';
import { freshPgDatabase } from './support/pg.js';
import { startTcpRelay, type TcpRelay } from './support/tcp-relay.js';

/** With the database unreachable, the answers tell senders to retry and tell strangers nothing. */
describe('PostgreSQL unreachable', () => {
  let t: TestApp;
  let relay: TcpRelay;
  let unusedIngestUrl: string;
  let unusedKey: string;

  beforeAll(async () => {
    relay = await startTcpRelay(new URL(await freshPgDatabase()));
    t = await startTestApp(relay.url);
    // Secrets this node has never looked up: after the cut, each needs the database.
    const source = await t.request('POST', '/v1/sources', { name: 'second' });
    unusedIngestUrl = source.body.ingest_url.replace(/^https?:\/\/[^/]+/, t.baseUrl);
    unusedKey = (await t.request('POST', '/v1/keys', { name: 'reader', scope: 'read' })).body.key;
    expect(unusedKey).toMatch(/^sbk_/);
    await relay.stop();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers the ingest 503 storage_unavailable with Retry-After when the token cannot be looked up', async () => {
    const response = await fetch(unusedIngestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: endCall('down-1') });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ error: 'storage_unavailable', message: expect.any(String) });
  });

  it('answers the API 503 storage_unavailable, not 500, when the key cannot be looked up', async () => {
    const response = await fetch(`${t.baseUrl}/v1/events`, { headers: { authorization: `Bearer ${unusedKey}` } });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await response.json()) as { error: string; message: string };
    expect(body).toMatchObject({ error: 'storage_unavailable' });
    expect(body.message).not.toMatch(/event/i);
  });

  it('answers a read by a key already cached 503 storage_unavailable, not 500, when its query cannot reach the database', async () => {
    // The admin key was looked up before the cut (the setup used it), so the request gets past auth and its
    // own query is what fails.
    const response = await fetch(`${t.baseUrl}/v1/calls?limit=5`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ error: 'storage_unavailable' });
  });

  it('tells /readyz callers "database unavailable", not the driver\'s error with the address', async () => {
    const response = await fetch(`${t.baseUrl}/readyz`);
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: 'not_ready', message: expect.any(String), detail: 'database unavailable' });
    expect(text).not.toMatch(/127\.0\.0\.1|ECONN|connect/i);
  });
});

/**
 * The database stops answering while its TCP connections stay up (a hung server, a failover address that
 * black-holes): every wait on it is bounded, the answers are the ones of a database that is down, and when it
 * answers again everything acknowledged is there.
 */
describe('PostgreSQL that stops answering', () => {
  let t: TestApp;
  let relay: TcpRelay;

  const hotStatementMs = pgGuards.hotStatementMs;

  beforeAll(async () => {
    relay = await startTcpRelay(new URL(await freshPgDatabase()));
    // The server's own limit on the ingest's statements, past which (and a connection timeout) an unanswered
    // append is given up: 30 s in production, short here.
    pgGuards.hotStatementMs = 1500;
    t = await startTestApp(relay.url, { pgConnectTimeoutMs: 1000, statementTimeoutMs: 1500 });
  });
  afterAll(async () => {
    pgGuards.hotStatementMs = hotStatementMs;
    relay?.thaw();
    await t?.close();
  });

  /** The status, body and time taken of a request that may not take longer than `limitMs`. */
  async function timed(url: string, init: RequestInit, limitMs: number) {
    const started = Date.now();
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(limitMs) });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json(), ms: Date.now() - started };
  }
  const ingest = (callId: string, limitMs = 15_000) =>
    timed(t.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: endCall(callId) }, limitMs);

  it('answers /readyz, the query API and the ingest 503 within a bound while frozen, and loses nothing acknowledged', async () => {
    const acknowledged: string[] = [];
    for (const id of ['frozen-a', 'frozen-b', 'frozen-c']) {
      expect((await ingest(id)).status).toBe(200);
      acknowledged.push(id);
    }
    expect((await timed(`${t.baseUrl}/readyz`, {}, 5000)).status).toBe(200);
    // The query API's read pool holds a connection too.
    expect((await t.api('/v1/calls?limit=5')).status).toBe(200);

    relay.freeze();
    // A read of the query API (its key cached) on the read pool's connections: told to retry, in bounded time.
    const read = await timed(`${t.baseUrl}/v1/calls?limit=5`, { headers: { authorization: `Bearer ${t.adminKey}` } }, 15_000);
    expect(read.status).toBe(503);
    expect(read.body).toMatchObject({ error: 'storage_unavailable' });
    expect(read.ms).toBeLessThan(6000);

    const ready = await timed(`${t.baseUrl}/readyz`, {}, 10_000);
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ error: 'not_ready', message: expect.any(String), detail: 'database unavailable' });
    expect(ready.ms).toBeLessThan(4000);

    // The ingest's pooled connections are as frozen as new ones: the sender is told to retry, in bounded time.
    const refused = await ingest('frozen-refused');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: 'storage_unavailable' });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.ms).toBeLessThan(6000);

    relay.thaw();
    const deadline = Date.now() + 30_000;
    while ((await timed(`${t.baseUrl}/readyz`, {}, 10_000)).status !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await ingest('frozen-after')).status).toBe(200);
    acknowledged.push('frozen-after');
    const stored = (await t.api('/v1/events?limit=100')).body.data.map((e: { call_id: string }) => e.call_id);
    expect(stored).toEqual(expect.arrayContaining(acknowledged));
  }, 90_000);
});

/**
 * The database stops answering with idle connections in the main pool, where the ingest's token and the API's
 * keys are looked up when their cached answer has expired (5 s): those lookups are bounded too.
 */
describe('PostgreSQL that stops answering, past the secrets\' cache', () => {
  let t: TestApp;
  let relay: TcpRelay;

  beforeAll(async () => {
    relay = await startTcpRelay(new URL(await freshPgDatabase()));
    t = await startTestApp(relay.url, { pgConnectTimeoutMs: 1000 });
  });
  afterAll(async () => {
    relay?.thaw();
    await t?.close();
  });

  it('answers the ingest and the API 503 storage_unavailable in bounded time when their token or key must be looked up', async () => {
    // Keys looked up at once: the main pool opens several connections, idle once answered.
    const keys = await Promise.all([1, 2, 3, 4].map(async (n) => (await t.request('POST', '/v1/keys', { name: `k${n}`, scope: 'read' })).body.key as string));
    await Promise.all(keys.map(async (key) => expect((await t.api('/v1/events?limit=1', key)).status).toBe(200)));
    expect((await t.post(endCall('cache-1'))).status).toBe(200);

    relay.freeze();
    await new Promise((resolve) => setTimeout(resolve, 5500)); // the cached token and keys expire
    const started = Date.now();
    const [ingested, read] = await Promise.all([
      fetch(t.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: endCall('cache-2'), signal: AbortSignal.timeout(15_000) }),
      fetch(`${t.baseUrl}/v1/events?limit=1`, { headers: { authorization: `Bearer ${keys[0]}` }, signal: AbortSignal.timeout(15_000) }),
    ]);
    expect(Date.now() - started).toBeLessThan(8000);
    expect([ingested.status, read.status]).toEqual([503, 503]);
    expect(await ingested.json()).toMatchObject({ error: 'storage_unavailable' });
    expect(await read.json()).toMatchObject({ error: 'storage_unavailable' });
    expect(Number(ingested.headers.get('retry-after'))).toBeGreaterThan(0);

    relay.thaw();
    const deadline = Date.now() + 30_000;
    let after = await t.post(endCall('cache-3'));
    while (after.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      after = await t.post(endCall('cache-3'));
    }
    expect(after.status).toBe(200);
  }, 90_000);
});
