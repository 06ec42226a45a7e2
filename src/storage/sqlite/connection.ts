import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/**
 * Opens the SQLite file the way every connection of ours must see it. WAL lets readers run beside the
 * writer; synchronous=FULL makes every commit reach the disk (fsync of the WAL) before it returns, which is
 * what lets ingest acknowledge only durable events.
 */
export function openConnection(path: string): Database {
  createFile(path);
  const database = new BetterSqlite3(path);
  try {
    database.pragma('journal_mode = WAL');
  } catch (error) {
    database.close();
    // The first read of the file: SQLite's bare "file is not a database" named no file.
    if ((error as { code?: string }).code !== 'SQLITE_NOTADB') throw error;
    throw new Error(`${path} is not a SQLite database (${(error as Error).message}): check SWITCHBOARD_DB / --db`, { cause: error });
  }
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  return database;
}

/**
 * Creates the file at `path` (and its directory) when missing. The database holds destinations' signing secrets
 * and Convolo API keys: a directory this creates, and the file, are its owner's only (SQLite gives the -wal and
 * -shm files the file's own permissions). Existing ones are left as they are.
 */
function createFile(path: string): void {
  if (path === ':memory:' || path === '') return;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  } catch (error) {
    throw new Error(`cannot create the SQLite database ${path}: ${whyNot(path, error as NodeJS.ErrnoException)} (check SWITCHBOARD_DB / --db)`, { cause: error });
  }
}

/**
 * Why `path` could not be created, from what is there: mkdir's own codes mislead (a recursive mkdir on a read-only
 * file system says ENOENT, and under a file EEXIST or ENOTDIR).
 */
function whyNot(path: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'EISDIR') return 'it is a directory';
  let at = dirname(path);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  if (!statSync(at).isDirectory()) return `${at} is a file, not a directory`;
  try {
    accessSync(at, constants.W_OK);
  } catch (denied) {
    return `${at} cannot be written to (${(denied as NodeJS.ErrnoException).code ?? 'denied'})`;
  }
  return `${error.code ?? 'failed'} (${error.message})`;
}

/**
 * Makes this process the only `switchboard start` on the database at `path`, until it exits: an exclusive lock
 * on `<path>.lock`, which the system lets go of when the process ends however it ends (kill -9 too). Throws a
 * one-line error when another process holds it. The CLI's other commands on the same file are not affected.
 */
export function holdServerLock(path: string): void {
  if (path === ':memory:' || path === '') return;
  const lockPath = `${path}.lock`;
  // The database first: what is wrong with its path is said of it.
  createFile(path);
  createFile(lockPath);
  const lock = new BetterSqlite3(lockPath, { timeout: 0 });
  try {
    // In exclusive locking mode the lock its first write takes is held until the connection closes (never).
    // Its journal in memory: there is nothing in this file worth rolling back, and in exclusive mode a journal
    // file would stay beside the database.
    lock.pragma('journal_mode = MEMORY');
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec(`create table if not exists holder (pid integer); delete from holder; insert into holder values (${process.pid})`);
  } catch (error) {
    lock.close();
    const code = (error as { code?: string }).code;
    // Said of the lock, not as SQLite's bare "file is not a database", which reads as the database itself.
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new Error(`${lockPath} is not the lock file Switchboard keeps beside the database (${(error as Error).message}): if no Switchboard process runs on ${path}, remove it; it is made again at the next start`, { cause: error });
    }
    if (code !== 'SQLITE_BUSY') throw error;
    throw new Error(`another Switchboard process is running on ${path}: stop it first (one process per SQLite file; several nodes need PostgreSQL, see docs/scale-out.md)`);
  }
  heldLocks.push(lock);
}

/**
 * The permission bits of the database file at `path` when users other than its owner may read or change it (a
 * file created before Switchboard created them 0600, or by hand), else null. It holds destinations' signing
 * secrets and Convolo API keys; an existing file's mode is the operator's to change, so this only says so.
 */
export function exposedMode(path: string): number | null {
  if (path === ':memory:' || path === '' || !existsSync(path)) return null;
  const mode = statSync(path).mode & 0o777;
  return (mode & 0o066) === 0 ? null : mode;
}

/** The locks this process holds, kept referenced for its life. */
const heldLocks: Database[] = [];
