import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/**
 * Opens the SQLite file the way every connection of ours must see it. WAL lets readers run beside the
 * writer; synchronous=FULL makes every commit reach the disk (fsync of the WAL) before it returns, which is
 * what lets ingest acknowledge only durable events.
 */
export function openConnection(path: string): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  return database;
}
