import { Kysely } from 'kysely';
import type { Storage, StorageOptions } from '../ports.js';
import type { Database } from '../schema.js';
import { createKyselyStorage } from '../shared/storage.js';
import { openConnection } from './connection.js';
import { SqliteThreadDialect } from './thread-dialect.js';
import { createSqliteThreads } from './threads.js';
import { createSqliteWriter } from './writer.js';

/**
 * SQLite on a real file: reads and administration through Kysely, each statement on a thread (threads.ts:
 * reader threads, an admin writer), the ingest appends on a writer thread's connection (writer.ts). WAL lets
 * them all work at once; nothing runs SQL on the thread that accepts webhooks.
 */
export function openSqlite(path: string, options: StorageOptions = {}): Storage {
  // Created (and put in WAL mode) here, once, so that the read-only threads find the file whatever comes first.
  openConnection(path).close();
  const threads = createSqliteThreads({ path, readers: options.readers ?? 2, busyTimeoutMs: options.busyTimeoutMs ?? 5000 });
  const db = new Kysely<Database>({ dialect: new SqliteThreadDialect(threads) });
  // The query API's reads (stats, the call list and export) under the statement time limit.
  const timeoutMs = options.statementTimeoutMs ?? 0;
  const reads = new Kysely<Database>({ dialect: new SqliteThreadDialect(threads, timeoutMs) });
  // The writer starts on the first append, after migrations: it prepares its statements against the tables.
  const writer = createSqliteWriter(path);
  return createKyselyStorage(db, 'sqlite', {
    reads,
    append: writer.append,
    claim: writer.claim,
    complete: writer.complete,
    async arrayRows(query) {
      const result = await threads.read({ sql: query.sql, parameters: query.parameters, arrays: true }, timeoutMs);
      if (!('rows' in result)) throw new Error('arrayRows runs selects only');
      return result.rows as unknown[][];
    },
    async beforeClose() {
      await writer.close();
      await threads.close();
    },
  });
}
