import type { Storage, StorageOptions } from './ports.js';

/**
 * Opens the backend a database URL names: `sqlite:<path>` or `postgres://…`. Each backend's modules are
 * loaded only when used: a SQLite process does not carry the PostgreSQL driver in memory, nor the reverse.
 */
export async function openStorage(db: string, options: StorageOptions = {}): Promise<Storage> {
  if (db.startsWith('sqlite:')) return (await import('./sqlite/index.js')).openSqlite(db.slice('sqlite:'.length), options);
  if (db.startsWith('postgres://') || db.startsWith('postgresql://')) return (await import('./postgres/index.js')).openPostgres(db, options);
  throw new Error(`Unsupported database URL (expected sqlite:<path> or postgres://…)`);
}
