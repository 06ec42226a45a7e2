import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endCall, startTestApp, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';

/**
 * A TCP relay in front of the test's PostgreSQL server: `stop()` cuts every connection and closes the port,
 * so the app's pool meets what it would meet when its database goes away (ECONNREFUSED), while the shared
 * test cluster itself keeps running for the other tests.
 */
async function startRelay(target: URL): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    async stop() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** With the database unreachable, the answers tell senders to retry and tell strangers nothing. */
describe('PostgreSQL unreachable', () => {
  let t: TestApp;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let unusedIngestUrl: string;
  let unusedKey: string;

  beforeAll(async () => {
    relay = await startRelay(new URL(await freshPgDatabase()));
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
