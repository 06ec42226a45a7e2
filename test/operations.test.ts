import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openStorage } from '../src/storage/open.js';
import type { NewEvent, Storage } from '../src/storage/ports.js';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';

/** What the operator relies on: failed commits, the stale sweep, graceful shutdown, health, metrics, quiet logs. */
describe.each(backends)('operations on $name', (backend) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close().catch(() => {});
    t = undefined;
  });

  /** Storage whose next append (one group commit) fails, or waits for `gate` before committing. */
  function controllable() {
    const control = { failNext: false, failedBatch: [] as NewEvent[], gate: null as Promise<void> | null, entered: 0 };
    const wrap = (storage: Storage): Storage => ({
      ...storage,
      events: {
        ...storage.events,
        async append(batch) {
          control.entered += batch.length;
          if (control.failNext) {
            control.failNext = false;
            control.failedBatch = [...batch];
            throw new Error('simulated disk failure');
          }
          if (control.gate) await control.gate;
          return storage.events.append(batch);
        },
      },
    });
    return { control, wrap };
  }

  async function queueDepth(app: TestApp): Promise<number> {
    const metrics = (await app.api('/metrics', null)).body as string;
    return Number(/^switchboard_ingest_queue_depth (\d+)$/m.exec(metrics)?.[1] ?? 0);
  }

  it('answers 503 to exactly the requests of a failed commit and stores none of them', async () => {
    const { control, wrap } = controllable();
    const db = await backend.freshDb();
    t = await startTestApp(db, {}, { wrapStorage: wrap });
    control.failNext = true;
    const bodies = Array.from({ length: 30 }, (_, i) => endCall(`fail-${i}`));
    const answers = await Promise.all(bodies.map((b) => t!.post(b)));
    const failed = answers.filter((a) => a.status === 503);
    expect(failed.length).toBe(control.failedBatch.length);
    expect(failed.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 200).length).toBe(30 - failed.length);
    for (const a of failed) expect(a.body).toMatchObject({ error: 'storage_unavailable', message: expect.any(String) });

    // The sender retries: the failed ones are new (not duplicates), the others are recognised.
    const retried = await Promise.all(bodies.map((b) => t!.post(b)));
    const failedIds = new Set(control.failedBatch.map((e) => e.callId));
    bodies.forEach((_, i) => {
      expect(retried[i]!.status).toBe(200);
      expect(retried[i]!.body.duplicate === true).toBe(!failedIds.has(`fail-${i}`));
    });
  });

  it('finishes in-flight requests on shutdown: each is committed, then answered, before the database closes', async () => {
    const { control, wrap } = controllable();
    const db = await backend.freshDb();
    t = await startTestApp(db, {}, { wrapStorage: wrap });
    let open!: () => void;
    control.gate = new Promise((resolve) => (open = resolve));
    const inFlight = Promise.all(Array.from({ length: 20 }, (_, i) => t!.post(endCall(`drain-${i}`))));
    // Wait until the server holds all 20: batches waiting on the gate, the rest queued behind them.
    await vi.waitFor(async () => expect(control.entered + (await queueDepth(t!))).toBe(20), { timeout: 10_000, interval: 10 });
    const closing = t.close();
    setTimeout(open, 100);
    const answers = await inFlight;
    await closing;
    t = undefined;
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));

    const storage = await openStorage(db);
    try {
      const stored = await storage.events.list({ type: 'end_call', limit: 100 });
      expect(new Set(stored.map((e) => e.id))).toEqual(new Set(answers.map((a) => a.body.id)));
    } finally {
      await storage.close();
    }
  });

  it('marks a call stale when no end_call came in time, and an end_call still completes it', async () => {
    let clock = Date.parse('2026-03-01T09:00:00Z');
    t = await startTestApp(await backend.freshDb(), { staleAfterMin: 120 }, { now: () => clock });
    await t.post(startCall('stale-1'));
    await t.post(startCall('fresh-1', { widget_name: 'later' }).replace('{', '{ '));
    clock += 119 * 60_000;
    expect(await t.app.sweepStale()).toBe(0);
    clock += 2 * 60_000;
    expect(await t.app.sweepStale()).toBe(2);
    expect((await t.api('/v1/calls/stale-1')).body.status).toBe('stale');
    await t.post(endCall('stale-1', { call_status: 'answered' }));
    expect((await t.api('/v1/calls/stale-1')).body.status).toBe('answered');
    expect(await t.app.sweepStale()).toBe(0);
  });

  it('never marks stale a call that has its end_call, even when Convolo\'s call_status is "in_progress"', async () => {
    let clock = Date.parse('2026-03-01T09:00:00Z');
    t = await startTestApp(await backend.freshDb(), { staleAfterMin: 120 }, { now: () => clock });
    await t.post(startCall('odd-1'));
    await t.post(endCall('odd-1', { call_status: 'in_progress' }));
    await t.post(endCall('odd-2', { call_status: 'in_progress' }));
    await t.post(startCall('open-1'));
    clock += 121 * 60_000;
    expect(await t.app.sweepStale()).toBe(1);
    expect((await t.api('/v1/calls/open-1')).body.status).toBe('stale');
    for (const id of ['odd-1', 'odd-2']) expect((await t.api(`/v1/calls/${id}`)).body.status, id).toBe('in_progress');
    expect((await t.api('/v1/events?type=call.stale')).body.data.map((e: { call_id: string }) => e.call_id)).toEqual(['open-1']);
  });

  it('answers a request that arrives during shutdown with 503 shutting_down, in the error format', async () => {
    const { control, wrap } = controllable();
    t = await startTestApp(await backend.freshDb(), {}, { wrapStorage: wrap });
    let open!: () => void;
    control.gate = new Promise((resolve) => (open = resolve));
    const port = Number(new URL(t.baseUrl).port);
    const inFlight = t.post(endCall('late-1'));
    await vi.waitFor(() => expect(control.entered).toBe(1), { timeout: 5_000, interval: 10 });
    // A second client has started its request (headers under way) when the shutdown begins: its
    // connection is not idle, so it stays open and the request completes during the shutdown.
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const closing = t.close();
    t = undefined;
    socket.write('\r\n');
    await vi.waitFor(() => expect(received).toContain('shutting_down'), { timeout: 5_000, interval: 10 });
    expect(received).toMatch(/^HTTP\/1\.1 503/);
    expect(received).toMatch(/connection: close/i);
    expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: 'shutting_down', message: expect.any(String) });
    open();
    expect((await inFlight).status).toBe(200);
    await closing;
    socket.destroy();
  });

  it('is not ready until the migrations are applied', async () => {
    const config = loadConfig({}, { db: await backend.freshDb(), port: 0, logLevel: 'silent' });
    const app = await createApp(config, { logger: false });
    try {
      const notReady = await app.server.inject({ method: 'GET', url: '/readyz' });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toMatchObject({ error: 'not_ready', detail: expect.stringContaining('0001_core') });
      await app.prepare();
      expect((await app.server.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('reports health, readiness and Prometheus metrics', async () => {
    t = await startTestApp(await backend.freshDb());
    await t.post(endCall('m-1'));
    await t.post(endCall('m-1'));
    await t.post('nope');
    await t.post(JSON.stringify({ type: 'sender_chosen_type_42', call_id: 'm-2' }));
    expect(await t.api('/healthz', null)).toEqual({ status: 200, body: { ok: true } });
    expect(await t.api('/readyz', null)).toEqual({ status: 200, body: { ok: true } });
    const metrics = (await t.api('/metrics', null)).body as string;
    expect(metrics).toContain('switchboard_ingest_requests_total{type="end_call",result="accepted"} 1');
    expect(metrics).toContain('switchboard_ingest_requests_total{type="end_call",result="duplicate"} 1');
    expect(metrics).toContain('switchboard_ingest_requests_total{type="invalid",result="quarantined"} 1');
    expect(metrics).toMatch(/switchboard_ingest_duration_seconds_count \d+/);
    expect(metrics).toContain('switchboard_ingest_queue_depth 0');
    // Label values come from a fixed set, whatever type a sender invents.
    expect(metrics).toContain('switchboard_ingest_requests_total{type="unknown",result="accepted"} 1');
    expect(metrics).not.toContain('sender_chosen_type_42');
  });

  it('stores source tokens and API keys only as hashes', async () => {
    t = await startTestApp(await backend.freshDb());
    const token = t.ingestUrl.split('/').at(-1)!;
    const sources = await t.app.storage.sources.list();
    const keys = await t.app.storage.keys.list();
    const dump = JSON.stringify({ sources, keys });
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(t.adminKey);
    expect(sources[0]!.tokenHint).toBe(token.slice(0, 8) + '…');
  });

  it('logs a 5xx on a phone or q search with at most the last 2 characters of the value', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const wrap = (storage: Storage): Storage => ({
      ...storage,
      callQueries: { ...storage.callQueries, list: async () => { throw new Error('simulated read failure'); } },
    });
    t = await startTestApp(await backend.freshDb(), { logLevel: 'error' }, { logger: { stream }, wrapStorage: wrap });
    expect((await t.api('/v1/calls?phone=%2B15551234567&limit=5')).status).toBe(500);
    expect((await t.api('/v1/calls?q=15559876543')).status).toBe(500);
    const failures = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request failed');
    expect(failures.map((entry) => entry.url)).toEqual(['/v1/calls?phone=…67&limit=5', '/v1/calls?q=…43']);
    const log = lines.join('');
    expect(log).toContain('simulated read failure');
    for (const leak of ['+1555', '1555', '555123', '555987']) expect(log).not.toContain(leak);
  });

  it('never logs a whole token, key or phone number, even at trace level and on errors', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const { control, wrap } = controllable();
    t = await startTestApp(await backend.freshDb(), { logLevel: 'trace' }, { logger: { stream }, wrapStorage: wrap });
    const phone = '+46701234567';
    await t.post(endCall('log-1', { called_lead_phone: phone, lead: { lead_phone: phone } }));
    control.failNext = true;
    expect((await t.post(endCall('log-2', { called_lead_phone: phone }))).status).toBe(503);
    await t.post('{"broken', 'application/json');
    await t.api('/v1/events?status=quarantined');
    await t.api('/v1/events', 'sbk_' + 'B'.repeat(43));
    const log = lines.join('');
    expect(log).toContain('simulated disk failure');
    const token = t.ingestUrl.split('/').at(-1)!;
    expect(log).not.toContain(token);
    expect(log).not.toContain(t.adminKey);
    expect(log).not.toContain('B'.repeat(43));
    expect(log).not.toContain(phone);
  });
});

/** /metrics is open by default (Prometheus' convention); SWITCHBOARD_METRICS_TOKEN closes it to all but its holder. */
describe('the metrics token', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close().catch(() => {});
    t = undefined;
  });
  const scrape = async (authorization?: string) => {
    const response = await fetch(`${t!.baseUrl}/metrics`, { headers: authorization ? { authorization } : {} });
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type'), text };
  };

  it('answers /metrics to anyone when none is set', async () => {
    t = await startTestApp(await backends[0]!.freshDb());
    const open = await scrape();
    expect(open.status).toBe(200);
    expect(open.text).toContain('switchboard_ingest_queue_depth');
    expect((await t.api('/v1/about')).body.metrics_token).toBe(false);
  });

  it('answers /metrics only to "Bearer <token>" when one is set: 401 in the error format otherwise, health and readiness stay open', async () => {
    const token = 'scrape-me-7f3a9c1e5b';
    t = await startTestApp(await backends[0]!.freshDb(), { metricsToken: token });
    const allowed = await scrape(`Bearer ${token}`);
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('switchboard_ingest_queue_depth');
    for (const authorization of [undefined, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, `Bearer ${t.adminKey}`, `bearer ${token.toUpperCase()}`]) {
      const refused = await scrape(authorization);
      expect(refused.status, String(authorization)).toBe(401);
      expect(JSON.parse(refused.text)).toEqual({ error: 'unauthorized', message: expect.stringContaining('SWITCHBOARD_METRICS_TOKEN') });
      expect(refused.text).not.toContain('switchboard_');
      expect(refused.text).not.toContain(token);
    }
    expect((await t.api('/healthz', null)).status).toBe(200);
    expect((await t.api('/readyz', null)).status).toBe(200);
    // The dashboard's About page reads it: a link cannot send the token.
    expect((await t.api('/v1/about')).body.metrics_token).toBe(true);
  });

  it('counts wrong tokens as failed authentications: guesses run into 429 auth_misses, the right token still scrapes from that address', async () => {
    const token = 'scrape-me-7f3a9c1e5b';
    t = await startTestApp(await backends[0]!.freshDb(), { metricsToken: token, authMissesPerMin: 3 });
    const guesses = [];
    for (let i = 0; i < 5; i++) guesses.push((await scrape(`Bearer guess-${i}`)).status);
    expect(guesses).toEqual([401, 401, 401, 429, 429]);
    const blocked = await scrape(`Bearer guess-6`);
    expect(JSON.parse(blocked.text)).toMatchObject({ error: 'rate_limited' });
    expect((await scrape(`Bearer ${token}`)).status).toBe(200);
  });

  it('refuses a token with spaces or control characters at start (it could never be sent as a Bearer token)', () => {
    expect(() => loadConfig({ SWITCHBOARD_METRICS_TOKEN: 'two words' })).toThrow(/Invalid SWITCHBOARD_METRICS_TOKEN/);
    expect(() => loadConfig({ SWITCHBOARD_METRICS_TOKEN: 'tab\there' })).toThrow(/Invalid SWITCHBOARD_METRICS_TOKEN/);
    expect(loadConfig({ SWITCHBOARD_METRICS_TOKEN: 'ok-token_1.2~3+/=' }).metricsToken).toBe('ok-token_1.2~3+/=');
  });
});
