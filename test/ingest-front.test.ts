import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ingestPath } from '../src/api/hooks.js';
import { backends, endCall, startCall, startTestApp, startTestAppAgain, type TestApp } from './support/app.js';

/**
 * The ingest's node:http front (api/ingest-front.ts) answers the usual request ahead of Fastify; the Fastify
 * route (api/hooks.ts) answers everything else and stays the reference. Which of the two answered is seen on
 * Fastify's own diagnostics channel: its route handler starts only for requests Fastify took.
 */
const sqlite = backends.find((b) => b.name === 'sqlite')!;

/** Counts the ingest requests Fastify's route handler ran for. */
function fastifyIngestCount() {
  const counter = { n: 0 };
  const onStart = (message: unknown) => {
    if ((message as { request: { routeOptions: { url?: string } } }).request.routeOptions.url === ingestPath) counter.n++;
  };
  subscribe('tracing:fastify.request.handler:start', onStart);
  return { counter, stop: () => unsubscribe('tracing:fastify.request.handler:start', onStart) };
}

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** POST over real HTTP (node:http, so the framing is exactly what is asked: a length, or chunks). */
function post(url: string, body: Buffer | string, headers: Record<string, string> = { 'content-type': 'application/json' }, chunked = false): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: chunked ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers as Record<string, string>, body: text }));
    });
    req.on('error', reject);
    if (chunked) {
      const half = Math.floor(Buffer.byteLength(body) / 2);
      const bytes = Buffer.from(body);
      req.write(bytes.subarray(0, half));
      req.end(bytes.subarray(half));
    } else req.end(body);
  });
}

/** The same request through Fastify alone (inject never reaches the node:http server, so never the front). */
async function inject(t: TestApp, body: Buffer | string, contentType = 'application/json'): Promise<Raw> {
  const res = await t.app.server.inject({ method: 'POST', url: new URL(t.ingestUrl).pathname, headers: { 'content-type': contentType }, payload: body });
  return { status: res.statusCode, headers: res.headers as Record<string, string>, body: res.body };
}

/** What must match between the two paths: the status, the headers a client reads, and the body with its ids blanked. */
function comparable(r: Raw) {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...headers } = r.headers;
  return { status: r.status, headers, body: JSON.parse(r.body.replace(/evt_[A-Za-z0-9_-]+/g, 'evt_…')) as unknown };
}

describe('the ingest front on node:http', () => {
  let t: TestApp;
  let fastify: ReturnType<typeof fastifyIngestCount>;
  beforeAll(async () => {
    t = await startTestApp(await sqlite.freshDb());
    // The first request resolves the token (Fastify's route looks it up); from then on the cache knows it.
    expect((await post(t.ingestUrl, startCall('warm-1'))).status).toBe(200);
  });
  afterAll(() => t.close());
  beforeEach(() => {
    fastify = fastifyIngestCount();
  });
  afterEach(() => fastify.stop());

  it('answers every kind of body exactly as the Fastify route does, without Fastify', async () => {
    const cases: Array<[string, (n: string) => string, string?]> = [
      ['a known type', (n) => startCall(`same-${n}`)],
      ['an unknown type', (n) => JSON.stringify({ type: 'brand_new', call_id: `same-${n}` })],
      ['invalid JSON', (n) => `{"call_id":"${n}",`],
      ['a JSON object that is not an event', (n) => JSON.stringify({ type: 'end_call', note: n })],
      ['a body in another encoding, as sent', (n) => endCall(`same-${n}`, { widget_name: 'Försäljning «日本»' }), 'text/plain; charset=latin1'],
    ];
    for (const [what, body, type] of cases) {
      const viaFront = await post(t.ingestUrl, body('viaA'), { 'content-type': type ?? 'application/json' });
      const viaFastify = await inject(t, body('viaB'), type);
      expect(comparable(viaFront), what).toEqual(comparable(viaFastify));
      // Duplicates too: the same bytes again, each through its own path.
      expect(comparable(await post(t.ingestUrl, body('viaA'), { 'content-type': type ?? 'application/json' })), `${what}, again`).toEqual(comparable(await inject(t, body('viaB'), type)));
    }
    expect(fastify.counter.n).toBe(cases.length * 2); // the inject requests only
  });

  it('stores what it acknowledges, with the content type as sent', async () => {
    const answer = await post(t.ingestUrl, endCall('stored-1'), { 'content-type': 'application/json; charset=utf-8' });
    expect(answer.status).toBe(200);
    const { id } = JSON.parse(answer.body) as { id: string };
    const event = (await t.api(`/v1/events/${id}`)).body;
    expect(event).toMatchObject({ id, call_id: 'stored-1', type: 'end_call', content_type: 'application/json; charset=utf-8' });
    expect(Buffer.from(event.body_base64, 'base64').toString()).toBe(endCall('stored-1'));
    expect(fastify.counter.n).toBe(0);
  });

  it('leaves to Fastify what is not the usual request, and those are answered as before', async () => {
    expect((await post(`${t.ingestUrl}?from=convolo`, startCall('query-1'))).status).toBe(200);
    expect((await post(t.ingestUrl, startCall('chunked-1'), { 'content-type': 'application/json' }, true)).status).toBe(200);
    expect((await post(t.ingestUrl, '', { 'content-type': 'application/json' })).status).toBe(400);
    expect(fastify.counter.n).toBe(3);
    // An unknown token is answered by the route's onRequest hook (no handler): 404 as before.
    const unknown = await post(t.ingestUrl.replace(/[^/]+$/, 'whk_notatoken'), startCall('nobody-1'));
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: 'unknown_source' });
    const calls = (await t.api('/v1/calls?limit=100')).body.data.map((c: { call_id: string }) => c.call_id);
    expect(calls).toEqual(expect.arrayContaining(['query-1', 'chunked-1']));
    expect(calls).not.toContain('nobody-1');
  });

  it('drops a request whose body never arrives whole, and serves the next ones', async () => {
    const socket = connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const path = new URL(t.ingestUrl).pathname;
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n${startCall('cut-1')}`);
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    expect((await post(t.ingestUrl, startCall('after-cut-1'))).status).toBe(200);
    const calls = (await t.api('/v1/calls?limit=100')).body.data.map((c: { call_id: string }) => c.call_id);
    expect(calls).toContain('after-cut-1');
    expect(calls).not.toContain('cut-1');
  });
});

describe('the ingest front at its limits', () => {
  it("answers a source over its rate limit 429 with Retry-After, from the same budget as Fastify's route", async () => {
    const t = await startTestApp(await sqlite.freshDb(), { rateLimitIngestPerMin: 3 });
    try {
      expect((await post(t.ingestUrl, startCall('limit-1'))).status).toBe(200); // Fastify resolves the token
      expect((await post(t.ingestUrl, startCall('limit-2'))).status).toBe(200); // the front
      expect((await inject(t, startCall('limit-3'))).status).toBe(200); // Fastify: the third of three
      const fastify = fastifyIngestCount();
      const limited = await post(t.ingestUrl, startCall('limit-4'));
      fastify.stop();
      expect(fastify.counter.n).toBe(0);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(comparable(limited)).toEqual(comparable(await inject(t, startCall('limit-5'))));
      expect((await t.api('/v1/calls/limit-4')).status).toBe(404);
    } finally {
      await t.close();
    }
  });

  it('finishes a request in flight during a shutdown, closing its connection, and loses nothing', async () => {
    let entered = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const db = await sqlite.freshDb();
    const t = await startTestApp(db, {}, {
      wrapStorage: (storage) => ({
        ...storage,
        events: {
          ...storage.events,
          async append(batch) {
            if (batch.some((e) => e.callId === 'late-1')) {
              entered++;
              await gate;
            }
            return storage.events.append(batch);
          },
        },
      }),
    });
    expect((await post(t.ingestUrl, startCall('early-1'))).status).toBe(200);
    const fastify = fastifyIngestCount();
    const inFlight = post(t.ingestUrl, startCall('late-1'));
    await vi.waitFor(() => expect(entered).toBe(1), { timeout: 5_000, interval: 10 });
    const closing = t.close();
    await new Promise((r) => setTimeout(r, 50));
    open();
    const answer = await inFlight;
    await closing;
    fastify.stop();
    expect(fastify.counter.n).toBe(0);
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    const again = await startTestAppAgain(db, t);
    try {
      expect((await again.api('/v1/calls/late-1')).body).toMatchObject({ call_id: 'late-1', event_count: 1 });
    } finally {
      await again.close();
    }
  });
});
