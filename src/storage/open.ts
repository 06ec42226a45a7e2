import type { Storage } from './ports.js';
import { openPostgres } from './postgres/index.js';
import { openSqlite } from './sqlite/index.js';

/** Opens the backend a database URL names: `sqlite:<path>` or `postgres://…`. */
export function openStorage(db: string): Storage {
  if (db.startsWith('sqlite:')) return openSqlite(db.slice('sqlite:'.length));
  if (db.startsWith('postgres://') || db.startsWith('postgresql://')) return openPostgres(db);
  throw new Error(`Unsupported database URL (expected sqlite:<path> or postgres://…)`);
}
