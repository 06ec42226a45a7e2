import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/**
 * Opens the SQLite file the way every connection of ours must see it. WAL lets readers run beside the
 * writer; synchronous=FULL makes every commit reach the disk (fsync of the WAL) before it returns, which is
 * what lets ingest acknowledge only durable events.
 */
export function openConnection(path: string): Database {
  if (path !== ':memory:' && path !== '') {
    // The file holds destinations' signing secrets and Convolo API keys: a directory this creates, and the file,
    // are its owner's only (SQLite gives the -wal and -shm files the file's own permissions). Existing ones are
    // left as they are.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  }
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  return database;
}
