import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Storage } from '../ports.js';
import type { Database } from '../schema.js';
import { createKyselyStorage } from '../shared/storage.js';
import { createSqliteAppend } from './append.js';

/**
 * SQLite on a real file. WAL lets readers run beside the writer; synchronous=FULL makes every commit reach
 * the disk (fsync of the WAL) before it returns, which is what lets ingest acknowledge only durable events.
 * Group commit (ingest/group-commit.ts) amortises that fsync over every request of a batch.
 */
export function openSqlite(path: string): Storage {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  // Statements are prepared on first use: the tables exist only once migrations have run.
  let append: ReturnType<typeof createSqliteAppend> | undefined;
  return createKyselyStorage(db, 'sqlite', {
    append: async (batch) => (append ??= createSqliteAppend(database))(batch),
  });
}
