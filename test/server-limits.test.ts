import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { backends, startTestApp, type TestApp } from './support/app.js';
import { openStream, waitFor } from './support/sse.js';

/** A raw connection to the server: what it received, and whether it has closed. */
async function connect(baseUrl: string): Promise<{ socket: net.Socket; received: () => string; closed: () => boolean }> {
  const url = new URL(baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, received: () => received, closed: () => closed };
}

/** Connection-level limits (Node's HTTP server settings: the backend plays no part, so SQLite only). */
describe('slow and numerous connections', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('answers 408 and closes the connection when a body trickles in for longer than requestTimeoutSec', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { requestTimeoutSec: 1, headersTimeoutSec: 1 });
    const path = new URL(t.ingestUrl).pathname;
    const conn = await connect(t.baseUrl);
    conn.socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{`);
    // A byte every 200 ms: the whole body would take 20 s; the server must not wait for it.
    for (let i = 0; i < 40 && !conn.closed(); i++) {
      await sleep(200);
      if (!conn.closed()) conn.socket.write(' ');
    }
    try {
      await waitFor('the connection to close', () => conn.closed(), 2_000);
      expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      conn.socket.destroy();
    }
  });

  it('keeps a stream open beyond the request and idle-connection timeouts', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { requestTimeoutSec: 1, headersTimeoutSec: 1, connectionTimeoutSec: 1, streamHeartbeatSec: 30 });
    const stream = await openStream(t.baseUrl, { key: t.adminKey });
    try {
      expect(stream.status).toBe(200);
      await sleep(2_500); // no heartbeat in that time: the socket is idle throughout
      expect(stream.ended).toBe(false);
      expect(t.app.relay.hub.clients).toBe(1);
    } finally {
      stream.close();
    }
  });

  it('closes connections beyond maxConnections as they arrive, and takes new ones once others have gone', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { maxConnections: 2 });
    const held = [await connect(t.baseUrl), await connect(t.baseUrl)];
    const request = 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n';
    for (const conn of held) conn.socket.write(request);
    await waitFor('both answers', () => held.every((c) => c.received().startsWith('HTTP/1.1 200')));
    const extra = await connect(t.baseUrl);
    extra.socket.write(request);
    await waitFor('the extra connection to close', () => extra.closed(), 5_000);
    expect(extra.received()).toBe('');
    held[0]!.socket.destroy();
    await waitFor('the server to let go of it', async () => (await new Promise<number>((resolve) => t.app.server.server.getConnections((_e, n) => resolve(n)))) < 2);
    const next = await connect(t.baseUrl);
    next.socket.write(request);
    await waitFor('an answer on a new connection', () => next.received().startsWith('HTTP/1.1 200'));
    for (const conn of [...held, next]) conn.socket.destroy();
  });
});
