import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Storage, StorageOptions } from '../ports.js';
import type { Database } from '../schema.js';
import { createKyselyStorage } from '../shared/storage.js';
import { openConnection } from './connection.js';
import { createSqliteWriter } from './writer.js';

/**
 * SQLite on a real file: reads and administration through Kysely on the main thread's connection, the
 * ingest appends on a writer thread's connection (writer.ts). WAL lets both work at once.
 */
export function openSqlite(path: string, options: StorageOptions = {}): Storage {
  const database = openConnection(path);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  // The list's few query shapes (one per combination of filters), prepared once each: an export reads a
  // page per statement run, thousands of them.
  const statements = new Map<string, BetterSqlite3.Statement>();
  const arrayStatement = (text: string) => {
    let statement = statements.get(text);
    if (!statement) {
      if (statements.size >= 64) statements.clear();
      statement = database.prepare(text).raw(true);
      statements.set(text, statement);
    }
    return statement;
  };
  // The writer starts on the first append, after migrations: it prepares its statements against the tables.
  const writer = createSqliteWriter(path, options);
  return createKyselyStorage(db, 'sqlite', {
    append: writer.append,
    claim: writer.claim,
    complete: writer.complete,
    arrayRows: async (query) => arrayStatement(query.sql).all(...query.parameters) as unknown[][],
    beforeClose: writer.close,
  });
}
