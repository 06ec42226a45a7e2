import type { Storage } from './ports.js';

/**
 * Opens the backend a database URL names: `sqlite:<path>` or `postgres://…`. Each backend's modules are
 * loaded only when used: a SQLite process does not carry the PostgreSQL driver in memory, nor the reverse.
 */
export async function openStorage(db: string): Promise<Storage> {
  if (db.startsWith('sqlite:')) return (await import('./sqlite/index.js')).openSqlite(db.slice('sqlite:'.length));
  if (db.startsWith('postgres://') || db.startsWith('postgresql://')) return (await import('./postgres/index.js')).openPostgres(db);
  throw new Error(`Unsupported database URL (expected sqlite:<path> or postgres://…)`);
}
