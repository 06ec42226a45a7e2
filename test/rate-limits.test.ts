import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createUser } from '../src/admin/users.js';
import { backends, endCall, startTestApp, type TestApp } from './support/app.js';

/** Limits per API key and per source: 429 in the error format with Retry-After; others unaffected. */
describe('rate limits', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('answers 429 rate_limited with Retry-After to a key over its limit, and not to another key or to health checks', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { rateLimitApiPerMin: 5 });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await t.api('/v1/events')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await fetch(`${t.baseUrl}/v1/events`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: 'rate_limited', message: expect.any(String) });
    // Another key (here: none, counted per address) has its own allowance; health is never limited.
    expect((await t.api('/v1/events', null)).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
  });

  it('limits the ingest per source, answers Retry-After, and a 429 stores nothing', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { rateLimitIngestPerMin: 3 });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await t.post(endCall(`limited-${i}`)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers[3]!.body.error).toBe('rate_limited');
    const again = await fetch(t.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: endCall('limited-4') });
    expect(again.status).toBe(429);
    // A minute's allowance of 3 refills one request every 20 s.
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(15);
    expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(20);
    expect((await t.api('/v1/events?call_id=limited-3')).body.data).toEqual([]);
    // The API has its own allowance.
    expect((await t.api('/v1/events')).status).toBe(200);
  });

  it('counts requests without a key per address, an IPv6 one by its /64', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { rateLimitApiPerMin: 3 });
    const from = (remoteAddress: string) => t.app.server.inject({ method: 'GET', url: '/v1/auth/session', remoteAddress }).then((r) => r.statusCode);
    const statuses = [];
    for (let i = 1; i <= 5; i++) statuses.push(await from(`2001:db8:7:7::${i}`));
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect(await from('2001:db8:7:8::1'), 'another /64').toBe(401);
  });

  it('gives a bucket of its own only to a real, active key: a different unknown or revoked key on each request counts against the address', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { rateLimitApiPerMin: 3 });
    const revoked = (await t.request('POST', '/v1/keys', { name: 'gone', scope: 'read' })).body;
    await t.request('DELETE', `/v1/keys/${revoked.id}`);
    const junk = () => `sbk_${randomBytes(32).toString('base64url')}`;
    const from = (key: string, remoteAddress = '203.0.113.9') =>
      t.app.server.inject({ method: 'GET', url: '/v1/auth/session', headers: { authorization: `Bearer ${key}` }, remoteAddress }).then((r) => r.statusCode);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await from(i === 2 ? revoked.key : junk()));
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(await from(junk(), '203.0.113.10'), 'another address').toBe(401);
    // A real key keeps its own allowance, from the address that ran out too.
    const keyed = await t.app.server.inject({ method: 'GET', url: '/v1/events', headers: { authorization: `Bearer ${t.adminKey}` }, remoteAddress: '203.0.113.9' });
    expect(keyed.statusCode).toBe(200);
    expect(keyed.headers['x-ratelimit-remaining'], 'its third request (it created and revoked the key)').toBe('0');
  });

  it('gives each person signed in to the dashboard their own allowance (all their sessions together); a junk or signed-out cookie counts against the address', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { rateLimitApiPerMin: 3 });
    const person = async (email: string) => (await createUser(t.app.storage, { email, role: 'viewer', password: 'correct horse battery' }))!;
    // Signed in from other addresses (injected), so 127.0.0.1's allowance starts whole.
    let elsewhere = 0;
    const signIn = async (user: { email: string }) => {
      const login = await t.app.server.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: `198.51.100.${++elsewhere}`, payload: { email: user.email, password: 'correct horse battery' } });
      expect(login.statusCode).toBe(200);
      return /^sb_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]!;
    };
    const [annUser, bobUser, carolUser, daveUser] = [await person('ann@example.com'), await person('bob@example.com'), await person('carol@example.com'), await person('dave@example.com')];
    const [ann1, annOther, bob] = [await signIn(annUser), await signIn(annUser), await signIn(bobUser)];
    // Every request from 127.0.0.1, over real HTTP.
    const as = (cookie: string | null, path = '/v1/events') =>
      fetch(`${t.baseUrl}${path}`, cookie === null ? {} : { headers: { cookie: `sb_session=${cookie}` } }).then((r) => r.status);
    const ann = [await as(ann1), await as(annOther), await as(ann1), await as(annOther)];
    expect(ann, "one person's two sessions share one allowance").toEqual([200, 200, 200, 429]);
    const bobs = [];
    for (let i = 0; i < 4; i++) bobs.push(await as(bob));
    expect(bobs, 'another person behind the same address has their own').toEqual([200, 200, 200, 429]);

    // The address's allowance is untouched by them; a new junk cookie per request, and a signed-out session's, run it out.
    const signedOut = await signIn(daveUser);
    const logout = await t.app.server.inject({ method: 'POST', url: '/v1/auth/logout', remoteAddress: `198.51.100.${++elsewhere}`, headers: { cookie: `sb_session=${signedOut}`, 'sec-fetch-site': 'same-origin' } });
    expect(logout.statusCode).toBe(204);
    const junk = () => randomBytes(32).toString('base64url');
    // (On /v1/auth/session, which answers them itself: a route with requireScope refuses them before this limit,
    // and the failed-authentication limit counts them.)
    const session = (cookie: string | null) => as(cookie, '/v1/auth/session');
    const address = [await session(junk()), await session(signedOut), await session(junk()), await session(junk()), await session(null)];
    expect(address).toEqual([401, 401, 401, 429, 429]);
    expect(await as(await signIn(carolUser), '/v1/auth/session'), 'a signed-in person has their own, from the address that ran out').toBe(200);
  });
});
