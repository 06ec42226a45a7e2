import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../src/admin/users.js';
import { hashSecret } from '../src/domain/secrets.js';
import type { Storage } from '../src/storage/ports.js';
import { backends, endCall, startTestApp, type TestApp } from './support/app.js';
import { openStream, waitFor } from './support/sse.js';

/**
 * Signing in to the dashboard (SPEC "Dashboard"): the session cookie, where it is accepted (the dashboard's
 * own origin) and refused (another origin, CSRF), and what ends a session. Real HTTP on loopback.
 */
const password = 'correct horse battery';
const hour = 3_600_000;

interface Answer { status: number; body: any; headers: Headers }

/** A small HTTP client that keeps one session cookie, as the browser would. */
function client(t: TestApp, base = t.baseUrl) {
  let cookie: string | undefined;
  async function send(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; cookie?: string | null } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    const sent = options.cookie === undefined ? cookie : options.cookie;
    if (sent) headers.cookie = `theme=dark; sb_session=${sent}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${base}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const set = response.headers.getSetCookie().find((c) => c.startsWith('sb_session='));
    if (set) cookie = /^sb_session=([^;]*)/.exec(set)![1] || undefined;
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
  }
  return {
    send,
    get cookie() {
      return cookie;
    },
    /** Same-origin headers, as the dashboard's own pages send them. */
    get own() {
      return { origin: t.baseUrl };
    },
    login: (email: string, pw = password) => send('POST', '/v1/auth/login', { body: { email, password: pw }, headers: { origin: t.baseUrl } }),
  };
}

describe.each(backends)('dashboard sessions on $name', (backend) => {
  let t: TestApp;
  let clock = Date.now();
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb(), { streamHeartbeatSec: 1 }, { now: () => clock });
    await createUser(t.app.storage, { email: 'Admin@Example.com', role: 'admin', password });
    await createUser(t.app.storage, { email: 'viewer@example.com', name: 'Vi', role: 'viewer', password });
  });
  afterAll(() => t.close());

  it('signs in with the right password: 200 { user, expires_at } and an HttpOnly, SameSite=Strict, Path=/ cookie without Secure over http', async () => {
    const c = client(t);
    const answer = await c.send('POST', '/v1/auth/login', { body: { email: '  ADMIN@example.com ', password } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      user: { id: expect.stringMatching(/^usr_/), email: 'admin@example.com', name: null, role: 'admin', created_at: expect.stringMatching(/Z$/) },
      expires_at: new Date(clock + 168 * hour).toISOString(),
    });
    const cookie = answer.headers.getSetCookie().find((v) => v.startsWith('sb_session='))!;
    const [pair, ...attributes] = cookie.split(';').map((s) => s.trim());
    expect(pair).toMatch(/^sb_session=[A-Za-z0-9_-]{43}$/);
    expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/']));
    expect(attributes).not.toContain('Secure');
    // Stored hashed: the digest is in the database, the value nowhere.
    expect(await t.app.storage.sessions.find(hashSecret(c.cookie!))).toMatchObject({ user: { email: 'admin@example.com' } });
    expect(await t.app.storage.sessions.find(c.cookie!)).toBeNull();

    const session = await c.send('GET', '/v1/auth/session');
    expect(session).toMatchObject({ status: 200, body: { user: answer.body.user, expires_at: answer.body.expires_at } });
  });

  it('answers an unknown email and a wrong password alike: 401 invalid_credentials, same body, no cookie', async () => {
    const unknown = await client(t).login('nobody@example.com');
    const wrong = await client(t).login('admin@example.com', 'wrong password!');
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(unknown.body.error).toBe('invalid_credentials');
    expect(unknown.headers.getSetCookie()).toEqual([]);
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  it('answers 401 unauthorized to GET /v1/auth/session without a cookie or with an unknown one', async () => {
    expect(await client(t).send('GET', '/v1/auth/session')).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(await client(t).send('GET', '/v1/auth/session', { cookie: 'A'.repeat(43) })).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('accepts the cookie on GET /v1/calls and on the stream from the same origin (or with no Origin), and ignores it with a foreign Origin', async () => {
    const c = client(t);
    await c.login('viewer@example.com');
    await t.post(endCall(`cookie-${backend.name}`));
    const same = await c.send('GET', '/v1/calls', { headers: c.own });
    expect(same.status).toBe(200);
    expect(same.body.data.map((call: { call_id: string }) => call.call_id)).toContain(`cookie-${backend.name}`);
    expect((await c.send('GET', '/v1/calls')).status).toBe(200);
    expect(await c.send('GET', '/v1/calls', { headers: { origin: 'https://evil.example' } })).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect((await c.send('GET', '/v1/auth/session', { headers: { origin: 'https://evil.example' } })).status).toBe(401);
    // The router decodes the path: /%761/calls is /v1/calls, with the same rules for the cookie.
    expect((await c.send('GET', '/%761/calls', { headers: c.own })).status).toBe(200);
    expect((await c.send('GET', '/%761/calls', { headers: { origin: 'https://evil.example' } })).status).toBe(401);

    const stream = await openStream(t.baseUrl, { headers: { cookie: `sb_session=${c.cookie}`, origin: t.baseUrl } });
    try {
      expect(stream.status).toBe(200);
      await waitFor('a live subscriber', () => t.app.relay.hub.clients === 1);
      await t.post(endCall(`cookie-stream-${backend.name}`));
      await waitFor('the event', () => stream.events.some((e) => JSON.parse(e.data).call_id === `cookie-stream-${backend.name}`));
    } finally {
      stream.close();
    }
    const foreign = await openStream(t.baseUrl, { headers: { cookie: `sb_session=${c.cookie}`, origin: 'https://evil.example' } });
    foreign.close();
    expect(foreign.status).toBe(401);
    await waitFor('no subscriber', () => t.app.relay.hub.clients === 0);
  });

  it('a request with an API key ignores the cookie', async () => {
    const c = client(t);
    await c.login('viewer@example.com');
    const withKey = await c.send('POST', '/v1/keys', { body: { name: 'k', scope: 'read' }, headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(withKey.status).toBe(201);
    const wrongKey = await c.send('GET', '/v1/calls', { headers: { ...c.own, authorization: 'Bearer sbk_nope' } });
    expect(wrongKey.status).toBe(401);
  });

  it('refuses a state-changing cookie request without Origin or with a foreign one (403 csrf_refused), takes it from the same origin', async () => {
    const c = client(t);
    await c.login('admin@example.com');
    const body = { name: 'from the dashboard', scope: 'read' };
    expect(await c.send('POST', '/v1/keys', { body })).toMatchObject({ status: 403, body: { error: 'csrf_refused' } });
    expect(await c.send('POST', '/v1/keys', { body, headers: { origin: 'https://evil.example' } })).toMatchObject({ status: 403, body: { error: 'csrf_refused' } });
    expect(await c.send('POST', '/v1/keys', { body, headers: { origin: 'null' } })).toMatchObject({ status: 403, body: { error: 'csrf_refused' } });
    expect(await c.send('POST', '/v1/keys', { body, headers: { 'sec-fetch-site': 'cross-site' } })).toMatchObject({ status: 403, body: { error: 'csrf_refused' } });
    expect((await c.send('POST', '/v1/keys', { body, headers: c.own })).status).toBe(201);
    expect((await c.send('POST', '/v1/keys', { body, headers: { 'sec-fetch-site': 'same-origin' } })).status).toBe(201);
    expect(await c.send('POST', '/v1/auth/logout', { headers: { origin: 'https://evil.example' } })).toMatchObject({ status: 403, body: { error: 'csrf_refused' } });
    expect((await c.send('GET', '/v1/auth/session')).status, 'the refused logout ended nothing').toBe(200);
    // Signing in from another origin's page is refused as well (login CSRF).
    expect(await client(t).send('POST', '/v1/auth/login', { body: { email: 'admin@example.com', password }, headers: { origin: 'https://evil.example' } })).toMatchObject({ status: 403, body: { error: 'csrf_refused' } });
  });

  it("gives a viewer's cookie the read scope: 403 forbidden on admin routes", async () => {
    const c = client(t);
    await c.login('viewer@example.com');
    expect(await c.send('GET', '/v1/keys', { headers: c.own })).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect(await c.send('GET', '/v1/users', { headers: c.own })).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect(await c.send('POST', '/v1/destinations', { body: { url: 'https://example.com/hook' }, headers: c.own })).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect((await c.send('GET', '/v1/stats', { headers: c.own })).status).toBe(200);
  });

  it('never allows credentials in CORS answers, preflight or not', async () => {
    const c = client(t);
    await c.login('admin@example.com');
    const preflight = await fetch(`${t.baseUrl}/v1/calls`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const answer = await c.send('GET', '/v1/auth/session', { headers: { origin: 'https://app.example' } });
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('logout deletes the session server-side and clears the cookie', async () => {
    const c = client(t);
    await c.login('viewer@example.com');
    const token = c.cookie!;
    const out = await c.send('POST', '/v1/auth/logout', { headers: c.own });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()[0]).toMatch(/^sb_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict/);
    expect(await t.app.storage.sessions.find(hashSecret(token))).toBeNull();
    expect((await c.send('GET', '/v1/calls', { cookie: token })).status).toBe(401);
    expect((await c.send('POST', '/v1/auth/logout', { headers: c.own })).status, 'again, without a session').toBe(204);
  });

  it('a password change ends every other session of the user, keeps this one, and the new password works', async () => {
    await createUser(t.app.storage, { email: `change-${backend.name}@example.com`, role: 'viewer', password });
    const email = `change-${backend.name}@example.com`;
    const [a, b] = [client(t), client(t)];
    await a.login(email);
    await b.login(email);
    expect(await a.send('POST', '/v1/auth/password', { body: { current_password: 'not it at all', new_password: 'a brand new passphrase' }, headers: a.own }))
      .toMatchObject({ status: 401, body: { error: 'invalid_credentials' } });
    expect(await a.send('POST', '/v1/auth/password', { body: { current_password: password, new_password: 'short' }, headers: a.own }))
      .toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect((await a.send('POST', '/v1/auth/password', { body: { current_password: password, new_password: 'a brand new passphrase' }, headers: a.own })).status).toBe(204);
    expect((await a.send('GET', '/v1/auth/session')).status).toBe(200);
    expect((await b.send('GET', '/v1/auth/session')).status).toBe(401);
    expect((await client(t).login(email)).status).toBe(401);
    expect((await client(t).login(email, 'a brand new passphrase')).status).toBe(200);
    // With a key and no session: nothing to change.
    expect((await t.request('POST', '/v1/auth/password', { current_password: password, new_password: 'another passphrase' })).status).toBe(401);
  });

  it('ends a session at its absolute expiry, and after the idle timeout; use within the idle time keeps it', async () => {
    const start = clock;
    try {
      const c = client(t);
      await c.login('viewer@example.com');
      // Used every 11 hours (idle timeout 12 h): alive until the 168 h expiry.
      for (let h = 11; h < 168; h += 11) {
        clock = start + h * hour;
        expect((await c.send('GET', '/v1/auth/session')).status, `at ${h} h`).toBe(200);
        // The cache holds a lookup for 5 s: the next one reads the database, where last_seen_at must be.
        clock += 6_000;
      }
      clock = start + 168 * hour;
      expect((await c.send('GET', '/v1/auth/session')).status).toBe(401);

      clock = start;
      const idle = client(t);
      await idle.login('viewer@example.com');
      clock = start + 11 * hour;
      expect((await idle.send('GET', '/v1/calls')).status).toBe(200);
      clock = start + 22 * hour + 59 * 60_000;
      expect((await idle.send('GET', '/v1/calls')).status).toBe(200);
      clock = start + 36 * hour;
      expect((await idle.send('GET', '/v1/calls')).status).toBe(401);
    } finally {
      clock = start;
    }
  });

  it("removing a user ends their sessions and their streams; the last admin can't be removed (409 last_admin)", async () => {
    const email = `gone-${backend.name}@example.com`;
    const user = await createUser(t.app.storage, { email, role: 'viewer', password });
    const c = client(t);
    await c.login(email);
    const stream = await openStream(t.baseUrl, { headers: { cookie: `sb_session=${c.cookie}` } });
    expect(stream.status).toBe(200);
    expect((await t.request('DELETE', `/v1/users/${user!.id}`)).status).toBe(204);
    expect((await c.send('GET', '/v1/calls')).status).toBe(401);
    await waitFor('the stream to end', () => stream.ended);

    const admins = (await t.api('/v1/users')).body.data.filter((u: { role: string }) => u.role === 'admin');
    expect(admins).toHaveLength(1);
    expect(await t.request('DELETE', `/v1/users/${admins[0].id}`)).toMatchObject({ status: 409, body: { error: 'last_admin' } });
    expect((await t.request('DELETE', '/v1/users/usr_nobody')).status).toBe(404);
  });
});

describe('the session cookie over https, and sign-in limits', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('is Secure when the public URL is https, and then only that origin counts as our own', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { publicUrl: 'https://switchboard.example.com' });
    await createUser(t.app.storage, { email: 'a@example.com', role: 'admin', password });
    const local = `http://127.0.0.1:${(t.app.server.server.address() as { port: number }).port}`;
    const c = client(t, local);
    const answer = await c.send('POST', '/v1/auth/login', { body: { email: 'a@example.com', password }, headers: { origin: 'https://switchboard.example.com' } });
    expect(answer.status).toBe(200);
    expect(answer.headers.getSetCookie()[0]).toMatch(/; Secure$/);
    expect((await c.send('GET', '/v1/calls', { headers: { origin: 'https://switchboard.example.com' } })).status).toBe(200);
    expect((await c.send('GET', '/v1/calls', { headers: { origin: local } })).status).toBe(401);
    expect((await c.send('POST', '/v1/keys', { body: { name: 'k', scope: 'read' }, headers: { origin: 'https://switchboard.example.com' } })).status).toBe(201);
    expect((await c.send('POST', '/v1/keys', { body: { name: 'k', scope: 'read' }, headers: { origin: local } })).status).toBe(403);
  });

  it('limits failed sign-ins per account (then even the right password waits), with Retry-After, and per address', async () => {
    let clock = Date.now();
    t = await startTestApp(await backends[0]!.freshDb(), { loginFailuresPerAccount: 3, loginFailuresPerAddress: 5, loginWindowMin: 15 }, { now: () => clock });
    await createUser(t.app.storage, { email: 'a@example.com', role: 'admin', password });
    const c = client(t);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await c.login('A@example.com', 'wrong password')).status);
    expect(statuses).toEqual([401, 401, 401]);
    const limited = await c.login('a@example.com');
    expect(limited).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
    clock += 15 * 60_000;
    expect((await c.login('a@example.com')).status, 'after the window').toBe(200);

    // Per address: failures spread over many accounts (unknown ones count too).
    for (let i = 0; i < 5; i++) expect((await c.login(`nobody${i}@example.com`)).status).toBe(401);
    expect((await c.login('someone-else@example.com')).status).toBe(429);
    expect((await c.login('a@example.com')).status, 'the address is over its limit').toBe(429);
  });

  it('counts sign-ins in flight: of many wrong passwords sent at once, only as many as the limits allow are checked', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { loginFailuresPerAccount: 3, loginFailuresPerAddress: 5, loginWindowMin: 15 });
    await createUser(t.app.storage, { email: 'a@example.com', role: 'admin', password });
    const c = client(t);
    const count = (statuses: number[]) => statuses.reduce<Record<number, number>>((n, s) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {});

    // Per account: 20 guesses at once against one account (before, every one was checked: 20 × 401).
    const atOnce = await Promise.all(Array.from({ length: 20 }, () => c.login('a@example.com', 'wrong password')));
    expect(count(atOnce.map((a) => a.status))).toEqual({ 401: 3, 429: 17 });
    expect((await c.login('a@example.com')).status, 'the account is over its limit').toBe(429);

    // Per address: guesses at once spread over accounts (2 failures from this address so far: 3 more).
    const spread = await Promise.all(Array.from({ length: 20 }, (_, i) => c.login(`nobody${i}@example.com`, 'wrong password')));
    expect(count(spread.map((a) => a.status))).toEqual({ 401: 2, 429: 18 });

    // The password change's current password, guessed at once from a signed-in session (another node's limits: a fresh server).
    await t.close();
    t = await startTestApp(await backends[0]!.freshDb(), { loginFailuresPerAccount: 3, loginFailuresPerAddress: 30, loginWindowMin: 15 });
    await createUser(t.app.storage, { email: 'b@example.com', role: 'viewer', password });
    const b = client(t);
    expect((await b.login('b@example.com')).status).toBe(200);
    const changes = await Promise.all(Array.from({ length: 20 }, () =>
      b.send('POST', '/v1/auth/password', { body: { current_password: 'wrong password', new_password: 'a new passphrase' }, headers: b.own })));
    expect(count(changes.map((a) => a.status))).toEqual({ 401: 3, 429: 17 });
  });

  it('does not count successful sign-ins against the address', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), { loginFailuresPerAccount: 3, loginFailuresPerAddress: 3, loginWindowMin: 15 });
    await createUser(t.app.storage, { email: 'a@example.com', role: 'admin', password });
    const c = client(t);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await c.login('a@example.com')).status);
    expect(statuses, 'each counted while its password was checked, then taken back').toEqual(Array(6).fill(200));
    expect((await c.login('a@example.com', 'wrong password')).status).toBe(401);
  });
});

describe('the shortest idle timeout', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('keeps a session used every 20 s alive with SWITCHBOARD_SESSION_IDLE_MIN=1, and ends it after a minute unused', async () => {
    const start = Date.now();
    let clock = start;
    t = await startTestApp(await backends[0]!.freshDb(), { sessionIdleMin: 1 }, { now: () => clock });
    await createUser(t.app.storage, { email: 'busy@example.com', role: 'viewer', password }, clock);
    const c = client(t);
    expect((await c.login('busy@example.com')).status).toBe(200);
    for (let s = 20; s <= 180; s += 20) {
      clock = start + s * 1000;
      expect((await c.send('GET', '/v1/calls')).status, `at ${s} s`).toBe(200);
    }
    clock += 61_000;
    expect((await c.send('GET', '/v1/calls')).status).toBe(401);
  });
});

describe('what a sign-out clears', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it("drops the cached sessions only: the ingest keeps its source tokens and the API its keys (no lookup after a sign-out)", async () => {
    const lookups = { sources: 0, keys: 0 };
    const counting = (storage: Storage): Storage => ({
      ...storage,
      sources: { ...storage.sources, findByTokenHash: (...args) => (lookups.sources++, storage.sources.findByTokenHash(...args)) },
      keys: { ...storage.keys, findActiveByHash: (...args) => (lookups.keys++, storage.keys.findActiveByHash(...args)) },
    });
    t = await startTestApp(await backends[0]!.freshDb(), {}, { wrapStorage: counting });
    await createUser(t.app.storage, { email: 'out@example.com', role: 'viewer', password });
    expect((await t.post(endCall('before-sign-out'))).status).toBe(200);
    expect((await t.api('/v1/events')).status).toBe(200);
    const before = { ...lookups };
    for (let i = 0; i < 3; i++) {
      const c = client(t);
      expect((await c.login('out@example.com')).status).toBe(200);
      expect((await c.send('POST', '/v1/auth/logout', { headers: { origin: t.baseUrl } })).status).toBe(204);
    }
    expect((await t.post(endCall('after-sign-out'))).status).toBe(200);
    expect((await t.api('/v1/events')).status).toBe(200);
    expect(lookups).toEqual(before);
  });
});
