import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openConnection } from './connection.js';
import { createReaderPool } from './threads.js';

/** A read that keeps its thread busy for a while (a few hundred ms). */
const slowRead = { sql: 'with recursive c(x) as (select 1 union all select x + 1 from c where x < 2000000) select count(*) as n from c', parameters: [], arrays: false };

describe('SQLite reader pool', () => {
  it('closes a thread still reading once its read is over, before close() resolves, and starts no thread after', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sb-readers-')), 'readers.db');
    const writer = openConnection(path);
    writer.exec('create table t (x integer); insert into t values (1)');
    const pool = createReaderPool({ path, busyTimeoutMs: 1000, size: 2, nice: 0 });
    const order: string[] = [];
    const reading = pool.read(slowRead, 0).then((result) => {
      order.push('read');
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close().then(() => order.push('closed'));
    expect(await reading).toMatchObject({ rows: [{ n: 2_000_000 }] });
    expect(order).toEqual(['read', 'closed']);
    await expect(pool.read({ sql: 'select 1', parameters: [], arrays: false }, 0)).rejects.toThrow('closed');
    // Every reader's connection is closed: the writer's close, the last, checkpoints and deletes the WAL.
    writer.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(existsSync(`${path}-shm`)).toBe(false);
  });
});
