import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../src/domain/secrets.js';
import { backends, endCall, startTestApp, type TestApp } from './support/app.js';

const hour = 3_600_000;
const cli = new URL('../dist/cli/index.js', import.meta.url).pathname;
// Not spawnSync: the server answering the command runs in this process.
const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 20_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout: string; stderr: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
};

/** Every row of a table as the database holds it, read around the app. */
async function rawRows(db: string, table: 'sources' | 'api_keys'): Promise<unknown[]> {
  if (db.startsWith('sqlite:')) {
    const d = new BetterSqlite3(db.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      return d.prepare(`select * from ${table}`).all();
    } finally {
      d.close();
    }
  }
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    return (await client.query(`select * from ${table}`)).rows;
  } finally {
    await client.end();
  }
}

describe.each(backends)('sources and API keys administration on $name', (backend) => {
  let t: TestApp;
  let db: string;
  beforeAll(async () => {
    db = await backend.freshDb();
    t = await startTestApp(db);
  });
  afterAll(() => t.close());

  const api = (method: string, path: string, body?: unknown, key?: string | null) => t.request(method, path, body, key);
  const tokenOf = (url: string) => url.split('/').at(-1)!;
  let n = 0;
  const ingest = (url: string) => t.post(endCall(`admin-${backend.name}-${++n}`), 'application/json', url);

  it('creates a read key that reads but cannot administer, and a revoked key gets 401 at once', async () => {
    const created = await api('POST', '/v1/keys', { name: 'CRM sync', scope: 'read' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^key_/), name: 'CRM sync', scope: 'read', key: expect.stringMatching(/^sbk_[A-Za-z0-9_-]{43}$/), created_at: expect.stringMatching(/Z$/) });
    const read = created.body.key as string;

    expect((await t.api('/v1/events', read)).status).toBe(200);
    for (const [method, path, body] of [
      ['GET', '/v1/keys'], ['POST', '/v1/keys', { name: 'x', scope: 'admin' }], ['DELETE', `/v1/keys/${created.body.id}`],
      ['GET', '/v1/sources'], ['POST', '/v1/sources', { name: 'x' }], ['POST', '/v1/sources/src_x/rotate'], ['DELETE', '/v1/sources/src_x'],
    ] as const) {
      const answer = await api(method, path, body, read);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.body.error).toBe('forbidden');
      expect((await api(method, path, body, null)).status, `${method} ${path} without a key`).toBe(401);
    }

    // Warm the lookup cache first: the revocation must clear it.
    expect((await t.api('/v1/events', read)).status).toBe(200);
    expect((await api('DELETE', `/v1/keys/${created.body.id}`)).status).toBe(204);
    const after = await t.api('/v1/events', read);
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('unauthorized');
    // Idempotent for a revoked key, 404 for an unknown one.
    expect((await api('DELETE', `/v1/keys/${created.body.id}`)).status).toBe(204);
    const unknown = await api('DELETE', '/v1/keys/key_nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');

    const listed = (await api('GET', '/v1/keys')).body.data;
    expect(listed.find((k: any) => k.id === created.body.id)).toEqual({
      id: created.body.id, name: 'CRM sync', scope: 'read', key_hint: read.slice(0, 8) + '…', status: 'revoked', created_at: created.body.created_at,
      revoked_at: expect.stringMatching(/Z$/),
      // The key was used above (its reads, then its refused admin requests).
      last_used_at: expect.stringMatching(/Z$/),
    });
  });

  it('a revoked admin key gets 401 on admin routes; a key cannot revoke itself', async () => {
    const admin = (await api('POST', '/v1/keys', { name: 'ops', scope: 'admin' })).body;
    expect((await api('GET', '/v1/keys', undefined, admin.key)).status).toBe(200);
    const self = await api('DELETE', `/v1/keys/${admin.id}`, undefined, admin.key);
    expect(self.status).toBe(409);
    expect(self.body.error).toBe('conflict');
    expect((await api('GET', '/v1/keys', undefined, admin.key)).status).toBe(200);
    expect((await api('DELETE', `/v1/keys/${admin.id}`)).status).toBe(204);
    expect((await api('GET', '/v1/keys', undefined, admin.key)).status).toBe(401);
  });

  it('refuses invalid bodies with invalid_request', async () => {
    for (const body of [{}, { name: '' }, { name: 'x', scope: 'owner' }, { scope: 'read' }]) {
      const answer = await api('POST', '/v1/keys', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toBe('invalid_request');
    }
    for (const body of [{}, { name: 'x'.repeat(201) }]) {
      const source = await api('POST', '/v1/sources', body);
      expect(source.status, JSON.stringify(body)).toBe(400);
      expect(source.body.error).toBe('invalid_request');
    }
  });

  it('never shows a secret again, and the database holds only their hashes', async () => {
    const key = (await api('POST', '/v1/keys', { name: 'hashed', scope: 'read' })).body;
    const source = (await api('POST', '/v1/sources', { name: 'hashed' })).body;
    const rotated = (await api('POST', `/v1/sources/${source.id}/rotate`)).body;
    const secrets = [key.key, source.token, rotated.token, t.adminKey, tokenOf(t.ingestUrl)];

    const listings = JSON.stringify([(await api('GET', '/v1/keys')).body, (await api('GET', '/v1/sources')).body]);
    const stored = JSON.stringify([await t.app.storage.keys.list(), await t.app.storage.sources.list()]);
    const raw = JSON.stringify([await rawRows(db, 'api_keys'), await rawRows(db, 'sources')]);
    for (const secret of secrets) {
      // The part after the hint: what would give it away.
      const hidden = secret.slice(8);
      expect(listings).not.toContain(hidden);
      expect(stored).not.toContain(hidden);
      expect(raw).not.toContain(hidden);
    }
    expect(raw).toContain(hashSecret(key.key));
    expect(raw).toContain(hashSecret(source.token));
    expect(raw).toContain(hashSecret(rotated.token));
    expect((await t.app.storage.keys.findActiveByHash(hashSecret(key.key)))?.id).toBe(key.id);
  });

  it('creates a source whose ingest URL takes calls, and a revoked source is unknown at once', async () => {
    const created = await api('POST', '/v1/sources', { name: 'Convolo EU' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^src_/), name: 'Convolo EU', token: expect.stringMatching(/^sbt_[A-Za-z0-9_-]{43}$/),
      ingest_url: `${t.baseUrl}/hooks/convolo/${created.body.token}`, created_at: expect.stringMatching(/Z$/),
    });
    expect((await ingest(created.body.ingest_url)).status).toBe(200);
    const listed = (await api('GET', '/v1/sources')).body.data.find((s: any) => s.id === created.body.id);
    expect(listed).toEqual({
      id: created.body.id, name: 'Convolo EU', token_hint: created.body.token.slice(0, 8) + '…', status: 'active', created_at: created.body.created_at,
      revoked_at: null, previous_token_expires_at: null,
    });

    expect((await api('DELETE', `/v1/sources/${created.body.id}`)).status).toBe(204);
    const refused = await ingest(created.body.ingest_url);
    expect(refused.status).toBe(404);
    expect(refused.body.error).toBe('unknown_source');
    expect((await api('GET', '/v1/sources')).body.data.find((s: any) => s.id === created.body.id)).toMatchObject({ status: 'revoked', revoked_at: expect.stringMatching(/Z$/) });
    // A revoked source cannot be rotated back to life; unknown ids are 404.
    expect((await api('POST', `/v1/sources/${created.body.id}/rotate`)).body.error).toBe('conflict');
    expect((await api('POST', '/v1/sources/src_nope/rotate')).status).toBe(404);
    expect((await api('DELETE', '/v1/sources/src_nope')).status).toBe(404);
    // The first start's source is untouched.
    expect((await ingest(t.ingestUrl)).status).toBe(200);
  });

  it('rotates a source: both tokens work; revoking stops both', async () => {
    const source = (await api('POST', '/v1/sources', { name: 'rotating' })).body;
    const rotated = await api('POST', `/v1/sources/${source.id}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ id: source.id, token: expect.stringMatching(/^sbt_/), status: 'active', previous_token_expires_at: expect.stringMatching(/Z$/) });
    expect(rotated.body.token).not.toBe(source.token);
    expect(rotated.body.ingest_url).toBe(`${t.baseUrl}/hooks/convolo/${rotated.body.token}`);
    const expires = Date.parse(rotated.body.previous_token_expires_at);
    expect(expires - Date.now()).toBeGreaterThan(24 * hour - 60_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(24 * hour);
    expect((await ingest(source.ingest_url)).status).toBe(200);
    expect((await ingest(rotated.body.ingest_url)).status).toBe(200);

    await api('DELETE', `/v1/sources/${source.id}`);
    expect((await ingest(source.ingest_url)).status).toBe(404);
    expect((await ingest(rotated.body.ingest_url)).status).toBe(404);
  });

  it('drives the keys and sources commands against the running server', async () => {
    const base = ['--server', t.baseUrl, '--key', t.adminKey];
    const created = await run(['keys', 'create', '--name', 'from the CLI', '--scope', 'read', ...base]);
    expect(created.status, created.stderr).toBe(0);
    const key = /(sbk_[A-Za-z0-9_-]{43})/.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect(created.stdout).toContain('will not be shown again');
    expect((await t.api('/v1/events', key)).status).toBe(200);
    const id = /API key (key_\S+) created/.exec(created.stdout)![1]!;

    const listed = await run(['keys', 'list', ...base]);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(key!.slice(8));

    const revoked = await run(['keys', 'revoke', id, ...base]);
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toContain(`API key ${id} revoked.`);
    expect((await t.api('/v1/events', key)).status).toBe(401);

    const json = await run(['keys', 'create', '--name', 'json', '--scope', 'admin', '--json', ...base]);
    expect(JSON.parse(json.stdout)).toMatchObject({ scope: 'admin', key: expect.stringMatching(/^sbk_/) });
    const badScope = await run(['keys', 'create', '--name', 'x', '--scope', 'owner', ...base]);
    expect(badScope.status).not.toBe(0);
    const readOnly = await run(['keys', 'list', '--server', t.baseUrl, '--key', key!]);
    expect(readOnly.status).toBe(1);
    expect(readOnly.stderr).toContain('(unauthorized)');

    const source = await run(['sources', 'create', '--name', 'cli source', '--json', ...base]);
    expect(source.status, source.stderr).toBe(0);
    const s = JSON.parse(source.stdout);
    expect((await ingest(s.ingest_url)).status).toBe(200);
    const human = await run(['sources', 'create', '--name', 'cli source 2', ...base]);
    expect(human.stdout).toMatch(/Ingest URL: http:\/\/\S+\/hooks\/convolo\/sbt_/);
    expect(human.stdout).toContain('will not be shown again');

    const rotated = await run(['sources', 'rotate', s.id, ...base]);
    expect(rotated.status, rotated.stderr).toBe(0);
    const newUrl = /Ingest URL: (\S+)/.exec(rotated.stdout)![1]!;
    expect((await ingest(newUrl)).status).toBe(200);
    expect((await ingest(s.ingest_url)).status).toBe(200);

    const sources = await run(['sources', 'list', ...base]);
    expect(sources.status).toBe(0);
    expect(sources.stdout).toMatch(new RegExp(`${s.id}  active \\(previous token until \\S+Z\\)`));
    expect(sources.stdout).not.toContain(tokenOf(newUrl).slice(8));

    const missing = await run(['sources', 'rotate', 'src_nope', ...base]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('(not_found)');
  });
});

describe.each(backends)('source rotation grace on $name, with a driven clock', (backend) => {
  let t: TestApp;
  let clock = Date.parse('2026-03-01T12:00:00Z');
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
  });
  afterAll(() => t.close());

  it('keeps the old token working for 24 hours after a rotation, not longer', async () => {
    const source = (await t.request('POST', '/v1/sources', { name: 'graced' })).body;
    const ingest = (url: string, id: string) => t.post(endCall(`grace-${backend.name}-${id}`), 'application/json', url);
    const rotated = (await t.request('POST', `/v1/sources/${source.id}/rotate`)).body;
    expect(rotated.previous_token_expires_at).toBe(new Date(clock + 24 * hour).toISOString());
    const rotatedAt = clock;

    expect((await ingest(source.ingest_url, 'a')).status).toBe(200);
    // Past the lookup cache's 5 s, just before the end of the grace period.
    clock = rotatedAt + 24 * hour - 1000;
    expect((await ingest(source.ingest_url, 'b')).status).toBe(200);
    clock = rotatedAt + 24 * hour + 6000;
    const late = await ingest(source.ingest_url, 'c');
    expect(late.status).toBe(404);
    expect(late.body.error).toBe('unknown_source');
    expect((await ingest(rotated.ingest_url, 'd')).status).toBe(200);
    // Listed without the expired grace.
    expect((await t.request('GET', '/v1/sources')).body.data.find((s: any) => s.id === source.id).previous_token_expires_at).toBeNull();

    // A second rotation: the token of the first rotation is now the graced one, the first token stays dead.
    const again = (await t.request('POST', `/v1/sources/${source.id}/rotate`)).body;
    expect((await ingest(rotated.ingest_url, 'e')).status).toBe(200);
    expect((await ingest(again.ingest_url, 'f')).status).toBe(200);
    expect((await ingest(source.ingest_url, 'g')).status).toBe(404);
  });
});
