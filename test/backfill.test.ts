import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { runBackfill } from '../src/cli/backfill.js';
import { loadConfig } from '../src/config/index.js';
import { createMockConvolo, type MockConvolo } from '../src/mock-convolo/index.js';
import { createClient } from '../src/sdk/client.js';
import { freePort } from './support/free-port.js';
import { backends, startTestApp, type TestApp } from './support/app.js';
import { assertBuilt, cliPath } from './support/crash-server.js';

const hour = 3_600_000;

describe.each(backends)('backfill on $name', (backend) => {
  let t: TestApp;
  let mock: MockConvolo;
  let sourceId: string;
  let db: string;
  let port: number;
  const logs: string[] = [];

  beforeAll(async () => {
    port = await freePort();
    db = await backend.freshDb();
    t = await startTestApp(db, { logLevel: 'trace', convoloCallListUrl: `http://127.0.0.1:${port}` }, {
      logger: { stream: { write: (line: string) => void logs.push(line) } }, sleep: async () => {},
    });
    mock = createMockConvolo({ webhookUrl: t.ingestUrl, port, timeScale: 0, seed: 3 });
    await mock.listen();
    sourceId = (await t.api('/v1/sources')).body.data[0].id;
    expect((await t.request('PUT', `/v1/sources/${sourceId}/convolo`, { api_key: mock.widgets[0]!.apiKey })).status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await mock?.close('abandon');
    await t?.close();
  });

  it('resumes after an interruption, and after a crash between a step and its save, without adding a call twice', async () => {
    // 1300 calls of the past over two days: 650 a day, two pages each.
    const start = Date.parse('2026-01-10T00:00:00Z');
    mock.makeCalls(1300, { webhooks: false, at: (i) => start + Math.floor(i / 650) * 24 * hour + (i % 650) * 60_000 });
    const api = createClient({ baseUrl: t.baseUrl, apiKey: t.adminKey });
    const statePath = join(mkdtempSync(join(tmpdir(), 'sb-backfill-')), 'state.json');
    const range = { api, source: sourceId, from: '2026-01-10', to: '2026-01-11', statePath, pagesPerStep: 1 };

    let steps = 0;
    const states: string[] = [];
    const first = await runBackfill({ ...range, shouldStop: () => steps++ >= 2, onProgress: () => { try { states.push(readFileSync(statePath, 'utf8')); } catch { /* not yet */ } } });
    // A day ends at an empty page (not a short one: Convolo's page size is undocumented), so after the day's
    // two pages the cursor is its third.
    expect(first).toMatchObject({ done: false, stoppedBy: 'interrupted', day: '2026-01-10', page: 3, totals: { fetched: 650, added: 650, present: 0 } });

    // A crash after the server did step 2 but before the cursor was saved: the older cursor comes back.
    writeFileSync(statePath, states[0]!);
    expect(JSON.parse(states[0]!)).toMatchObject({ day: '2026-01-10', page: 2 });
    const second = await runBackfill(range);
    expect(second).toMatchObject({ done: true, resumed: true, stoppedBy: null });
    // Totals carry over from the saved cursor, which lost step 2: done again, its 150 calls are present.
    expect(second.totals).toEqual({ fetched: 500 + 150 + 650, present: 150, added: 500 + 650, errors: 0 });
    const ended = await t.app.storage.events.list({ type: 'end_call', limit: 5000 });
    expect(ended).toHaveLength(1300);
    expect(new Set(ended.map((e) => e.callId)).size).toBe(1300);
    expect(ended.every((e) => e.origin === 'reconcile')).toBe(true);
    const runs = (await t.api(`/v1/sources/${sourceId}/reconcile`)).body.runs;
    expect(runs.filter((r: any) => r.kind === 'backfill').length).toBeGreaterThanOrEqual(5);
    // A finished backfill starts over with a fresh cursor: everything is present now.
    const again = await runBackfill(range);
    expect(again).toMatchObject({ done: true, resumed: false, totals: { fetched: 1300, present: 1300, added: 0 } });
  }, 30_000);

  it('stops on a call list error with the cursor kept, and the API key is in no log line, answer or message', async () => {
    const key = mock.widgets[0]!.apiKey;
    const api = createClient({ baseUrl: t.baseUrl, apiKey: t.adminKey });
    const statePath = join(mkdtempSync(join(tmpdir(), 'sb-backfill-')), 'state.json');
    mock.injectCallListFaults({ status: 401, body: `{"error":"invalid api-key ${key}"}` });
    const stopped = await runBackfill({ api, source: sourceId, from: '2026-01-10', to: '2026-01-11', statePath });
    expect(stopped).toMatchObject({ done: false, day: '2026-01-10', page: 1 });
    expect(stopped.stoppedBy).toMatch(/^unauthorized \(HTTP 401\)/);
    expect(JSON.parse(readFileSync(statePath, 'utf8'))).toMatchObject({ day: '2026-01-10', page: 1 });
    mock.injectCallListFaults({ status: 500, body: `oops ${key}`, times: 10 });
    const failed = await t.request('POST', `/v1/sources/${sourceId}/reconcile`);
    expect(failed.body.error).toMatchObject({ code: 'server_error', status: 500 });
    mock.clearCallListFaults();
    const everything = [JSON.stringify(stopped), JSON.stringify(failed.body), JSON.stringify((await t.api(`/v1/sources/${sourceId}/reconcile`)).body), ...logs];
    expect(logs.some((line) => line.includes('"error_code":"unauthorized"'))).toBe(true);
    for (const text of everything) expect(text).not.toContain(key);
    expect(logs.join('\n')).not.toContain(encodeURIComponent(key));
  }, 30_000);

  // PostgreSQL only: SQLite has one process by design.
  if (backend.name === 'sqlite') it('refuses a day that is not in the calendar (2026-02-30) in one line, instead of reading it as March 2 and saying "done" having fetched nothing', async () => {
    assertBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'sb-backfill-'));
    for (const [from, to, wrong] of [['2026-02-30', '2026-03-31', '--from'], ['2026-02-01', '2026-02-29', '--to'], ['2026-04-31', '2026-05-01', '--from']] as const) {
      const child = spawnSync(process.execPath, [cliPath, 'backfill', '--source', sourceId, '--from', from, '--to', to, '--server', t.baseUrl, '--key', t.adminKey], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(child.status).toBe(1);
      expect(child.stderr).toBe(`switchboard: ${wrong} must be a day as YYYY-MM-DD, got "${wrong === '--from' ? from : to}"\n`);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  if (backend.name === 'postgres') it('two worker nodes: one reconcile run at a time, no call added twice', async () => {
    const other: App = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0, logLevel: 'silent', role: 'worker', convoloCallListUrl: `http://127.0.0.1:${port}` }), { logger: false });
    try {
      await other.prepare({ setupLink: false });
      const now = Date.now();
      const store = t.app.storage.reconcile;
      expect(await store.tryLease('reconcile', 'node-a', now, 60_000)).toBe(true);
      expect(await store.tryLease('reconcile', 'node-b', now + 1000, 60_000)).toBe(false);
      expect(await store.tryLease('reconcile', 'node-b', now + 61_000, 60_000)).toBe(true);
      await store.releaseLease('reconcile', 'node-b');

      // Recent calls whose webhooks never came: both nodes run at once; one holds the lease, the other skips.
      const ids = mock.makeCalls(300, { webhooks: false });
      const [a, b] = await Promise.all([t.app.reconciler.runAll(), other.reconciler.runAll()]);
      const ran = [a, b].filter((r) => r !== null).flat();
      expect(ran.reduce((n, r) => n + r!.added, 0)).toBe(300);
      // Even without the lease (two runs now, side by side), a call is added once: the commit decides.
      mock.makeCalls(200, { webhooks: false });
      const [x, y] = await Promise.all([t.app.reconciler.runSource(sourceId as never), other.reconciler.runSource(sourceId as never)]);
      expect(x!.added + y!.added).toBe(200);
      const ended = await t.app.storage.events.list({ type: 'end_call', limit: 5000 });
      const counts = new Map<string, number>();
      for (const e of ended) counts.set(e.callId!, (counts.get(e.callId!) ?? 0) + 1);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(ids.every((id) => counts.get(id) === 1)).toBe(true);
    } finally {
      await other.close();
    }
  }, 30_000);
});

describe('backfill against a slow Convolo', () => {
  it('waits for a step that outlasts the connection timeout and undici\'s 300 s wait for headers (a slow call list) and says what it fetched', async () => {
    assertBuilt();
    // A call list that takes 2.5 s to answer (an empty day) against a connection timeout of 1 s.
    const pages: string[] = [];
    const convolo = createServer((request, response) => {
      pages.push(new URL(request.url!, 'http://convolo').searchParams.get('page') ?? '');
      setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end('[]'), 2_500);
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => convolo.once('listening', resolve));
    const convoloUrl = `http://127.0.0.1:${(convolo.address() as { port: number }).port}`;
    const t = await startTestApp(await backends[0]!.freshDb(), { connectionTimeoutSec: 1, convoloCallListUrl: convoloUrl, reconcilePauseFactor: 0 });
    try {
      const source = (await t.api('/v1/sources')).body.data[0].id as string;
      expect((await t.request('PUT', `/v1/sources/${source}/convolo`, { api_key: 'ck_slow_convolo_key' })).status).toBe(200);
      const dir = mkdtempSync(join(tmpdir(), 'sb-backfill-'));
      const { SWITCHBOARD_URL: _url, SWITCHBOARD_API_KEY: _key, ...outside } = process.env;
      const result = await promisify(execFile)(process.execPath, [cliPath, 'backfill', '--source', source, '--from', '2026-01-10', '--to', '2026-01-10', '--server', t.baseUrl, '--key', t.adminKey], {
        // Node's fetch (undici) would give up waiting for the answer after its 300 s: here after 1 s.
        cwd: dir, encoding: 'utf8', env: { ...outside, LOG_LEVEL: 'silent', NODE_OPTIONS: `--require ${new URL('./support/headers-timeout-1s.cjs', import.meta.url).pathname}` }, timeout: 30_000,
      }).then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe('Backfill of ' + source + ' from 2026-01-10 to 2026-01-10 done.\n  Fetched 0, already present 0, added 0, errors 0.\n');
      // One step, asked once: the server read the day's first page, empty, and the command did not ask again.
      expect(pages).toEqual(['1']);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await t.close();
      convolo.closeAllConnections();
      await new Promise((resolve) => convolo.close(resolve));
    }
  }, 30_000);
});
