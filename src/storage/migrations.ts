import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Migrations for both dialects, written once. Where the dialects differ (the auto-increment sequence, the
 * binary type) the dialect is passed in. Append new migrations; never edit one that has shipped.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  const blob = dialect === 'sqlite' ? 'blob' : 'bytea';
  return {
    '0001_core': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('sources')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('token_hint', 'text', (c) => c.notNull())
          .addColumn('previous_token_hash', 'text')
          .addColumn('previous_token_expires_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('sources_previous_token_hash').on('sources').column('previous_token_hash').execute();

        await db.schema
          .createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('key_hash', 'text', (c) => c.notNull().unique())
          .addColumn('key_hint', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();

        // seq orders the log and is the stream cursor: it must never be reused, even after pruning
        // (SQLite's AUTOINCREMENT, PostgreSQL's identity).
        await db.schema
          .createTable('events')
          .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (c) =>
            dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedAlwaysAsIdentity(),
          )
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('source_id', 'text', (c) => c.notNull())
          .addColumn('call_id', 'text')
          .addColumn('type', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error_code', 'text')
          .addColumn('error_detail', 'text')
          .addColumn('content_type', 'text')
          .addColumn('body', sql.raw(blob))
          .addColumn('body_hash', 'text')
          .addColumn('body_size', 'bigint', (c) => c.notNull())
          .addColumn('body_truncated', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .execute();
        // Deduplication: one accepted event per (source, body bytes); hash first so a batch can look up all
        // its hashes at once. Only accepted events carry a hash (quarantine records have NULL, and NULLs never
        // collide in a unique index), so the index needs no WHERE clause and every lookup can use it.
        await db.schema.createIndex('events_dedupe').on('events').columns(['body_hash', 'source_id']).unique().execute();
        await db.schema.createIndex('events_call').on('events').columns(['call_id', 'seq']).execute();
        await db.schema.createIndex('events_status_seq').on('events').columns(['status', 'seq']).execute();

        await db.schema
          .createTable('calls')
          .addColumn('source_id', 'text', (c) => c.notNull())
          .addColumn('call_id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text')
          .addColumn('widget_key', 'text')
          .addColumn('widget_name', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('timezone', 'text')
          .addColumn('is_delayed_call', 'integer')
          .addColumn('called_lead_phone', 'text')
          .addColumn('lead', 'text')
          .addColumn('agent', 'text')
          .addColumn('agent_id', 'text')
          .addColumn('started_at', 'bigint')
          .addColumn('agent_answered_at', 'bigint')
          .addColumn('lead_answered_at', 'bigint')
          .addColumn('ended_at', 'bigint')
          .addColumn('answer_duration_sec', 'double precision')
          .addColumn('lead_answer_duration_sec', 'double precision')
          .addColumn('talk_duration_sec', 'double precision')
          .addColumn('total_duration_sec', 'double precision')
          .addColumn('disconnected_by', 'text')
          .addColumn('recording_link', 'text')
          .addColumn('lead_created_at', 'bigint')
          .addColumn('speed_to_lead_sec', 'bigint')
          .addColumn('time_to_connect_sec', 'bigint')
          .addColumn('first_event_at', 'bigint', (c) => c.notNull())
          .addColumn('last_event_at', 'bigint', (c) => c.notNull())
          .addColumn('event_count', 'integer', (c) => c.notNull())
          .addColumn('merge_rank', 'integer', (c) => c.notNull())
          // call_id first: the key also serves lookups by call_id alone, so no second index on call_id —
          // each index is one more random page written to the WAL per call on every commit.
          .addPrimaryKeyConstraint('calls_pk', ['call_id', 'source_id'])
          .execute();
        // The stale sweep looks only at calls still in progress, oldest first.
        await db.schema.createIndex('calls_status_first_event').on('calls').columns(['status', 'first_event_at']).execute();
      },
    },
  };
}

export function createMigrator(db: Kysely<Database>, dialect: Dialect): Migrator {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  return new Migrator({ db, provider, migrationTableName: 'switchboard_migrations', migrationLockTableName: 'switchboard_migrations_lock' });
}

export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  const { error, results } = await createMigrator(db, dialect).migrateToLatest();
  if (error) throw new Error(`Migration failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function pendingMigrations(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  const all = await createMigrator(db, dialect).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
