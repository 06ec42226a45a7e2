import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { backends, startTestApp, startTestAppAgain, type TestApp } from './support/app.js';

/**
 * Convolo's call list answering in ways the mock does not: a scripted node:http server on loopback, one
 * answer function per test, every request kept.
 */
type Answer = { status?: number; body: string; headers?: Record<string, string>; chunked?: boolean };
let answer: (url: URL) => Answer = () => ({ body: '[]' });
const requests: URL[] = [];
const item = (callId: string) => ({ type: 'end_call', call_id: callId, call_status: 'answered', time_started_iso_string: '2026-01-10T12:00:00.000Z' });
const items = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => item(`${prefix}-${i}`));
const pageOf = (url: URL) => Number(url.searchParams.get('page'));
const waits: number[] = [];

describe('reconcile against a call list that repeats its pages', () => {
  let server: Server;
  let t: TestApp;
  let sourceId: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://convolo.test');
      requests.push(url);
      const a = answer(url);
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
      // A chunked answer (no content-length) when asked: its size is known only as it is read.
      if (a.chunked) {
        res.write(a.body.slice(0, 1000));
        res.end(a.body.slice(1000));
      } else res.end(a.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    t = await startTestApp(await backends[0]!.freshDb(), { convoloCallListUrl: `http://127.0.0.1:${port}`, reconcilePauseFactor: 0, reconcileMaxPageMb: 1 }, { sleep: async (ms) => void waits.push(ms) });
    sourceId = (await t.api('/v1/sources')).body.data[0].id;
    expect((await t.request('PUT', `/v1/sources/${sourceId}/convolo`, { api_key: 'convolo-key-1234' })).status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  beforeEach(() => {
    requests.length = 0;
    waits.length = 0;
  });

  it('a server that ignores page with a full page: the run stops at the repeat with unexpected_shape, not after 1000 pages', async () => {
    const full = JSON.stringify(items('full', 500));
    answer = () => ({ body: full });
    const run = (await t.request('POST', `/v1/sources/${sourceId}/reconcile`)).body;
    expect(requests.map(pageOf)).toEqual([1, 2]);
    expect(run).toMatchObject({ fetched: 500, added: 500, already_present: 0, error: { code: 'unexpected_shape' } });
    expect(run.error.detail).toMatch(/page 2 .*same calls as page 1/);

    // A backfill step says so too, and ends the range (next_page null): the CLI stops instead of asking forever.
    requests.length = 0;
    const step = (await t.request('POST', `/v1/sources/${sourceId}/backfill`, { date_from: '2026-01-10', date_to: '2026-01-10', pages: 10 })).body;
    expect(requests.map(pageOf)).toEqual([1, 2]);
    expect(step).toMatchObject({ next_page: null, run: { fetched: 500, already_present: 500, added: 0, error: { code: 'unexpected_shape' } } });
  });

  it('a server that ignores page with a short page: one page holds every call, the run ends there without an error', async () => {
    const short = JSON.stringify(items('short', 3));
    answer = () => ({ body: short });
    const run = (await t.request('POST', `/v1/sources/${sourceId}/reconcile`)).body;
    expect(requests.map(pageOf)).toEqual([1, 2]);
    expect(run).toMatchObject({ fetched: 3, added: 3, error: null });
    const step = (await t.request('POST', `/v1/sources/${sourceId}/backfill`, { date_from: '2026-01-10', date_to: '2026-01-10', pages: 10 })).body;
    expect(step).toMatchObject({ next_page: null, run: { fetched: 3, already_present: 3, error: null } });
  });

  it('a server that answers the last page again past the end: every call is read, the run ends without an error', async () => {
    const first = JSON.stringify(items('clamp', 500));
    const last = JSON.stringify(items('clamp-last', 7));
    answer = (url) => ({ body: pageOf(url) === 1 ? first : last });
    const run = (await t.request('POST', `/v1/sources/${sourceId}/reconcile`)).body;
    expect(requests.map(pageOf)).toEqual([1, 2, 3]);
    expect(run).toMatchObject({ fetched: 507, added: 507, error: null });
    expect((await t.app.storage.events.list({ type: 'end_call', sourceId: sourceId as never, limit: 5000 })).length).toBe(500 + 3 + 507);
  });

  it('a 429 whose Retry-After is neither seconds nor an HTTP date (1.5, -5) waits as one without it, not 0 s', async () => {
    for (const header of ['1.5', '-5']) {
      waits.length = 0;
      let n = 0;
      answer = () => (n++ === 0 ? { status: 429, body: '{"error":"slow down"}', headers: { 'retry-after': header } } : { body: '[]' });
      const run = (await t.request('POST', `/v1/sources/${sourceId}/reconcile`)).body;
      expect(run.error, header).toBeNull();
      expect(waits, header).toEqual([1000]);
    }
  });

  it('a page over SWITCHBOARD_RECONCILE_MAX_PAGE_MB (1 here), with or without content-length, fails the run with too_large and applies nothing of it', async () => {
    // 500 calls whose answers carry 3 KiB of notes each: 1.5 MiB.
    const big = JSON.stringify(items('big', 500).map((i) => ({ ...i, notes: 'x'.repeat(3000) })));
    expect(big.length).toBeGreaterThan(1024 * 1024);
    for (const chunked of [false, true]) {
      requests.length = 0;
      answer = () => ({ body: big, chunked });
      const run = (await t.request('POST', `/v1/sources/${sourceId}/reconcile`)).body;
      expect(requests.map(pageOf), `chunked: ${chunked}`).toEqual([1]);
      expect(run, `chunked: ${chunked}`).toMatchObject({ fetched: 0, added: 0, error: { code: 'too_large', status: 200 } });
      expect(run.error.detail).toMatch(/larger than 1 MiB/);
      const step = (await t.request('POST', `/v1/sources/${sourceId}/backfill`, { date_from: '2026-01-10', date_to: '2026-01-10' })).body;
      expect(step).toMatchObject({ next_page: null, run: { fetched: 0, added: 0, error: { code: 'too_large' } } });
    }
    expect((await t.app.storage.events.list({ type: 'end_call', sourceId: sourceId as never, limit: 5000 })).filter((e) => e.callId?.startsWith('big-'))).toEqual([]);
    // Just under the bound is read.
    const under = JSON.stringify(items('under', 300).map((i) => ({ ...i, notes: 'x'.repeat(3000) })));
    expect(under.length).toBeLessThan(1024 * 1024);
    answer = (url) => ({ body: pageOf(url) === 1 ? under : '[]', chunked: true });
    expect((await t.request('POST', `/v1/sources/${sourceId}/reconcile`)).body).toMatchObject({ fetched: 300, added: 300, error: null });
  });

  it('a backfill step refuses a day the calendar lacks (it asked Convolo for 2026-02-30) and takes a leap day', async () => {
    answer = () => ({ body: '[]' });
    for (const range of [{ date_from: '2026-02-30', date_to: '2026-03-01' }, { date_from: '2026-02-01', date_to: '2026-02-29' }, { date_from: '2026-04-31', date_to: '2026-04-31' }, { date_from: '2026-03-02', date_to: '2026-03-01' }]) {
      const step = await t.request('POST', `/v1/sources/${sourceId}/backfill`, range);
      expect(step.status, JSON.stringify(range)).toBe(400);
      expect(step.body.error).toBe('invalid_request');
    }
    expect(requests).toEqual([]);
    const leap = await t.request('POST', `/v1/sources/${sourceId}/backfill`, { date_from: '2024-02-29', date_to: '2024-02-29' });
    expect(leap.status).toBe(200);
    expect(requests.map((r) => [r.searchParams.get('date_from'), r.searchParams.get('date_to')])).toEqual([['2024-02-29', '2024-02-29']]);
  });
});

describe('a reconcile run longer than its lease', () => {
  it('renews the lease page by page, so another node does not start a second run beside it', async () => {
    let clock = Date.parse('2026-03-01T09:00:00Z');
    const held: Array<() => void> = [];
    const pages: number[] = [];
    const server = createServer((req, res) => {
      const page = Number(new URL(req.url!, 'http://convolo.test').searchParams.get('page'));
      pages.push(page);
      const body = page <= 2 ? JSON.stringify(items(`slow-${page}`, 500)) : '[]';
      // The first two requests are held until the test lets them go: a slow Convolo.
      const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      if (pages.length <= 2) held.push(send);
      else send();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const flags = { convoloCallListUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, reconcilePauseFactor: 0, reconcileIntervalMin: 15 };
    const options = { now: () => clock, sleep: async () => {} };
    const db = await backends[0]!.freshDb();
    const a = await startTestApp(db, flags, options);
    const b = await startTestAppAgain(db, a, flags, options);
    try {
      const sourceId = (await a.api('/v1/sources')).body.data[0].id;
      expect((await a.request('PUT', `/v1/sources/${sourceId}/convolo`, { api_key: 'convolo-key-1234' })).status).toBe(200);
      const first = a.app.reconciler.runAll();
      await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 10_000 });
      // Page 1 answers 16 minutes after the run took its lease of 15.
      clock += 16 * 60_000;
      held.shift()!();
      // Page 2 is asked for (and held): the run is under way, past its first lease.
      await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 10_000 });
      expect(await b.app.reconciler.runAll()).toBeNull();
      held.shift()!();
      expect((await first)![0]).toMatchObject({ fetched: 1000, added: 1000, error: null });
      expect(pages).toEqual([1, 2, 3]);
      // Released at the end: the other node's turn comes.
      expect((await b.app.reconciler.runAll())![0]).toMatchObject({ fetched: 1000, present: 1000, added: 0 });
    } finally {
      for (const send of held.splice(0)) send();
      await b.close();
      await a.close();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 30_000);
});

describe('a reconcile run whose lease renewal fails', () => {
  let clock = Date.parse('2026-03-01T09:00:00Z');
  const held: Array<() => void> = [];
  const pages: number[] = [];
  const logs: string[] = [];
  let server: Server;
  let t: TestApp;
  let sources: string[];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const page = Number(new URL(req.url!, 'http://convolo.test').searchParams.get('page'));
      pages.push(page);
      const body = page <= 2 ? JSON.stringify(items(`lease-${pages.length}`, 500)) : '[]';
      const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      // The first request of a test is held until the test lets it go.
      if (pages.length === 1) held.push(send);
      else send();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const flags = { convoloCallListUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, reconcilePauseFactor: 0, reconcileIntervalMin: 15, logLevel: 'warn' as const };
    t = await startTestApp(await backends[0]!.freshDb(), flags, {
      now: () => clock, sleep: async () => {}, logger: { stream: { write: (line: string) => void logs.push(line) } },
    });
    const second = (await t.request('POST', '/v1/sources', { name: 'second' })).body.id;
    sources = [(await t.api('/v1/sources')).body.data.find((s: { id: string }) => s.id !== second).id, second];
    for (const id of sources) expect((await t.request('PUT', `/v1/sources/${id}/convolo`, { api_key: `convolo-key-${id}` })).status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    for (const send of held.splice(0)) send();
    await t?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  beforeEach(async () => {
    pages.length = 0;
    logs.length = 0;
    vi.restoreAllMocks();
    await t.app.storage.reconcile.releaseLease('reconcile', 'other-node');
  });

  it('another node took the lease: the run stops at that page, recorded lease_lost with a warning, and no other source is run', async () => {
    const run = t.app.reconciler.runAll();
    await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 10_000 });
    // Page 1 answers after the lease ran out, and another node has taken it meanwhile.
    clock += 16 * 60_000;
    expect(await t.app.storage.reconcile.tryLease('reconcile', 'other-node', clock, 15 * 60_000)).toBe(true);
    held.shift()!();
    const runs = (await run)!;
    expect(pages).toEqual([1]);
    expect(runs).toHaveLength(1);
    expect(sources).toContain(runs[0]!.sourceId);
    expect(runs[0]).toMatchObject({ fetched: 500, added: 500, error: { code: 'lease_lost', status: null } });
    expect(runs[0]!.error!.detail).toMatch(/another node .*lease.* page 1/i);
    // The other node's lease is left with it.
    expect(await t.app.storage.reconcile.tryLease('reconcile', 'third-node', clock, 15 * 60_000)).toBe(false);
    const status = (await t.api(`/v1/sources/${runs[0]!.sourceId}/reconcile`)).body;
    expect(status.last_run).toMatchObject({ id: runs[0]!.id, error: { code: 'lease_lost' } });
    const warnings = logs.map((line) => JSON.parse(line)).filter((l) => l.level === 40 && l.error_code === 'lease_lost');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toMatch(/lease/);
    expect(warnings[0].msg).not.toMatch(/did not answer/);
  });

  it('the database refused the renewal: the run stops at that page, recorded lease_lost with the reason', async () => {
    const store = t.app.storage.reconcile;
    const tryLease = store.tryLease.bind(store);
    let calls = 0;
    vi.spyOn(store, 'tryLease').mockImplementation((...args) => (calls++ === 0 ? tryLease(...args) : Promise.reject(new Error('database is locked'))));
    const run = t.app.reconciler.runAll();
    await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 10_000 });
    held.shift()!();
    const runs = (await run)!;
    expect(pages).toEqual([1]);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ fetched: 500, error: { code: 'lease_lost', status: null } });
    expect(runs[0]!.error!.detail).toMatch(/database refused .*lease.* page 1.*database is locked/i);
    expect(logs.map((line) => JSON.parse(line)).filter((l) => l.level === 40 && l.error_code === 'lease_lost')).toHaveLength(1);
  });
});

describe.each(backends)('a reconcile run when the server shuts down, on $name', (backend) => {
  it('stops at once (the page it waits for abandoned), is recorded as interrupted and gives its lease back before the database closes', async () => {
    const held: Array<() => void> = [];
    const server = createServer((req, res) => {
      const page = Number(new URL(req.url!, 'http://convolo.test').searchParams.get('page'));
      const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page <= 3 ? items(`shut-${page}`, 500) : []));
      // Page 2 is slow: Convolo has not answered it when the server is told to stop.
      if (page === 2) held.push(send);
      else send();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const flags = { convoloCallListUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, reconcilePauseFactor: 0 };
    const db = await backend.freshDb();
    const t = await startTestApp(db, flags, { sleep: async () => {} });
    let again: TestApp | undefined;
    try {
      const sourceId = (await t.api('/v1/sources')).body.data[0].id;
      expect((await t.request('PUT', `/v1/sources/${sourceId}/convolo`, { api_key: 'convolo-key-1234' })).status).toBe(200);
      const run = t.app.reconciler.runAll();
      await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 10_000 });
      await t.close();
      expect((await run)![0]).toMatchObject({ fetched: 500, added: 500, error: { code: 'interrupted', status: null } });

      again = await startTestAppAgain(db, t, flags, { sleep: async () => {} });
      const [recorded] = await again.app.storage.reconcile.runs(sourceId as never, 1);
      expect(recorded).toMatchObject({ fetched: 500, added: 500, error: { code: 'interrupted' } });
      expect(recorded!.finishedAt).not.toBeNull();
      expect(recorded!.error!.detail).toMatch(/shut down .*page 2/);
      // The lease is free: the next node's run need not wait for it to expire.
      expect(await again.app.storage.reconcile.tryLease('reconcile', 'next-node', Date.now(), 60_000)).toBe(true);
      expect((await again.app.storage.events.list({ type: 'end_call', sourceId: sourceId as never, limit: 5000 })).length).toBe(500);
    } finally {
      for (const send of held.splice(0)) send();
      await again?.close();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
