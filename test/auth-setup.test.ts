import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSetupToken, createUser, inviteUser } from '../src/admin/users.js';
import type { Storage } from '../src/storage/ports.js';
import { createClient, SwitchboardApiError } from '../src/sdk/client.js';
import { backends, startTestApp, type TestApp } from './support/app.js';
import { killLeftoverServers, startServer } from './support/crash-server.js';

/**
 * The first admin's setup link (SPEC "Dashboard"), the users API, and what never reaches the logs.
 */
const password = 'correct horse battery';
const json = { 'content-type': 'application/json' };
const hour = 3_600_000;

async function send(t: TestApp, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.baseUrl}${path}`, { method, headers: { ...(body === undefined ? {} : json), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
}
const cookieOf = (headers: Headers) => /^sb_session=([^;]+)/.exec(headers.getSetCookie()[0] ?? '')?.[1];

describe.each(backends)('the setup link on $name', (backend) => {
  let t: TestApp;
  let clock = Date.now();
  afterEach(() => t?.close());

  it('creates the first admin once: 201 with the session cookie, then the link is used (410) and setup is closed (409)', async () => {
    t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    const token = t.app.setupToken!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await send(t, 'GET', `/v1/auth/setup?token=${token}`)).toMatchObject({ status: 200, body: { valid: true } });
    expect(await send(t, 'GET', '/v1/auth/setup?token=nope')).toMatchObject({ status: 410, body: { error: 'setup_token_invalid' } });

    const created = await send(t, 'POST', '/v1/auth/setup', { token, email: ' Owner@Example.com', password, name: 'Owner' }, { origin: t.baseUrl });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      user: { id: expect.stringMatching(/^usr_/), email: 'owner@example.com', name: 'Owner', role: 'admin', created_at: expect.any(String) },
      expires_at: expect.any(String),
    });
    const cookie = cookieOf(created.headers)!;
    expect(await send(t, 'GET', '/v1/auth/session', undefined, { cookie: `sb_session=${cookie}` })).toMatchObject({ status: 200, body: { user: { email: 'owner@example.com' } } });

    expect(await send(t, 'POST', '/v1/auth/setup', { token, email: 'second@example.com', password }, { origin: t.baseUrl })).toMatchObject({ status: 410, body: { error: 'setup_token_invalid' } });
    expect(await send(t, 'GET', `/v1/auth/setup?token=${token}`)).toMatchObject({ status: 409, body: { error: 'setup_done' } });
    expect((await t.api('/v1/users')).body.data).toHaveLength(1);
  });

  it('of concurrent uses of one link, exactly one creates an admin; of two links used at once, too', async () => {
    t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    const token = t.app.setupToken!;
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => send(t, 'POST', '/v1/auth/setup', { token, email: `admin${i}@example.com`, password })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 410, 410, 410, 410]);
    expect((await t.api('/v1/users')).body.data).toHaveLength(1);

    const t2 = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    try {
      const other = (await createSetupToken(t2.app.storage, clock))!;
      const both = await Promise.all([t2.app.setupToken!, other].map((tk, i) => send(t2, 'POST', '/v1/auth/setup', { token: tk, email: `first${i}@example.com`, password })));
      expect(both.map((a) => a.status).sort()).toEqual([201, 409]);
      expect((await t2.api('/v1/users')).body.data).toHaveLength(1);
    } finally {
      await t2.close();
    }
  });

  it('refuses setup once a user exists (409 setup_done), an expired link (410), and a setup posted from another origin (403)', async () => {
    t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    const token = t.app.setupToken!;
    expect(await send(t, 'POST', '/v1/auth/setup', { token, email: 'a@example.com', password }, { origin: 'https://evil.example' })).toMatchObject({ status: 403, body: { error: 'csrf_refused' } });
    expect(await send(t, 'POST', '/v1/auth/setup', { token, email: 'a@example.com', password: 'short' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const start = clock;
    clock = start + 24 * hour;
    try {
      expect(await send(t, 'GET', `/v1/auth/setup?token=${token}`)).toMatchObject({ status: 410, body: { error: 'setup_token_invalid' } });
      expect(await send(t, 'POST', '/v1/auth/setup', { token, email: 'a@example.com', password })).toMatchObject({ status: 410, body: { error: 'setup_token_invalid' } });
    } finally {
      clock = start;
    }
    await createUser(t.app.storage, { email: 'cli@example.com', role: 'admin', password });
    expect(await send(t, 'GET', `/v1/auth/setup?token=${token}`)).toMatchObject({ status: 409, body: { error: 'setup_done' } });
    expect(await send(t, 'POST', '/v1/auth/setup', { token, email: 'a@example.com', password })).toMatchObject({ status: 409, body: { error: 'setup_done' } });
  });
});

describe('switchboard start prints the setup link', () => {
  afterAll(() => killLeftoverServers());

  it('on every start until a user exists, each a new link, older ones still valid; never through the logger', async () => {
    const db = await backends[0]!.freshDb();
    const linkOf = (out: string) => /Open (http:\/\/\S+)\/setup\?token=([A-Za-z0-9_-]{43})\n/.exec(out);
    const first = await startServer(db, 30_000, ['--log-level', 'trace']);
    const one = linkOf(first.stdout());
    expect(one, first.stdout()).not.toBeNull();
    expect(one![1]).toBe(first.baseUrl);
    first.child.kill('SIGTERM');
    await first.exited;
    // Once in the banner, nowhere else (pino writes to the same stdout).
    expect(first.stdout().split(one![2]!).length - 1).toBe(1);

    const second = await startServer(db, 30_000, ['--log-level', 'trace']);
    try {
      const two = linkOf(second.stdout());
      expect(two![2]).not.toBe(one![2]);
      const valid = await fetch(`${second.baseUrl}/v1/auth/setup?token=${one![2]}`);
      expect(valid.status).toBe(200);
      const setup = await fetch(`${second.baseUrl}/v1/auth/setup`, { method: 'POST', headers: json, body: JSON.stringify({ token: two![2], email: 'o@example.com', password }) });
      expect(setup.status).toBe(201);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const third = await startServer(db);
    try {
      expect(third.stdout()).not.toContain('/setup?token=');
    } finally {
      third.child.kill('SIGTERM');
      await third.exited;
    }
  });
});

describe.each(backends)('the users API on $name', (backend) => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('creates (201; 409 email_taken whatever the case), lists, resets a password (their sessions end) and removes users, with an admin key or an admin session', async () => {
    t = await startTestApp(await backend.freshDb());
    const created = await t.request('POST', '/v1/users', { email: 'Ann@Example.com', name: 'Ann', role: 'viewer', password });
    expect(created).toMatchObject({ status: 201, body: { id: expect.stringMatching(/^usr_/), email: 'ann@example.com', name: 'Ann', role: 'viewer' } });
    expect(await t.request('POST', '/v1/users', { email: 'ANN@example.com ', role: 'admin', password })).toMatchObject({ status: 409, body: { error: 'email_taken' } });
    expect(await t.request('POST', '/v1/users', { email: 'not-an-email', role: 'admin', password })).toMatchObject({ status: 400 });
    expect(await t.request('POST', '/v1/users', { email: 'b@example.com', role: 'owner', password })).toMatchObject({ status: 400 });
    expect(await t.request('POST', '/v1/users', { email: 'b@example.com', role: 'admin', password: 'x'.repeat(1025) })).toMatchObject({ status: 400 });
    const admin = await t.request('POST', '/v1/users', { email: 'boss@example.com', role: 'admin', password });
    expect(admin.status).toBe(201);

    const login = await send(t, 'POST', '/v1/auth/login', { email: 'ann@example.com', password });
    const annCookie = { cookie: `sb_session=${cookieOf(login.headers)}` };
    expect((await send(t, 'GET', '/v1/calls', undefined, annCookie)).status).toBe(200);
    expect((await t.request('POST', `/v1/users/${created.body.id}/password`, { password: 'a new passphrase' })).status).toBe(204);
    expect((await send(t, 'GET', '/v1/calls', undefined, annCookie)).status).toBe(401);
    expect((await send(t, 'POST', '/v1/auth/login', { email: 'ann@example.com', password: 'a new passphrase' })).status).toBe(200);
    expect((await t.request('POST', '/v1/users/usr_nobody/password', { password: 'a new passphrase' })).status).toBe(404);

    // An admin's session manages users from the dashboard's origin.
    const boss = await send(t, 'POST', '/v1/auth/login', { email: 'boss@example.com', password });
    const bossHeaders = { cookie: `sb_session=${cookieOf(boss.headers)}`, origin: t.baseUrl };
    const listed = await send(t, 'GET', '/v1/users', undefined, bossHeaders);
    expect(listed.body.data.map((u: { email: string }) => u.email)).toEqual(['ann@example.com', 'boss@example.com']);
    expect((await send(t, 'DELETE', `/v1/users/${created.body.id}`, undefined, bossHeaders)).status).toBe(204);
    expect((await send(t, 'DELETE', `/v1/users/${admin.body.id}`, undefined, bossHeaders))).toMatchObject({ status: 409, body: { error: 'last_admin' } });
    expect((await t.api('/v1/users')).body.data).toHaveLength(1);
  });
});

describe('the SDK client\'s users namespace', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('lists, creates, resets a password and removes users, typed, with the server\'s error codes', async () => {
    t = await startTestApp(await backends[0]!.freshDb());
    const client = createClient({ baseUrl: t.baseUrl, apiKey: t.adminKey });
    const ann = await client.users.create({ email: 'ann@example.com', role: 'viewer', password });
    expect(ann).toMatchObject({ id: expect.stringMatching(/^usr_/), email: 'ann@example.com', name: null, role: 'viewer' });
    const taken = await client.users.create({ email: 'ANN@example.com', role: 'viewer', password }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(SwitchboardApiError);
    expect((taken as SwitchboardApiError).code).toBe('email_taken');
    expect(await client.users.resetPassword(ann.id, { password: 'another passphrase' })).toBeUndefined();
    expect((await client.users.list()).data.map((u) => u.email)).toEqual(['ann@example.com']);
    await client.users.remove(ann.id);
    expect((await client.users.list()).data).toEqual([]);
  });
});

describe('secrets in the logs', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('never carry a password, a session cookie or a setup token, at the trace level', async () => {
    const lines: string[] = [];
    t = await startTestApp(await backends[0]!.freshDb(), { logLevel: 'trace' }, { logger: { stream: { write: (line: string) => void lines.push(line) } } });
    const token = t.app.setupToken!;
    const secrets = [token, password, 'wrong password here', 'a new passphrase', 'reset passphrase'];
    const setup = await send(t, 'POST', '/v1/auth/setup', { token, email: 'o@example.com', password }, { origin: t.baseUrl });
    const cookie = cookieOf(setup.headers)!;
    secrets.push(cookie);
    await send(t, 'POST', '/v1/auth/login', { email: 'o@example.com', password: 'wrong password here' });
    await send(t, 'GET', '/v1/calls', undefined, { cookie: `sb_session=${cookie}` });
    await send(t, 'POST', '/v1/keys', { name: 'k', scope: 'read' }, { cookie: `sb_session=${cookie}` }); // refused: no Origin
    await send(t, 'POST', '/v1/auth/password', { current_password: password, new_password: 'a new passphrase' }, { cookie: `sb_session=${cookie}`, origin: t.baseUrl });
    const user = await t.request('POST', '/v1/users', { email: 'v@example.com', role: 'viewer', password });
    await t.request('POST', `/v1/users/${user.body.id}/password`, { password: 'reset passphrase' });
    await send(t, 'POST', '/v1/auth/logout', undefined, { cookie: `sb_session=${cookie}`, origin: t.baseUrl });
    expect(lines.length).toBeGreaterThan(0);
    const log = lines.join('');
    for (const secret of secrets) expect(log).not.toContain(secret);
  });

  it('never carry a setup or invitation token from the URL of a failed request (the database down: 503, logged)', async () => {
    const lines: string[] = [];
    let down = false;
    const failing = (storage: Storage): Storage => {
      const fail = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
      return {
        ...storage,
        users: { ...storage.users, count: () => (down ? fail() : storage.users.count()) },
        invitations: { ...storage.invitations, findPending: (hash, at) => (down ? fail() : storage.invitations.findPending(hash, at)) },
      };
    };
    t = await startTestApp(await backends[0]!.freshDb(), { logLevel: 'info' }, { logger: { stream: { write: (line: string) => void lines.push(line) } }, wrapStorage: failing });
    const setupToken = t.app.setupToken!;
    const invited = await inviteUser(t.app.storage, { email: 'new@example.com', role: 'viewer', createdBy: null });
    if (invited.outcome !== 'created') throw new Error(invited.outcome);
    const inviteToken = invited.token;
    down = true;
    expect((await send(t, 'GET', `/v1/auth/setup?token=${setupToken}`)).status).toBe(503);
    expect((await send(t, 'GET', `/v1/auth/invitation?limit=1&token=${inviteToken}`)).status).toBe(503);
    down = false;
    const log = lines.join('');
    expect(log).toContain('/v1/auth/setup?token=');
    expect(log).toContain('/v1/auth/invitation?limit=1&token=');
    expect(log).not.toContain(setupToken);
    expect(log).not.toContain(inviteToken);
    // Both links still work: nothing was used.
    expect((await send(t, 'GET', `/v1/auth/invitation?token=${inviteToken}`)).status).toBe(200);
    expect((await send(t, 'GET', `/v1/auth/setup?token=${setupToken}`)).status).toBe(200);
  });
});
