import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createUser } from '../src/admin/users.js';
import type { Storage } from '../src/storage/ports.js';
import { backends, endCall, startTestApp, type TestApp } from './support/app.js';

/**
 * The limit before authentication (per address, in memory: the backend plays no part, so SQLite only).
 * Every request here comes from 127.0.0.1.
 */
describe('failed authentications per address', () => {
  let t: TestApp;
  const lookups = { keys: 0, sources: 0 };
  const counting = (storage: Storage): Storage => ({
    ...storage,
    keys: { ...storage.keys, findActiveByHash: (hash) => (lookups.keys++, storage.keys.findActiveByHash(hash)) },
    sources: { ...storage.sources, findByTokenHash: (hash, now) => (lookups.sources++, storage.sources.findByTokenHash(hash, now)) },
  });
  const randomKey = () => `sbk_${randomBytes(32).toString('base64url')}`;
  const randomToken = () => `sbt_${randomBytes(32).toString('base64url')}`;
  afterEach(() => t?.close());

  it('answers 429 with Retry-After once an address has made authMissesPerMin misses, looks no further key up, and still serves a key valid before', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { authMissesPerMin: 5 }, { wrapStorage: counting });
    expect((await t.api('/v1/events')).status).toBe(200); // the admin key is now known to this node
    lookups.keys = 0;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.api('/v1/events', randomKey())).status);
    statuses.push((await t.api('/v1/events', null)).status); // no key at all is a miss too
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(lookups.keys).toBe(4);

    const limited = await fetch(`${t.baseUrl}/v1/events`, { headers: { authorization: `Bearer ${randomKey()}` } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await limited.json()).toMatchObject({ error: 'rate_limited', message: expect.any(String) });
    for (let i = 0; i < 20; i++) expect((await t.api('/v1/events', randomKey())).status).toBe(429);
    expect(lookups.keys, 'no lookup once the address is over its limit').toBe(4);
    // A stream's access_token is a presented key like any other.
    expect((await fetch(`${t.baseUrl}/v1/stream?access_token=${randomKey()}`)).status).toBe(429);

    expect((await t.api('/v1/events')).status).toBe(200);
    expect((await t.api('/healthz', null)).status, 'health checks are not limited').toBe(200);
  });

  it('counts the misses of an API route however its path is percent-encoded (/%761/events is /v1/events)', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { authMissesPerMin: 3 }, { wrapStorage: counting });
    expect((await t.api('/%761/events')).status, 'the router decodes the path: the route answers').toBe(200);
    lookups.keys = 0;
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await t.api(i % 2 ? '/%761/events' : '/v1/%65vents', randomKey())).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    expect(lookups.keys, 'no lookup once the address is over its limit').toBe(3);
    expect((await t.api('/%761/events')).status, 'a key valid before still passes').toBe(200);
  });

  it('counts unknown ingest tokens as misses, and keeps accepting a source token that was valid before', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { authMissesPerMin: 3 }, { wrapStorage: counting });
    expect((await t.post(endCall('known-1'))).status).toBe(200);
    lookups.sources = 0;
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await t.post(endCall('x'), 'application/json', `${t.baseUrl}/hooks/convolo/${randomToken()}`)).status);
    expect(answers).toEqual([404, 404, 404, 429, 429]);
    expect(lookups.sources).toBe(3);
    expect((await t.post(endCall('known-2'))).status).toBe(200);
  });

  it('counts an IPv6 client by its /64 (one subscriber holds 2^64 addresses): misses and failed sign-ins from rotating addresses add up', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { authMissesPerMin: 3, loginFailuresPerAddress: 3, loginFailuresPerAccount: 100 });
    const from = (remoteAddress: string, method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: object) =>
      t.app.server.inject({ method, url, remoteAddress, headers, ...(body === undefined ? {} : { payload: body }) }).then((r) => r.statusCode);
    const misses = [];
    for (let i = 1; i <= 5; i++) misses.push(await from(`2001:db8:1:2::${i.toString(16)}`, 'GET', '/v1/events', { authorization: `Bearer ${randomKey()}` }));
    expect(misses).toEqual([401, 401, 401, 429, 429]);
    expect(await from('2001:db8:1:2:ffff:ffff:ffff:ffff', 'GET', '/v1/events', { authorization: `Bearer ${randomKey()}` }), 'the same /64, written out').toBe(429);
    expect(await from('2001:db8:1:3::1', 'GET', '/v1/events', { authorization: `Bearer ${randomKey()}` }), 'the next /64 is another client').toBe(401);

    const signIns = [];
    for (let i = 1; i <= 5; i++) signIns.push(await from(`2001:0db8:0001:0009:${i}::1`, 'POST', '/v1/auth/login', {}, { email: `nobody${i}@example.com`, password: 'wrong password' }));
    expect(signIns).toEqual([401, 401, 401, 429, 429]);
    expect(await from('2001:db8:1:a::1', 'POST', '/v1/auth/login', {}, { email: 'nobody@example.com', password: 'wrong password' })).toBe(401);
  });

  it("lets a person behind an address over its limit sign in (sign-ins have their own limits): a neighbour's misses locked everyone there out of the dashboard", async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { authMissesPerMin: 3 });
    const password = 'correct horse battery';
    await createUser(t.app.storage, { email: 'ann@example.com', role: 'viewer', password });
    for (let i = 0; i < 3; i++) expect((await t.api('/v1/events', randomKey())).status).toBe(401);
    expect((await t.api('/v1/events', randomKey())).status, 'the neighbour is limited').toBe(429);

    // The dashboard's first question (no cookie yet), then the sign-in, from the same address.
    const first = await fetch(`${t.baseUrl}/v1/auth/session`);
    expect(first.status).toBe(401);
    expect(await first.json()).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('Not signed in') });
    const login = await fetch(`${t.baseUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: t.baseUrl }, body: JSON.stringify({ email: 'ann@example.com', password }) });
    expect(login.status).toBe(200);
    const cookie = /^sb_session=[^;]+/.exec(login.headers.getSetCookie()[0]!)![0];
    expect((await fetch(`${t.baseUrl}/v1/events`, { headers: { cookie } })).status, 'her new session is known: it passes').toBe(200);
    // A wrong password is still a failed sign-in, counted by its own limits, not a fresh miss.
    const wrong = await fetch(`${t.baseUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ann@example.com', password: 'wrong password' }) });
    expect(wrong.status).toBe(401);
    expect((await t.api('/v1/events', randomKey())).status, 'the neighbour still is').toBe(429);
  });

  it('tells a person whose session expired, behind an address over its limit, that they are not signed in (the sign-in form), not 429', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { authMissesPerMin: 3 });
    for (let i = 0; i < 3; i++) expect((await t.api('/v1/events', randomKey())).status).toBe(401);
    expect((await t.api('/v1/events', randomKey())).status, 'the neighbour is limited').toBe(429);
    const expired = await fetch(`${t.baseUrl}/v1/auth/session`, { headers: { cookie: 'sb_session=sbs_expired0000000000000000000000000000' } });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('Not signed in') });
    // Elsewhere the unknown cookie is still refused as the limit says.
    expect((await fetch(`${t.baseUrl}/v1/events`, { headers: { cookie: 'sb_session=sbs_expired0000000000000000000000000000' } })).status).toBe(429);
  });

  it("keeps passing the keys and sessions in use behind an address over its limit when someone else's key is revoked or session ends", async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { authMissesPerMin: 3 });
    const password = 'correct horse battery';
    const cookies: string[] = [];
    for (const [i, email] of ['ann@example.com', 'bob@example.com'].entries()) {
      await createUser(t.app.storage, { email, role: 'viewer', password });
      const login = await t.app.server.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: `198.51.100.${i + 1}`, payload: { email, password } });
      expect(login.statusCode).toBe(200);
      cookies.push(/^sb_session=[^;]+/.exec(String(login.headers['set-cookie']))![0]);
    }
    const other = (await t.request('POST', '/v1/keys', { name: 'elsewhere', scope: 'read' })).body;
    const ann = () => fetch(`${t.baseUrl}/v1/events`, { headers: { cookie: cookies[0]! } }).then((r) => r.status);
    expect(await ann()).toBe(200);
    expect((await t.api('/v1/events', other.key)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await t.api('/v1/events', randomKey())).status).toBe(401);
    expect((await t.api('/v1/events', randomKey())).status, 'the neighbour is limited').toBe(429);

    // Bob signs out elsewhere; a key is revoked (by the admin key, from this address: it is known).
    const logout = await t.app.server.inject({ method: 'POST', url: '/v1/auth/logout', remoteAddress: '198.51.100.2', headers: { cookie: cookies[1]!, 'sec-fetch-site': 'same-origin' } });
    expect(logout.statusCode).toBe(204);
    expect(await ann(), "ann's session still passes").toBe(200);
    expect((await t.request('DELETE', `/v1/keys/${other.id}`)).status).toBe(204);
    expect((await t.api('/v1/events')).status, 'the admin key still passes').toBe(200);
    expect(await ann()).toBe(200);
    // What ended is looked up once more (it was known), refused, and counted: then limited like any other.
    expect((await t.api('/v1/events', other.key)).status).toBe(401);
    expect((await t.api('/v1/events', other.key)).status).toBe(429);
    const bob = () => fetch(`${t.baseUrl}/v1/events`, { headers: { cookie: cookies[1]! } }).then((r) => r.status);
    expect([await bob(), await bob()]).toEqual([401, 429]);
    expect(await ann()).toBe(200);
  });
});

/**
 * The expensive-request slots (SWITCHBOARD_EXPENSIVE_PER_KEY) of people signed in to the dashboard: per
 * person, as an API key's are per key, not per address. Both people here come from 127.0.0.1.
 */
describe('expensive requests of dashboard sessions', () => {
  let t: TestApp;
  let release: () => void = () => {};
  afterEach(async () => {
    release();
    await t?.close();
  });
  const password = 'correct horse battery';

  it("gives each person their own slots: two people behind one address each run a report, and one person's second waits (429)", async () => {
    // The first stats read is held until the test releases it: a report that takes a while.
    const held = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    const holding = (storage: Storage): Storage => ({
      ...storage,
      stats: { ...storage.stats, groups: async (range, by) => (++reads === 1 && (await held), storage.stats.groups(range, by)) },
    });
    t = await startTestApp(await backends[0]!.freshDb(), { expensivePerKey: 1 }, { wrapStorage: holding });
    const cookies: string[] = [];
    for (const email of ['ann@example.com', 'bob@example.com']) {
      await createUser(t.app.storage, { email, role: 'viewer', password });
      const login = await fetch(`${t.baseUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: t.baseUrl }, body: JSON.stringify({ email, password }) });
      expect(login.status).toBe(200);
      cookies.push(/^sb_session=([^;]+)/.exec(login.headers.getSetCookie()[0]!)![1]!);
    }
    const stats = '/v1/stats?group_by=widget&from=2026-01-01&to=2026-01-02&tz=UTC';
    const as = (cookie: string) => fetch(`${t.baseUrl}${stats}`, { headers: { cookie: `sb_session=${cookie}` } });

    const annFirst = as(cookies[0]!);
    for (let i = 0; i < 200 && reads === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(reads).toBe(1);
    const annSecond = await as(cookies[0]!);
    expect(annSecond.status).toBe(429);
    expect(await annSecond.json()).toMatchObject({ error: 'rate_limited' });
    const bob = await as(cookies[1]!);
    expect(bob.status, "another person's report runs beside hers").toBe(200);
    // An API key keeps its own slots too.
    expect((await t.api(stats)).status).toBe(200);
    release();
    expect((await annFirst).status).toBe(200);
    expect((await as(cookies[0]!)).status).toBe(200);
  });
});
