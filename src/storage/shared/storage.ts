import { sql, type Kysely } from 'kysely';
import { migrateToLatest, pendingMigrations, type Dialect } from '../migrations.js';
import type { EventLog, Storage } from '../ports.js';
import type { Database } from '../schema.js';
import { createApiKeys } from './api-keys.js';
import { createCalls } from './calls.js';
import { createEventLog, type AppendHooks } from './event-log.js';
import { createSources } from './sources.js';

/** The ports over one Kysely instance; the backends differ only in how they open it and in `hooks`. */
export interface BackendHooks extends AppendHooks {
  /** Replaces the shared append (SQLite: a synchronous transaction over prepared statements). */
  append?: EventLog['append'];
  /** Runs before the database closes (SQLite: stop the writer thread). */
  beforeClose?: () => Promise<void>;
}

export function createKyselyStorage(db: Kysely<Database>, dialect: Dialect, hooks: BackendHooks = {}): Storage {
  const events = createEventLog(db, hooks);
  return {
    dialect,
    events: hooks.append ? { ...events, append: hooks.append } : events,
    calls: createCalls(db),
    sources: createSources(db),
    keys: createApiKeys(db),
    migrate: () => migrateToLatest(db, dialect),
    async checkReady() {
      await sql`select 1`.execute(db);
      const pending = await pendingMigrations(db, dialect);
      if (pending.length > 0) throw new Error(`migrations not applied: ${pending.join(', ')}`);
    },
    async isEmpty() {
      const sources = await db.selectFrom('sources').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const keys = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(sources.n) === 0 && Number(keys.n) === 0;
    },
    async close() {
      await hooks.beforeClose?.();
      await db.destroy();
    },
  };
}
