import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPgCluster } from '../scripts/pg-cluster.mjs';
import { freshPgDatabase } from './support/pg.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL test harness', () => {
  it('gives a fresh database that answers queries', async () => {
    const url = await freshPgDatabase();
    expect(await query(url, 'select 1 as one')).toEqual([{ one: 1 }]);
  });

  it('gives each caller its own database', async () => {
    const [a, b] = await Promise.all([freshPgDatabase(), freshPgDatabase()]);
    expect(a).not.toBe(b);
    const [[inA], [inB]] = await Promise.all([
      query<{ db: string }>(a, 'select current_database() as db'),
      query<{ db: string }>(b, 'select current_database() as db'),
    ]);
    expect(inA?.db).not.toBe(inB?.db);

    // A table made in one database is invisible from the other.
    await query(a, 'create table only_in_a (id int)');
    expect(await query(a, "select to_regclass('only_in_a') is not null as present")).toEqual([{ present: true }]);
    expect(await query(b, "select to_regclass('only_in_a') is not null as present")).toEqual([{ present: false }]);
  });

  it('starts fresh databases empty', async () => {
    const url = await freshPgDatabase();
    const tables = await query(url, "select table_name from information_schema.tables where table_schema = 'public'");
    expect(tables).toEqual([]);
  });

  it('runs against a real PostgreSQL server', async () => {
    const url = await freshPgDatabase();
    const [row] = await query<{ version: string }>(url, 'select version()');
    expect(row?.version).toContain('PostgreSQL');
  });

  it('leaves WAL segments ready for reuse when asked, as on a server that has been running', async () => {
    const walFiles = async (url: string) => {
      const [row] = await query<{ files: number; ahead: number }>(url, `select count(*)::int as files,
          count(*) filter (where name > pg_walfile_name(pg_current_wal_lsn()))::int as ahead from pg_ls_waldir()`);
      return row!;
    };
    const cold = await startPgCluster();
    const warm = await startPgCluster({ recycledWalMb: 64 });
    try {
      // A new cluster has only the segment in use; the warmed one has 64 MB of segments named after it (recycled).
      expect((await walFiles(cold.url)).ahead).toBe(0);
      expect((await walFiles(warm.url)).ahead).toBeGreaterThanOrEqual(3);
    } finally {
      await Promise.all([cold.stop(), warm.stop()]);
    }
  });
});
