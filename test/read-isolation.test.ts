import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Flags } from '../src/config/index.js';
import { backends, endCall, startTestApp, startTestAppAgain, type TestApp } from './support/app.js';

/**
 * Issue 10: a heavy read must not stall the ingest. Each test makes a read that takes the database a while
 * (a substring search `q` that matches nothing scans every call: seeded straight into the tables) and checks
 * what happens meanwhile: the order in which requests complete, not how fast.
 */
const seededCalls = 150_000;
/**
 * Matches no call: the search reads them all. Its quote makes it the worst case: a q JSON would escape
 * cannot be looked for in the lead's text first, so every lead's JSON is parsed.
 */
const heavySearch = `/v1/calls?q=${encodeURIComponent('matches "no" call at all')}`;

/** Calls with a lead and a widget name each, inserted in one statement (the ingest would take minutes). */
async function seedCalls(db: string, count: number): Promise<void> {
  const select = (n: string) => `select 'src_seed', 'seed-' || ${n}, 'answered',
    '{"name":"Lead ' || ${n} || '","email":"lead' || ${n} || '@example.com"}', 'Widget ' || (${n} % 20),
    1700000000000 + ${n} * 1000, 1700000000000 + ${n} * 1000, 1, 0`;
  const columns = 'source_id, call_id, status, lead, widget_name, first_event_at, last_event_at, event_count, merge_rank';
  if (db.startsWith('sqlite:')) {
    const conn = new BetterSqlite3(db.slice('sqlite:'.length));
    conn.pragma('busy_timeout = 5000');
    conn.exec(`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
      insert into calls (${columns}) ${select('i')} from n`);
    conn.close();
    return;
  }
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  await client.query(`insert into calls (${columns}) ${select('i')} from generate_series(1, ${count}) as i`);
  await client.query('analyze calls');
  await client.end();
}

const get = (t: TestApp, path: string, key = t.adminKey) => fetch(`${t.baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(backends)('reads beside the ingest ($name)', (backend) => {
  // Seeded once: each test starts its own server, with its own limits, over the same calls.
  let db: string;
  let first: TestApp;
  beforeAll(async () => {
    db = await backend.freshDb();
    first = await startTestApp(db);
    await first.close();
    await seedCalls(db, seededCalls);
  });
  const startSeeded = async (flags: Flags = {}) => ({ t: await startTestAppAgain(db, first, flags) });

  let t: TestApp;
  afterEach(() => t?.close());

  it('acknowledges an ingest POST while a heavy search is still running', async () => {
    ({ t } = await startSeeded());
    const done: string[] = [];
    const search = get(t, heavySearch).then(async (r) => {
      done.push('search');
      return { status: r.status, body: (await r.json()) as { data: unknown[] } };
    });
    await pause(150); // the search has reached the database
    const ingest = t.post(endCall('during-the-search')).then((r) => {
      done.push('ingest');
      return r;
    });
    const [read, posted] = await Promise.all([search, ingest]);
    expect(posted.status).toBe(200);
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual([]);
    expect(done).toEqual(['ingest', 'search']);
  });

  it('answers 503 query_timeout to a read past the statement time limit, and serves reads after it', async () => {
    ({ t } = await startSeeded({ statementTimeoutMs: 100 }));
    const answer = await get(t, heavySearch);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ error: 'query_timeout', message: expect.any(String) });
    // The reader that ran it was replaced (SQLite) or the session is still usable (PostgreSQL).
    const page = await get(t, '/v1/calls?limit=2');
    expect(page.status).toBe(200);
    expect(((await page.json()) as { data: unknown[] }).data).toHaveLength(2);
    expect((await t.post(endCall('after-the-timeout'))).status).toBe(200);
  });

  it('answers 503 query_timeout to 13 months of hourly stats past the time limit (computed whole on a reads thread), and the hours after it', async () => {
    // The seeded calls' times lie in November 2023.
    const hours = '/v1/stats?group_by=hour&tz=Europe/Stockholm&from=2023-06-01&to=2024-07-01';
    ({ t } = await startSeeded({ statementTimeoutMs: 20 }));
    const answer = await get(t, hours);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ error: 'query_timeout' });
    await t.close();
    ({ t } = await startSeeded());
    const again = await get(t, hours);
    expect(again.status).toBe(200);
    const body = (await again.json()) as { buckets: Array<{ key: string; calls: number }> };
    expect(body.buckets.length).toBeGreaterThan(9_000);
    expect(body.buckets.reduce((n, b) => n + b.calls, 0)).toBe(seededCalls);
    expect((await t.post(endCall('after-the-hours'))).status).toBe(200);
  });

  it('answers 429 with Retry-After to a second expensive request of the same key while one runs, not to another key', async () => {
    ({ t } = await startSeeded({ expensivePerKey: 1 }));
    const other = await t.request('POST', '/v1/keys', { name: 'reports', scope: 'read' });
    expect(other.status).toBe(201);
    const search = get(t, heavySearch);
    await pause(150);
    const [second, stats, otherKey, cheap] = await Promise.all([
      get(t, heavySearch),
      get(t, '/v1/stats?from=2023-11-14&to=2023-11-15&tz=UTC'),
      get(t, '/v1/stats?from=2023-11-14&to=2023-11-15&tz=UTC', other.body.key),
      get(t, '/v1/calls?limit=1'),
    ]);
    expect(second.status).toBe(429);
    expect(await second.json()).toMatchObject({ error: 'rate_limited' });
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(stats.status).toBe(429);
    expect(otherKey.status).toBe(200);
    expect(cheap.status).toBe(200); // the list without q is not limited
    expect((await search).status).toBe(200);
    // The slot is free again once the first one has answered.
    expect((await get(t, '/v1/stats?from=2023-11-14&to=2023-11-15&tz=UTC')).status).toBe(200);
  });
});

describe('the query reads\' PostgreSQL connection lost mid-read', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('answers the read in flight 503 storage_unavailable, the next read 200, and the ingest throughout', async () => {
    const db = await backends[1]!.freshDb();
    const first = await startTestApp(db);
    await first.close();
    await seedCalls(db, seededCalls);
    t = await startTestAppAgain(db, first);
    const search = get(t, heavySearch);
    // The search holds the read thread's connection (its session's application_name) once it reaches the server.
    const admin = new pg.Client({ connectionString: db });
    await admin.connect();
    try {
      let ended = 0;
      for (let tries = 0; ended === 0 && tries < 100; tries++) {
        await pause(20);
        const { rows } = await admin.query<{ ended: boolean }>(
          `select pg_terminate_backend(pid) as ended from pg_stat_activity
           where datname = current_database() and application_name = 'switchboard-reads' and state = 'active'`,
        );
        ended = rows.filter((r) => r.ended).length;
      }
      expect(ended).toBe(1);
    } finally {
      await admin.end();
    }
    const lost = await search;
    expect(lost.status).toBe(503);
    expect(await lost.json()).toMatchObject({ error: 'storage_unavailable' });
    expect((await t.post(endCall('after-the-loss'))).status).toBe(200);
    const page = await get(t, '/v1/calls?limit=2');
    expect(page.status).toBe(200);
    expect(((await page.json()) as { data: unknown[] }).data).toHaveLength(2);
    const hours = await get(t, '/v1/stats?group_by=hour&tz=UTC&from=2023-11-01&to=2023-12-01');
    expect(hours.status).toBe(200);
    const body = (await hours.json()) as { buckets: Array<{ calls: number }> };
    expect(body.buckets.reduce((n, b) => n + b.calls, 0)).toBe(seededCalls);
  });
});

describe('a SQLite write lock held by another process', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('answers an admin write 503 storage_unavailable with Retry-After after the busy timeout, and serves reads meanwhile', async () => {
    const db = await backends[0]!.freshDb();
    t = await startTestApp(db, { sqliteBusyTimeoutMs: 1500 });
    expect((await t.post(endCall('before-the-lock'))).status).toBe(200);
    const other = new BetterSqlite3(db.slice('sqlite:'.length));
    other.exec('begin immediate');
    try {
      const done: string[] = [];
      const create = t.request('POST', '/v1/keys', { name: 'blocked', scope: 'read' }).then((r) => {
        done.push('create');
        return r;
      });
      const raw = fetch(`${t.baseUrl}/v1/sources`, {
        method: 'POST', headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'blocked too' }),
      });
      await pause(150);
      const read = t.api('/v1/calls/before-the-lock').then((r) => {
        done.push('read');
        return r;
      });
      const [created, answered, source] = await Promise.all([create, read, raw]);
      expect(answered.status).toBe(200);
      expect(created.status).toBe(503);
      expect(created.body).toMatchObject({ error: 'storage_unavailable' });
      expect(source.status).toBe(503);
      expect(Number(source.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(done).toEqual(['read', 'create']);
    } finally {
      other.exec('rollback');
      other.close();
    }
    // Once the lock is gone, the same write succeeds.
    expect((await t.request('POST', '/v1/keys', { name: 'after', scope: 'read' })).status).toBe(201);
  });
});
