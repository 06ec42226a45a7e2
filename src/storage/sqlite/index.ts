import { Kysely, SqliteDialect } from 'kysely';
import type { Storage } from '../ports.js';
import type { Database } from '../schema.js';
import { createKyselyStorage } from '../shared/storage.js';
import { openConnection } from './connection.js';
import { createSqliteWriter } from './writer.js';

/**
 * SQLite on a real file: reads and administration through Kysely on the main thread's connection, the
 * ingest appends on a writer thread's connection (writer.ts). WAL lets both work at once.
 */
export function openSqlite(path: string): Storage {
  const database = openConnection(path);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  // The writer starts on the first append, after migrations: it prepares its statements against the tables.
  const writer = createSqliteWriter(path);
  return createKyselyStorage(db, 'sqlite', { append: writer.append, claim: writer.claim, complete: writer.complete, beforeClose: writer.close });
}
