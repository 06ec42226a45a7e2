import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';

/**
 * Query and body values at the edges of what a number, a cursor or a time can be: each is refused with 400
 * `invalid_request` (or answered correctly), never a 500 from the database, and never taken as a value the
 * schema forbids.
 */
describe.each(backends)('inputs at the extremes on $name', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true } as never);
    expect((await t.post(startCall('edge-1'))).status).toBe(200);
    expect((await t.post(endCall('edge-1', { call_status: 'answered' }))).status).toBe(200);
  });
  afterAll(() => t?.close());

  // ajv coerces a numeric text that overflows a double ("1e309") to ±Infinity and then skips the type's
  // finiteness and every bound (ajv-validator/ajv#2212, fastify/fastify#6718).
  it('refuses a number that overflows to Infinity in a query, a body or a path, whatever its bounds', async () => {
    for (const path of [
      '/v1/events?limit=1e309', '/v1/events?limit=-1e309', '/v1/events?cursor=1e309', '/v1/events?cursor=-1e309',
      '/v1/calls?limit=1e309', '/v1/calls?limit=-1e309', '/v1/deliveries?limit=1e309', '/v1/stream?since=1e309', '/v1/stream?since=-1e309',
    ]) {
      const answer = await t.api(path);
      expect({ path, status: answer.status, error: answer.body.error }).toEqual({ path, status: 400, error: 'invalid_request' });
      expect(answer.body.detail).toMatch(/must be a finite number/);
    }
    const destination = await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/hook' });
    expect(destination.status).toBe(201);
    for (const body of [{ rate_limit_per_sec: '1e309' }, { max_concurrency: '-1e309' }]) {
      const answer = await t.request('PATCH', `/v1/destinations/${destination.body.id}`, body);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'invalid_request', detail: expect.stringMatching(/^body\/\w+ must be a finite number$/) });
    }
    expect((await t.api(`/v1/destinations/${destination.body.id}`)).body).toMatchObject({ rate_limit_per_sec: null, max_concurrency: null });
    // Finite numbers in any notation the coercion reads stay valid.
    expect((await t.api('/v1/events?limit=1e1')).status).toBe(200);
  });

  it('refuses retention_days "-1e309" instead of pruning everything', async () => {
    const answer = await t.request('POST', '/v1/prune', { retention_days: '-1e309' });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_request' });
    expect((await t.api('/v1/calls/edge-1')).status).toBe(200);
    expect((await t.api('/v1/events')).body.data.length).toBe(2);
  });

  it('refuses an event cursor beyond any seq (PostgreSQL\'s bigint ends at 2^63)', async () => {
    for (const cursor of ['9223372036854775808', '18446744073709551617', '1e20', '9007199254740992']) {
      const answer = await t.api(`/v1/events?cursor=${cursor}`);
      expect({ cursor, status: answer.status, error: answer.body.error }).toEqual({ cursor, status: 400, error: 'invalid_request' });
    }
    expect((await t.api('/v1/events?cursor=9007199254740991')).body.data.length).toBe(2);
  });

  it('refuses a forged call cursor holding NUL, which PostgreSQL text cannot compare', async () => {
    const forged = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const key of [[1, 'src_\u0000', 'a'], [1, 'src_a', 'call\u0000']]) {
      const answer = await t.api(`/v1/calls?cursor=${forged(key)}`);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'invalid_request', detail: 'cursor is not a next_cursor this API gave' });
    }
    // A well-formed forged key is only a position in the order: it answers a page.
    expect((await t.api(`/v1/calls?cursor=${forged([Date.now() + 60_000, 'src_a', 'a'])}`)).body.data.map((c: { call_id: string }) => c.call_id)).toEqual(['edge-1']);
  });

  it('refuses a replay bound that names no instant (a leap second) instead of replaying nothing or failing', async () => {
    const destination = await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/replay' });
    expect(destination.status).toBe(201);
    for (const body of [{ since: '2016-12-31T23:59:60Z', dry_run: true }, { until: '2016-12-31T23:59:60Z' }]) {
      const answer = await t.request('POST', `/v1/destinations/${destination.body.id}/replay`, body);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'invalid_request', detail: expect.stringMatching(/^(since|until) must be an ISO 8601 date-time$/) });
    }
    expect((await t.request('POST', `/v1/destinations/${destination.body.id}/replay`, { since: '2016-12-31T23:59:59Z', dry_run: true })).body).toEqual({ queued: 2, dry_run: true });
  });
});

/** Stats ranges in the first century (Date.UTC reads years 0–99 as 1900–1999) and at the ends of the years that have four digits. */
describe.each(backends)('stats at the ends of the calendar on $name', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb());
  });
  afterAll(() => t?.close());

  it('answers the years 0001–0099 as asked, not as 1901–1999', async () => {
    const days = await t.api('/v1/stats?group_by=day&from=0099-12-31&to=0100-01-02');
    expect(days.status).toBe(200);
    expect({ from: days.body.from, to: days.body.to }).toEqual({ from: '0099-12-31T00:00:00+00:00', to: '0100-01-02T00:00:00+00:00' });
    expect(days.body.buckets.map((b: { key: string }) => b.key)).toEqual(['0099-12-31', '0100-01-01']);
    const hours = await t.api('/v1/stats?group_by=hour&from=0050-06-01T00:00:00Z&to=0050-06-01T02:00:00%2B01:00');
    expect(hours.status).toBe(200);
    expect(hours.body.buckets.map((b: { key: string }) => b.key)).toEqual(['0050-06-01T00:00:00+00:00']);
    expect(hours.body.to).toBe('0050-06-01T01:00:00+00:00');
  });

  it('refuses a range reaching a local date outside the years 0001–9999', async () => {
    for (const query of ['from=0000-01-01&to=0000-01-03', 'from=0000-12-31&to=0001-01-02', 'to=0001-01-01', 'from=9999-12-30&to=9999-12-31T23:59:59Z&tz=Pacific/Kiritimati']) {
      const answer = await t.api(`/v1/stats?${query}`);
      expect({ query, status: answer.status, error: answer.body.error }).toEqual({ query, status: 400, error: 'invalid_request' });
    }
  });
});

describe.each(backends)('long path ids on $name', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb());
  });
  afterAll(() => t?.close());

  it('finds a call whose call_id is as long as the ingest takes (255), and answers a longer one with the error format', async () => {
    const callId = 'c'.repeat(255);
    expect((await t.post(startCall(callId))).status).toBe(200);
    const found = await t.api(`/v1/calls/${callId}`);
    expect(found.status).toBe(200);
    expect(found.body.call_id).toBe(callId);
    const unicode = 'é'.repeat(255);
    expect((await t.post(startCall(unicode))).status).toBe(200);
    expect((await t.api(`/v1/calls/${encodeURIComponent(unicode)}`)).body.call_id).toBe(unicode);
    const tooLong = await t.api(`/v1/calls/${'c'.repeat(256)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ error: 'invalid_request' });
    const absurd = await t.api(`/v1/events/${'e'.repeat(10_000)}`);
    expect(absurd.status).toBeGreaterThanOrEqual(400);
    expect(absurd.body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  });
});
