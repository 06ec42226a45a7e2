import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createApiKey } from '../src/admin/credentials.js';
import { newId } from '../src/domain/ids.js';
import { hashSecret } from '../src/domain/secrets.js';
import { openStorage } from '../src/storage/open.js';
import type { Storage } from '../src/storage/ports.js';
import { backends, endCall, startTestApp } from './support/app.js';
import { sequenced } from './support/sequenced.js';

/**
 * The commands that change data (keys, sources, reprocess, prune) go through the running server's API when
 * one runs, and work on the database directly when none does (first setup, recovery).
 */
const cli = new URL('../dist/cli/index.js', import.meta.url).pathname;
/** Runs the CLI without blocking this process (its server must answer meanwhile); no SWITCHBOARD_URL/API key from outside. */
const run = async (args: string[], env: Record<string, string> = {}) => {
  const { SWITCHBOARD_URL: _url, SWITCHBOARD_API_KEY: _key, ...outside } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...outside, LOG_LEVEL: 'silent', ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};
/**
 * `run` with Node's fetch waiting at most 1 s for an answer's headers (undici's default is 300 s): a command
 * whose request outlasts it shows in seconds what it would show a user after 5 minutes.
 */
const impatient = { NODE_OPTIONS: `--require ${new URL('./support/headers-timeout-1s.cjs', import.meta.url).pathname}` };
const sqliteUrl = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'sb-cli-admin-')), 'switchboard.db')}`;
/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return String(port);
}
const day = 86_400_000;

describe('switchboard keys, sources, reprocess and prune with a server running', () => {
  it('keys create --server --key creates the key through the API (listed by GET /v1/keys, not in a local database)', async () => {
    const t = await startTestApp(sqliteUrl());
    try {
      const local = sqliteUrl();
      const result = await run(['keys', 'create', '--name', 'via the API', '--scope', 'read', '--server', t.baseUrl, '--key', t.adminKey, '--db', local, '--json']);
      expect(result.code, result.stderr).toBe(0);
      const created = JSON.parse(result.stdout) as { id: string; key: string };
      const listed = await t.api('/v1/keys');
      expect(listed.body.data.find((k: { id: string }) => k.id === created.id)).toMatchObject({ name: 'via the API', scope: 'read', status: 'active' });
      expect((await t.api('/v1/calls', created.key)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('finds the server answering /healthz at HOST and PORT without --server, and goes through its API', async () => {
    const t = await startTestApp(sqliteUrl());
    try {
      const { port } = new URL(t.baseUrl);
      const env = { HOST: '127.0.0.1', PORT: port };
      const created = await run(['sources', 'create', '--name', 'found', '--key', t.adminKey, '--json'], env);
      expect(created.code, created.stderr).toBe(0);
      expect((await t.api('/v1/sources')).body.data.map((s: { name: string }) => s.name)).toContain('found');
      const withoutKey = await run(['keys', 'create', '--name', 'x'], env);
      expect(withoutKey.code).toBe(1);
      expect(withoutKey.stderr.trim()).toBe(`switchboard: a Switchboard answers at ${t.baseUrl}: pass an admin key (--key sbk_… or SWITCHBOARD_API_KEY), or --local to write to the database directly`);
    } finally {
      await t.close();
    }
  });

  it('destinations add refuses a --rate-limit that is not a whole number from 1 to 10000, and creates nothing (not a destination without a limit)', async () => {
    const t = await startTestApp(sqliteUrl(), { allowPrivateDestinations: true });
    try {
      for (const value of ['abc', '0', '2.5', '1e9', '']) {
        const result = await run(['destinations', 'add', '--url', 'http://127.0.0.1:9/hook', '--rate-limit', value, '--server', t.baseUrl, '--key', t.adminKey]);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`error: option '--rate-limit <per-second>' argument '${value}' is invalid. --rate-limit must be a whole number from 1 to 10000 (webhooks per second).`);
      }
      expect((await t.api('/v1/destinations')).body.data).toEqual([]);
      const limited = await run(['destinations', 'add', '--url', 'http://127.0.0.1:9/hook', '--rate-limit', '25', '--server', t.baseUrl, '--key', t.adminKey, '--json']);
      expect(limited.code, limited.stderr).toBe(0);
      expect(JSON.parse(limited.stdout)).toMatchObject({ rate_limit_per_sec: 25 });
    } finally {
      await t.close();
    }
  });

  it('destinations add takes --max-concurrency (1 to 1000: the requests in flight to it from all the workers together) and refuses anything else', async () => {
    const t = await startTestApp(sqliteUrl(), { allowPrivateDestinations: true });
    try {
      for (const value of ['abc', '0', '1.5', '1001', '']) {
        const result = await run(['destinations', 'add', '--url', 'http://127.0.0.1:9/hook', '--max-concurrency', value, '--server', t.baseUrl, '--key', t.adminKey]);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`error: option '--max-concurrency <requests>' argument '${value}' is invalid. --max-concurrency must be a whole number from 1 to 1000 (requests in flight at once).`);
      }
      expect((await t.api('/v1/destinations')).body.data).toEqual([]);
      const capped = await run(['destinations', 'add', '--url', 'http://127.0.0.1:9/hook', '--max-concurrency', '3', '--rate-limit', '10', '--server', t.baseUrl, '--key', t.adminKey, '--json']);
      expect(capped.code, capped.stderr).toBe(0);
      expect(JSON.parse(capped.stdout)).toMatchObject({ max_concurrency: 3, rate_limit_per_sec: 10 });
    } finally {
      await t.close();
    }
  });

  it('prunes through POST /v1/prune on the running server, and says how many deliveries went undelivered', async () => {
    let clock = Date.now() - 60 * day;
    const t = await startTestApp(sqliteUrl(), { allowPrivateDestinations: true }, { now: () => clock });
    try {
      // A paused destination: the old events' deliveries to it are still pending when they are pruned.
      const destination = await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/hook' });
      expect((await t.request('PATCH', `/v1/destinations/${destination.body.id}`, { paused: true })).status).toBe(200);
      for (const id of ['old-1', 'old-2']) expect((await t.post(endCall(id))).status).toBe(200);
      clock = Date.now();
      expect((await t.post(endCall('new-1'))).status).toBe(200);
      const result = await run(['prune', '--retention-days', '30', '--server', t.baseUrl, '--key', t.adminKey]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^Deleted 2 events, 2 deliveries and 2 calls older than \d{4}-\d\d-\d\dT.*\.\n2 of those deliveries were still pending \(a paused or failing destination's\): never delivered\.\n$/);
      expect((await t.api('/v1/calls')).body.data.map((c: { call_id: string }) => c.call_id)).toEqual(['new-1']);
    } finally {
      await t.close();
    }
  });

  it('waits for a prune that outlasts the connection timeout and undici\'s 300 s wait for headers (a first retention over a large log) and says what it deleted', async () => {
    // A prune that takes 2.5 s against a connection timeout of 1 s.
    const slowPrune = (storage: Storage): Storage => ({ ...storage, prune: async (before) => (await sleep(2_500), storage.prune(before)) });
    let clock = Date.now() - 60 * day;
    const t = await startTestApp(sqliteUrl(), { connectionTimeoutSec: 1 }, { now: () => clock, wrapStorage: slowPrune });
    try {
      expect((await t.post(endCall('old-1'))).status).toBe(200);
      clock = Date.now();
      // Node's fetch (undici) would give up waiting after its 300 s: here after 1 s.
      const result = await run(['prune', '--retention-days', '30', '--server', t.baseUrl, '--key', t.adminKey], impatient);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^Deleted 1 events, 0 deliveries and 1 calls older than /);
    } finally {
      await t.close();
    }
  });

  it('waits for a reprocess of the whole quarantine that outlasts the connection timeout and undici\'s 300 s wait for headers (a large quarantine) and says what became of it', async () => {
    // Reading the quarantine takes 2.5 s against a connection timeout of 1 s.
    const slowQuarantine = (storage: Storage): Storage => ({
      ...storage,
      events: { ...storage.events, list: async (filter) => (filter.status === 'quarantined' && (await sleep(2_500)), storage.events.list(filter)) },
    });
    const t = await startTestApp(sqliteUrl(), { connectionTimeoutSec: 1 }, { wrapStorage: slowQuarantine });
    try {
      // A record an older version quarantined although its body is a valid event (test/reprocess.test.ts).
      const [source] = await t.app.storage.sources.list();
      const raw = Buffer.from(endCall('quarantined-1'));
      await t.app.storage.events.append([{
        id: newId('evt'), sourceId: source!.id, callId: null, type: null, status: 'quarantined', errorCode: 'invalid_event', errorDetail: 'an old bug',
        contentType: 'application/json', body: raw, bodyHash: null, bodySize: raw.length, bodyTruncated: false, receivedAt: Date.now(),
      }]);
      const result = await run(['reprocess', '--all', '--server', t.baseUrl, '--key', t.adminKey], impatient);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe('Reprocessed 1; still invalid 0; not reprocessable (body not kept whole) 0.');
    } finally {
      await t.close();
    }
  });

  it('waits for a replay that outlasts the connection timeout and undici\'s 300 s wait for headers (a walk of a large log) and says what it queued', async () => {
    // The walk of the log takes 2.5 s against a connection timeout of 1 s.
    const slowReplay = (storage: Storage): Storage => ({
      ...storage,
      deliveries: { ...storage.deliveries, replay: async (...args) => (await sleep(2_500), storage.deliveries.replay(...args)) },
    });
    const t = await startTestApp(sqliteUrl(), { connectionTimeoutSec: 1, allowPrivateDestinations: true }, { wrapStorage: slowReplay });
    try {
      // An event from before the destination was added: the replay queues it.
      expect((await t.post(endCall('replayed-1'))).status).toBe(200);
      const created = await t.request('POST', '/v1/destinations', { url: `http://127.0.0.1:${await closedPort()}/hook` });
      expect(created.status).toBe(201);
      const id = (created.body as { id: string }).id;
      const result = await run(['replay', '--destination', id, '--server', t.baseUrl, '--key', t.adminKey], impatient);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(`Queued 1 deliveries for ${id}.`);
    } finally {
      await t.close();
    }
  });
});

describe('switchboard keys, sources, reprocess and prune without a server', () => {
  it('creates and revokes keys, creates sources and reprocesses on the database directly', async () => {
    const url = sqliteUrl();
    const env = { HOST: '127.0.0.1', PORT: await closedPort() };
    const key = await run(['keys', 'create', '--name', 'recovered', '--scope', 'admin', '--db', url, '--json'], env);
    expect(key.code, key.stderr).toBe(0);
    expect(key.stderr).toContain('directly');
    const created = JSON.parse(key.stdout) as { id: string; key: string };
    const source = await run(['sources', 'create', '--name', 'second', '--db', url, '--json'], env);
    expect(source.code, source.stderr).toBe(0);
    expect(JSON.parse(source.stdout)).toMatchObject({ name: 'second', ingest_url: expect.stringMatching(/\/hooks\/convolo\/sbt_/) });
    const reprocessed = await run(['reprocess', '--all', '--db', url], env);
    expect(reprocessed.code, reprocessed.stderr).toBe(0);
    expect(reprocessed.stdout.trim()).toBe('Reprocessed 0; still invalid 0; not reprocessable (body not kept whole) 0.');

    const storage = await openStorage(url);
    try {
      expect(await storage.keys.findActiveByHash(hashSecret(created.key))).toMatchObject({ id: created.id, name: 'recovered', scope: 'admin' });
      // Each local command used a key of its own, revoked when it ended.
      const local = (await storage.keys.list()).filter((k) => k.name.endsWith('(command line, local)'));
      expect(local.map((k) => k.name).sort()).toEqual(['switchboard keys create (command line, local)', 'switchboard reprocess (command line, local)', 'switchboard sources create (command line, local)']);
      expect(local.every((k) => k.revokedAt !== null)).toBe(true);
      expect((await storage.sources.list()).map((s) => s.name).sort()).toEqual(['default', 'second']);
      // Revoke works locally too (no server: no "cannot revoke itself" in the way).
      const other = await createApiKey(storage, 'to revoke', 'read');
      await storage.close();
      const revoked = await run(['keys', 'revoke', other.id, '--db', url], env);
      expect(revoked.code, revoked.stderr).toBe(0);
      const again = await openStorage(url);
      expect((await again.keys.get(other.id))?.revokedAt).not.toBeNull();
      await again.close();
    } finally {
      await storage.close().catch(() => {});
    }
  });

  it('reprocesses the quarantine on the database directly, through the ingest', async () => {
    const url = sqliteUrl();
    const t = await startTestApp(url);
    const rejected = await t.post('{"type":"end_call"}');
    expect(rejected).toMatchObject({ status: 422, body: { error: 'invalid_event' } });
    await t.close();
    const env = { HOST: '127.0.0.1', PORT: await closedPort() };
    const all = await run(['reprocess', '--all', '--db', url], env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim()).toBe('Reprocessed 0; still invalid 1; not reprocessable (body not kept whole) 0.');
    const one = await run(['reprocess', rejected.body.quarantine_id, '--db', url], env);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain('(invalid_event)');
  });

  it('prunes on the database directly, and says what to pass without a retention', async () => {
    const url = sqliteUrl();
    const env = { HOST: '127.0.0.1', PORT: await closedPort() };
    const none = await run(['prune', '--db', url], env);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe('switchboard: no retention set: pass --retention-days N or set SWITCHBOARD_RETENTION_DAYS');
    const pruned = await run(['prune', '--db', url, '--retention-days', '30'], env);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/^Deleted 0 events, 0 deliveries and 0 calls older than \d{4}-\d\d-\d\dT/);
  });
});

describe.each(backends)('POST /v1/prune on $name', (backend) => {
  it('deletes what is older than retention_days, admin scope only, and answers 400 without a retention', async () => {
    let clock = Date.now() - 60 * day;
    const t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    try {
      expect((await t.post(endCall('old-1'))).status).toBe(200);
      clock = Date.now();
      expect((await t.post(endCall('new-1'))).status).toBe(200);
      // PostgreSQL: retention takes only numbered events (a loaded run's sequencer may not have reached them yet).
      await sequenced(t.app.storage);
      const reader = await createApiKey(t.app.storage, 'reader', 'read');
      expect((await t.request('POST', '/v1/prune', { retention_days: 30 }, reader.key)).status).toBe(403);
      const noRetention = await t.request('POST', '/v1/prune', {});
      expect(noRetention).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
      expect((await t.request('POST', '/v1/prune', { retention_days: 0 })).status).toBe(400);
      const pruned = await t.request('POST', '/v1/prune', { retention_days: 30 });
      expect(pruned.status).toBe(200);
      expect(pruned.body).toEqual({ before: new Date(clock - 30 * day).toISOString(), events: 1, deliveries: 0, undelivered: 0, calls: 1 });
      expect((await t.api('/v1/calls')).body.data.map((c: { call_id: string }) => c.call_id)).toEqual(['new-1']);
    } finally {
      await t.close();
    }
  });
});
