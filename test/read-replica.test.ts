import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, startPgCluster, type PgCluster } from '../scripts/pg-cluster.mjs';
import { endCall, startTestApp, type TestApp } from './support/app.js';
import { waitFor } from './support/sse.js';

/**
 * SWITCHBOARD_DB_READ_URL: the query API's reads (stats, the call list, the export) go to a hot standby of
 * the database, a real one (pg_basebackup, streaming replication), so reports cost the primary nothing.
 */

/** Sessions of `application_name` connected to `url`'s database. */
async function sessions(url: string, applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = $1',
      [applicationName],
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe('the query API reading from a hot standby (SWITCHBOARD_DB_READ_URL)', () => {
  let primary: PgCluster;
  let standby: PgCluster;
  let db: string;
  let readDb: string;
  let t: TestApp;

  beforeAll(async () => {
    primary = await startPgCluster();
    standby = await startPgCluster({ replicaOf: primary.url });
    db = await createDatabase(primary.url);
    const path = new URL(db).pathname;
    readDb = Object.assign(new URL(standby.url), { pathname: path }).toString();
    // The new database reaches the standby once it has replayed its creation.
    await waitFor('the standby to have the database', () => sessions(readDb, 'none').then(() => true, () => false), 15_000);
    t = await startTestApp(db, { dbReadUrl: readDb });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await standby?.stop();
    await primary?.stop();
  });

  const onStandby = async (statement: string) => {
    const client = new pg.Client({ connectionString: readDb });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };

  /** The read database's replay lag as /metrics says it. */
  const replayLag = async () => {
    const metrics = (await t.api('/metrics', null)).body as string;
    const line = /^switchboard_db_read_replay_lag_bytes (\S+)$/m.exec(metrics);
    if (!line) throw new Error('no switchboard_db_read_replay_lag_bytes in /metrics');
    return Number(line[1]);
  };

  const list = async () => {
    const res = await t.api('/v1/calls?limit=50');
    return { status: res.status, ids: res.status === 200 ? (res.body.data as Array<{ call_id: string }>).map((c) => c.call_id).sort() : [], body: res.body };
  };

  it('lists, counts and exports the calls the primary stored, reading them on the standby, and says how far behind it is', async () => {
    for (const id of ['r-1', 'r-2', 'r-3']) expect((await t.post(endCall(id))).status).toBe(200);
    await waitFor('the standby to list 3 calls', async () => (await list()).ids.length === 3, 15_000);
    expect((await list()).ids).toEqual(['r-1', 'r-2', 'r-3']);
    const stats = await t.api('/v1/stats?group_by=hour&tz=UTC&from=2020-01-01&to=2020-01-02');
    expect(stats.status).toBe(200);
    expect((stats.body.buckets as Array<{ calls: number }>).reduce((n, b) => n + b.calls, 0)).toBe(3);
    const csv = await fetch(`${t.baseUrl}/v1/calls.csv`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(csv.status).toBe(200);
    expect((await csv.text()).trim().split('\n')).toHaveLength(4); // the header and three calls

    // The reads' sessions are on the standby, none on the primary.
    expect(await sessions(readDb, 'switchboard-reads')).toBeGreaterThan(0);
    expect(await sessions(db, 'switchboard-reads')).toBe(0);
    // How far the standby is behind, in bytes of WAL: nothing once it has caught up; more while its replay
    // is paused and the primary takes calls.
    await waitFor('the standby to catch up', async () => (await replayLag()) === 0, 15_000);
    await onStandby('select pg_wal_replay_pause()');
    try {
      expect((await t.post(endCall('r-4'))).status).toBe(200);
      expect(await replayLag()).toBeGreaterThan(0);
      expect((await list()).ids).not.toContain('r-4');
    } finally {
      await onStandby('select pg_wal_replay_resume()');
    }
    await waitFor('the standby to catch up', async () => (await replayLag()) === 0, 15_000);
    expect((await list()).ids).toContain('r-4');
  });

  it('answers the reads 503 while the standby is down, and keeps acknowledging the ingest; reads resume with it', async () => {
    await standby.halt();
    try {
      const down = await t.api('/v1/calls?limit=50');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ error: 'storage_unavailable' });
      // The ingest and a call's detail use the primary.
      expect((await t.post(endCall('r-while-down'))).status).toBe(200);
      expect((await t.api('/v1/calls/r-while-down')).status).toBe(200);
      expect(await replayLag()).toBeNaN();
    } finally {
      await standby.resume();
    }
    await waitFor('the standby to list the call posted while it was down', async () => (await list()).ids.includes('r-while-down'), 30_000);
    const back = await list();
    expect(back.status).toBe(200);
    expect(back.ids).toEqual(['r-1', 'r-2', 'r-3', 'r-4', 'r-while-down']);
  });
});
