import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../src/admin/users.js';
import { hashSecret } from '../src/domain/secrets.js';
import { backends, startTestApp, type TestApp } from './support/app.js';

/**
 * What the dashboard's settings pages need from the API (issue 13): invitations, role changes, the keys'
 * last use and `/v1/about`, on both backends, with a driven clock.
 */
const password = 'correct horse battery';
const day = 86_400_000;

describe.each(backends)('settings API on $name', (backend) => {
  let t: TestApp;
  let db: string;
  let clock = Date.parse('2025-03-01T10:00:00Z');
  beforeAll(async () => {
    db = await backend.freshDb();
    t = await startTestApp(db, { retentionDays: 30 }, { now: () => clock });
    await createUser(t.app.storage, { email: 'boss@example.com', role: 'admin', password }, clock);
  });
  afterAll(() => t.close());

  const api = (method: string, path: string, body?: unknown, key?: string | null) => t.request(method, path, body, key);
  /** A request with the session cookie of our own origin, as the dashboard sends it. */
  async function asPerson(cookie: string, method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { cookie: `sb_session=${cookie}`, origin: t.baseUrl };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${t.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text), cookie: /sb_session=([^;]+)/.exec(response.headers.getSetCookie().join('\n'))?.[1] };
  }
  const accept = (token: string, name?: string) => asPerson('', 'POST', '/v1/auth/invitation', { token, password, ...(name ? { name } : {}) });

  it('invites by a one-time link: shown once, stored as its digest, accepted once with the role and signed in', async () => {
    const created = await api('POST', '/v1/invitations', { email: ' Ann@Example.com ', role: 'viewer' });
    expect(created.status).toBe(201);
    const { token, url } = created.body;
    expect(created.body).toEqual({
      id: expect.stringMatching(/^inv_/), email: 'ann@example.com', role: 'viewer', token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      url: `${t.baseUrl}/setup?invite=${token}`, created_at: new Date(clock).toISOString(), expires_at: new Date(clock + 7 * day).toISOString(),
    });
    const listed = await api('GET', '/v1/invitations');
    expect(listed.body.data).toEqual([{ id: created.body.id, email: 'ann@example.com', role: 'viewer', created_at: created.body.created_at, expires_at: created.body.expires_at }]);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect(await t.app.storage.invitations.findPending(hashSecret(token), clock)).toMatchObject({ email: 'ann@example.com' });

    expect((await asPerson('', 'GET', `/v1/auth/invitation?token=${token}`)).body).toEqual({ email: 'ann@example.com', role: 'viewer', expires_at: created.body.expires_at });
    const joined = await accept(token, 'Ann');
    expect(joined.status).toBe(201);
    expect(joined.body.user).toMatchObject({ email: 'ann@example.com', name: 'Ann', role: 'viewer' });
    expect((await asPerson(joined.cookie!, 'GET', '/v1/auth/session')).body.user.email).toBe('ann@example.com');
    // A viewer reads but cannot invite.
    expect((await asPerson(joined.cookie!, 'GET', '/v1/about')).status).toBe(200);
    expect((await asPerson(joined.cookie!, 'POST', '/v1/invitations', { email: 'x@example.com', role: 'admin' })).body.error).toBe('forbidden');

    // Single use: the same link again, and the check, are refused; it is no longer pending.
    expect(await accept(token)).toMatchObject({ status: 410, body: { error: 'invitation_invalid' } });
    expect((await asPerson('', 'GET', `/v1/auth/invitation?token=${token}`)).status).toBe(410);
    expect((await api('GET', '/v1/invitations')).body.data).toEqual([]);
    // Inviting an existing user's email is refused.
    expect((await api('POST', '/v1/invitations', { email: 'ANN@example.com', role: 'admin' })).body.error).toBe('email_taken');
  });

  it('refuses a wrong, an expired and a revoked invitation token', async () => {
    expect((await accept('not-a-real-token')).body.error).toBe('invitation_invalid');
    const expiring = (await api('POST', '/v1/invitations', { email: 'late@example.com', role: 'admin' })).body;
    const revoked = (await api('POST', '/v1/invitations', { email: 'gone@example.com', role: 'viewer' })).body;
    expect((await api('DELETE', `/v1/invitations/${revoked.id}`)).status).toBe(204);
    expect((await api('DELETE', `/v1/invitations/${revoked.id}`)).status).toBe(404);
    expect((await api('DELETE', '/v1/invitations/usr_nope')).status).toBe(404);
    expect((await accept(revoked.token)).body.error).toBe('invitation_invalid');
    clock += 7 * day;
    try {
      expect((await accept(expiring.token)).body.error).toBe('invitation_invalid');
      expect((await api('GET', '/v1/invitations')).body.data).toEqual([]);
    } finally {
      clock -= 7 * day;
    }
    // Before its expiry it works, with the invited role.
    expect((await accept(expiring.token)).body.user).toMatchObject({ email: 'late@example.com', role: 'admin' });
  });

  it("ends the pending invitations of a removed user's email: a second link sent earlier does not bring them back", async () => {
    const first = (await api('POST', '/v1/invitations', { email: 'bob@example.com', role: 'admin' })).body;
    const resent = (await api('POST', '/v1/invitations', { email: 'Bob@example.com', role: 'admin' })).body;
    const joined = await accept(first.token);
    expect(joined.status).toBe(201);
    expect((await api('DELETE', `/v1/users/${joined.body.user.id}`)).status).toBe(204);
    expect(await accept(resent.token)).toMatchObject({ status: 410, body: { error: 'invitation_invalid' } });
    expect((await api('GET', '/v1/invitations')).body.data.map((i: { email: string }) => i.email)).not.toContain('bob@example.com');
    // A new invitation, after the removal, works.
    const again = (await api('POST', '/v1/invitations', { email: 'bob@example.com', role: 'viewer' })).body;
    expect((await accept(again.token)).body.user).toMatchObject({ email: 'bob@example.com', role: 'viewer' });
  });

  /** A new admin, signed in: their session cookie and id. */
  async function signedInAdmin(email: string) {
    const user = (await api('POST', '/v1/users', { email, role: 'admin', password })).body;
    const cookie = (await asPerson('', 'POST', '/v1/auth/login', { email, password })).cookie!;
    return { id: user.id as string, cookie };
  }
  const invite = async (cookie: string, email: string, role: string) => {
    const created = await asPerson(cookie, 'POST', '/v1/invitations', { email, role });
    expect(created.status).toBe(201);
    return created.body as { id: string; token: string };
  };

  it('ends the pending invitations a removed user created, as a revoked one ends; those of other admins still work', async () => {
    const leaving = await signedInAdmin('leaving-admin@example.com');
    const staying = await signedInAdmin('staying-admin@example.com');
    const theirs = [await invite(leaving.cookie, 'by-leaving-1@example.com', 'viewer'), await invite(leaving.cookie, 'by-leaving-2@example.com', 'admin')];
    const others = await invite(staying.cookie, 'by-staying@example.com', 'admin');
    const byKey = (await api('POST', '/v1/invitations', { email: 'by-key@example.com', role: 'viewer' })).body;

    expect((await api('DELETE', `/v1/users/${leaving.id}`)).status).toBe(204);
    for (const invitation of theirs) {
      expect((await asPerson('', 'GET', `/v1/auth/invitation?token=${invitation.token}`))).toMatchObject({ status: 410, body: { error: 'invitation_invalid' } });
      expect(await accept(invitation.token)).toMatchObject({ status: 410, body: { error: 'invitation_invalid' } });
    }
    const pending = (await api('GET', '/v1/invitations')).body.data.map((i: { id: string }) => i.id);
    expect(pending).not.toContain(theirs[0]!.id);
    expect(pending).not.toContain(theirs[1]!.id);
    expect((await accept(others.token)).body.user).toMatchObject({ email: 'by-staying@example.com', role: 'admin' });
    expect((await accept(byKey.token)).body.user).toMatchObject({ email: 'by-key@example.com', role: 'viewer' });
  });

  it("ends a demoted admin's pending invitations for the admin role (a viewer has minted no admins); their viewer invitations still work", async () => {
    const demoted = await signedInAdmin('demoted-admin@example.com');
    const other = await signedInAdmin('other-admin@example.com');
    const forAdmin = await invite(demoted.cookie, 'would-be-admin@example.com', 'admin');
    const forViewer = await invite(demoted.cookie, 'plain-viewer@example.com', 'viewer');
    const othersForAdmin = await invite(other.cookie, 'others-admin@example.com', 'admin');

    expect((await api('PATCH', `/v1/users/${demoted.id}`, { role: 'viewer' })).body.role).toBe('viewer');
    expect((await asPerson('', 'GET', `/v1/auth/invitation?token=${forAdmin.token}`))).toMatchObject({ status: 410, body: { error: 'invitation_invalid' } });
    expect(await accept(forAdmin.token)).toMatchObject({ status: 410, body: { error: 'invitation_invalid' } });
    expect((await accept(forViewer.token)).body.user).toMatchObject({ email: 'plain-viewer@example.com', role: 'viewer' });
    expect((await accept(othersForAdmin.token)).body.user).toMatchObject({ email: 'others-admin@example.com', role: 'admin' });
    // A change that keeps the role ends nothing.
    const kept = await invite(other.cookie, 'kept-admin@example.com', 'admin');
    expect((await api('PATCH', `/v1/users/${other.id}`, { role: 'admin' })).status).toBe(200);
    expect((await accept(kept.token)).body.user).toMatchObject({ email: 'kept-admin@example.com', role: 'admin' });
  });

  it('refuses an invitation whose inviter was made a viewer (or removed) while it was being created: no admin link outlives the demotion', async () => {
    const racing = await signedInAdmin('racing-admin@example.com');
    // The invitation's email check waits until the demotion has been answered.
    let demoted!: () => void;
    const demotion = new Promise<void>((resolve) => (demoted = resolve));
    let checking!: () => void;
    const checked = new Promise<void>((resolve) => (checking = resolve));
    const findByEmail = t.app.storage.users.findByEmail;
    t.app.storage.users.findByEmail = async (email) => {
      if (email === 'raced@example.com') {
        checking();
        await demotion;
      }
      return findByEmail(email);
    };
    try {
      const inviting = asPerson(racing.cookie, 'POST', '/v1/invitations', { email: 'raced@example.com', role: 'admin' });
      await checked;
      expect((await api('PATCH', `/v1/users/${racing.id}`, { role: 'viewer' })).body.role).toBe('viewer');
      demoted();
      const answer = await inviting;
      expect(answer).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    } finally {
      t.app.storage.users.findByEmail = findByEmail;
    }
    expect((await api('GET', '/v1/invitations')).body.data.map((i: { email: string }) => i.email)).not.toContain('raced@example.com');
  });

  it('changes a role, at once for the signed-in person, and never demotes the last admin', async () => {
    const viewer = (await api('POST', '/v1/users', { email: 'vic@example.com', role: 'viewer', password })).body;
    const signedIn = (await asPerson('', 'POST', '/v1/auth/login', { email: 'vic@example.com', password })).cookie!;
    expect((await asPerson(signedIn, 'GET', '/v1/keys')).status).toBe(403);
    const promoted = await api('PATCH', `/v1/users/${viewer.id}`, { role: 'admin' });
    expect(promoted).toMatchObject({ status: 200, body: { id: viewer.id, role: 'admin' } });
    expect((await asPerson(signedIn, 'GET', '/v1/keys')).status).toBe(200);
    expect((await asPerson(signedIn, 'GET', '/v1/about')).body.you).toEqual({ kind: 'user', scope: 'admin', role: 'admin' });
    expect((await api('PATCH', `/v1/users/${viewer.id}`, { role: 'viewer' })).body.role).toBe('viewer');
    expect((await asPerson(signedIn, 'GET', '/v1/keys')).status).toBe(403);
    expect((await api('PATCH', '/v1/users/usr_nobody', { role: 'viewer' })).status).toBe(404);
    expect((await api('PATCH', `/v1/users/${viewer.id}`, { role: 'owner' })).status).toBe(400);

    // Demote every admin but one, then the last one is refused.
    const admins = (await api('GET', '/v1/users')).body.data.filter((u: { role: string }) => u.role === 'admin');
    expect(admins.length).toBeGreaterThan(1);
    for (const admin of admins.slice(1)) expect((await api('PATCH', `/v1/users/${admin.id}`, { role: 'viewer' })).status).toBe(200);
    const last = await api('PATCH', `/v1/users/${admins[0].id}`, { role: 'viewer' });
    expect(last).toMatchObject({ status: 409, body: { error: 'last_admin' } });
    expect((await api('GET', `/v1/users`)).body.data.filter((u: { role: string }) => u.role === 'admin')).toHaveLength(1);
  });

  it("records a key's last use without a write per request: at most once a minute", async () => {
    const { id, key } = (await api('POST', '/v1/keys', { name: 'reader', scope: 'read' })).body;
    const lastUsed = async () => (await api('GET', '/v1/keys')).body.data.find((k: { id: string }) => k.id === id).last_used_at;
    expect(await lastUsed()).toBeNull();
    const first = clock;
    expect((await t.api('/v1/calls', key)).status).toBe(200);
    await expect.poll(lastUsed).toBe(new Date(first).toISOString());
    clock += 30_000;
    await t.api('/v1/calls', key);
    clock += 29_000;
    await t.api('/v1/calls', key);
    // Within the minute: unchanged (no write).
    expect(await lastUsed()).toBe(new Date(first).toISOString());
    clock += 2_000;
    await t.api('/v1/calls', key);
    await expect.poll(lastUsed).toBe(new Date(clock).toISOString());
  });

  it('tells version, backend, role, retention and the commit settings, and nothing secret', async () => {
    const about = await api('GET', '/v1/about');
    expect(about.status).toBe(200);
    expect(about.body).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/), storage: backend.name, node_role: 'all', you: { kind: 'key', scope: 'admin', role: null },
      retention_days: 30, source_token_grace_hours: 24, ingest: { commit_max_batch: 512, commit_max_in_flight: 2, commit_max_queue: 20_000 },
    });
    const text = JSON.stringify(about.body);
    expect(text).not.toContain(db);
    expect(text).not.toMatch(/sbk_|sbt_|postgres:\/\/|password/i);
    expect((await api('GET', '/v1/about', undefined, null)).status).toBe(401);
  });
});
