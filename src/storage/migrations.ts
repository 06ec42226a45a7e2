import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './schema.js';
import * as m0001 from './migrations/0001_core.js';
import * as m0002 from './migrations/0002_relay.js';
import * as m0003 from './migrations/0003_call_queries.js';
import * as m0004 from './migrations/0004_stats_time.js';
import * as m0005 from './migrations/0005_reprocess.js';
import * as m0006 from './migrations/0006_stats_cover.js';
import * as m0007 from './migrations/0007_fair_claims.js';
import * as m0008 from './migrations/0008_well_formed_json.js';
import * as m0009 from './migrations/0009_users_sessions.js';
import * as m0010 from './migrations/0010_settings.js';
import * as m0011 from './migrations/0011_stats_disconnected_by.js';
import * as m0012 from './migrations/0012_paused_destinations.js';
import * as m0013 from './migrations/0013_reconcile.js';
import * as m0014 from './migrations/0014_sequencer.js';
import * as m0015 from './migrations/0015_deliveries_planning.js';
import * as m0016 from './migrations/0016_call_record_form.js';
import * as m0017 from './migrations/0017_events_by_call_row.js';
import * as m0018 from './migrations/0018_event_order.js';
import * as m0019 from './migrations/0019_delivery_queue.js';
import * as m0020 from './migrations/0020_no_in_progress_index.js';
import * as m0021 from './migrations/0021_previous_secrets.js';
import * as m0022 from './migrations/0022_invitation_inviter.js';
import * as m0023 from './migrations/0023_destination_pace.js';
import * as m0024 from './migrations/0024_log_id.js';

export type Dialect = 'sqlite' | 'postgres';

/** A migration file: its `up`, told the dialect where the two differ (the auto-increment, the binary type). */
interface MigrationFile {
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

/**
 * Every migration, one file each in ./migrations/, written once for both dialects. A name is the key
 * recorded in the switchboard_migrations table: never rename one. Append new migrations; never edit one
 * that has shipped, nor let it import code that can change (test/migrations-upgrade.test.ts checks).
 * The list is static (not read from the directory at run time) so that it works the same from src/ and dist/.
 */
const files: Record<string, MigrationFile> = {
  '0001_core': m0001,
  '0002_relay': m0002,
  '0003_call_queries': m0003,
  '0004_stats_time': m0004,
  '0005_reprocess': m0005,
  '0006_stats_cover': m0006,
  '0007_fair_claims': m0007,
  '0008_well_formed_json': m0008,
  '0009_users_sessions': m0009,
  '0010_settings': m0010,
  '0011_stats_disconnected_by': m0011,
  '0012_paused_destinations': m0012,
  '0013_reconcile': m0013,
  '0014_sequencer': m0014,
  '0015_deliveries_planning': m0015,
  '0016_call_record_form': m0016,
  '0017_events_by_call_row': m0017,
  '0018_event_order': m0018,
  '0019_delivery_queue': m0019,
  '0020_no_in_progress_index': m0020,
  '0021_previous_secrets': m0021,
  '0022_invitation_inviter': m0022,
  '0023_destination_pace': m0023,
  '0024_log_id': m0024,
};

function migrations(dialect: Dialect): Record<string, Migration> {
  return Object.fromEntries(Object.entries(files).map(([name, file]) => [name, { up: (db: Kysely<any>) => file.up(db, dialect) }]));
}

export function createMigrator(db: Kysely<Database>, dialect: Dialect): Migrator {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  return new Migrator({ db, provider, migrationTableName: 'switchboard_migrations', migrationLockTableName: 'switchboard_migrations_lock' });
}

export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  const { error, results } = await createMigrator(db, dialect).migrateToLatest();
  if (error) {
    // Kysely calls a recorded migration it does not know "corrupted": it is a newer version's, and this one is older.
    const unknown = await unknownMigrations(db);
    if (unknown.length > 0) {
      throw new Error(`This database was migrated by a newer version of Switchboard: its migrations ${unknown.join(', ')} are unknown to this one. Run that version or a later one (going back to an earlier version means restoring a backup from before it); nothing was changed.`, { cause: error });
    }
    throw new Error(`Migration failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The migrations the database has recorded that this version does not have (none when it cannot tell). */
async function unknownMigrations(db: Kysely<Database>): Promise<string[]> {
  try {
    const { rows } = await sql<{ name: string }>`select name from switchboard_migrations order by name`.execute(db);
    return rows.map((r) => r.name).filter((name) => !(name in files));
  } catch {
    return [];
  }
}

export async function pendingMigrations(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  const all = await createMigrator(db, dialect).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
