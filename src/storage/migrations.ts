import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { inProgress, phoneDigits } from '../domain/call.js';
import type { Database } from './schema.js';
import { fairClaims } from './migrations/0007_fair_claims.js';
import { wellFormedJsonMigration } from './migrations/0008_well_formed_json.js';

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
        // One index serves both the call timeline and deduplication: the same body bytes always carry the
        // same call_id, so (call_id, source_id, body_hash) is unique for accepted events and finds a
        // duplicate with one lookup. Quarantine records have no call_id and no hash (NULLs never collide).
        // A second index on the hash alone would cost one more random page per event on every commit.
        await db.schema.createIndex('events_call').on('events').columns(['call_id', 'source_id', 'body_hash']).unique().execute();
        // Only the quarantine is listed by status; accepted events are read by seq. Partial, so that accepted
        // events (nearly all) do not pay for this index on every insert. Queries must name the status as a
        // literal for SQLite to use it (see event-log.ts).
        await db.schema.createIndex('events_quarantine').on('events').column('seq').where(sql.ref('status'), '=', sql.lit('quarantined')).execute();

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
        // The stale sweep looks only at calls still in progress, oldest first; ended calls leave the index.
        await db.schema
          .createIndex('calls_in_progress')
          .on('calls')
          .column('first_event_at')
          .where(sql.ref('status'), '=', sql.lit(inProgress))
          .execute();
      },
    },

    '0002_relay': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('events').addColumn('call_after', 'text').execute();

        await db.schema
          .createTable('destinations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('description', 'text')
          .addColumn('event_types', 'text')
          .addColumn('widget_keys', 'text')
          .addColumn('call_statuses', 'text')
          .addColumn('headers', 'text')
          .addColumn('rate_limit_per_sec', 'integer')
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('previous_secret', 'text')
          .addColumn('previous_secret_expires_at', 'bigint')
          .addColumn('disabled_at', 'bigint')
          .addColumn('disabled_reason', 'text')
          .addColumn('failing_since', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('deleted_at', 'bigint')
          .execute();

        await db.schema
          .createTable('deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('destination_id', 'text', (c) => c.notNull())
          .addColumn('event_seq', 'bigint', (c) => c.notNull())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('order_key', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          // A manual retry starts the retry schedule again without renumbering the attempts already made.
          .addColumn('schedule_start', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('locked_until', 'bigint')
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .execute();
        // The worker's two questions, both only about pending deliveries (finished ones leave these indexes):
        // what is due, and is an earlier event of the same call still pending at this destination.
        // The claim's order: walking this index, a claim stops after its limit instead of sorting every due row.
        await db.schema.createIndex('deliveries_due').on('deliveries').columns(['next_attempt_at', 'event_seq'])
          .where(sql.ref('status'), '=', sql.lit('pending')).execute();
        await db.schema.createIndex('deliveries_order').on('deliveries').columns(['destination_id', 'order_key', 'event_seq'])
          .where(sql.ref('status'), '=', sql.lit('pending')).execute();
        // Listing, newest first (all, or one destination's), and by event (the event view, and replay).
        // Every index is one more write per delivery in the ingest's transaction: no more than these.
        await db.schema.createIndex('deliveries_created').on('deliveries').columns(['created_at', 'id']).execute();
        await db.schema.createIndex('deliveries_destination').on('deliveries').columns(['destination_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('deliveries_event').on('deliveries').column('event_id').execute();

        await db.schema
          .createTable('delivery_attempts')
          .addColumn('delivery_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('attempted_at', 'bigint', (c) => c.notNull())
          .addColumn('status', 'integer')
          .addColumn('latency_ms', 'double precision', (c) => c.notNull())
          .addColumn('response_body', 'text')
          .addColumn('error', 'text')
          .addPrimaryKeyConstraint('delivery_attempts_pk', ['delivery_id', 'attempt'])
          .execute();
      },
    },

    // The call list (GET /v1/calls and its CSV export, SPEC "Query API"): newest first by
    // (first_event_at, source_id, call_id), optionally filtered. Each index below ends with that order, so a
    // filtered page is a walk down one index that stops after `limit` rows instead of sorting every match.
    // Each is one more write per call upsert on the ingest's transaction: only the filters users reach for.
    // `q` (substring search) and `from`/`to` alone use calls_list; q scans, by design (see call-queries.ts).
    '0003_call_queries': {
      async up(db: Kysely<any>) {
        // Digits only of the lead's phone and of called_lead_phone: `phone=` matches them exactly, whatever
        // the formatting either side (`+1 (555) 010-2030` and `15550102030` are the same number).
        await db.schema.alterTable('calls').addColumn('lead_phone_digits', 'text').execute();
        await db.schema.alterTable('calls').addColumn('called_phone_digits', 'text').execute();
        await backfillPhoneDigits(db);
        const order = ['first_event_at', 'source_id', 'call_id'];
        await db.schema.createIndex('calls_list').on('calls').columns(order).execute();
        await db.schema.createIndex('calls_status_list').on('calls').columns(['status', ...order]).execute();
        await db.schema.createIndex('calls_widget_list').on('calls').columns(['widget_key', ...order]).execute();
        await db.schema.createIndex('calls_agent_list').on('calls').columns(['agent_id', ...order]).execute();
        await db.schema.createIndex('calls_source_list').on('calls').columns(['source_id', 'first_event_at', 'call_id']).execute();
        // Partial: most calls have a lead phone, but a called number that is absent costs no index entry.
        // `phone=` asks `lead_phone_digits = ? OR called_phone_digits = ?`: both planners combine the two
        // indexes (PostgreSQL's BitmapOr, SQLite's OR-by-union), then sort the few matches.
        await db.schema.createIndex('calls_lead_phone').on('calls').columns(['lead_phone_digits', 'first_event_at'])
          .where(sql.ref('lead_phone_digits'), 'is not', null).execute();
        await db.schema.createIndex('calls_called_phone').on('calls').columns(['called_phone_digits', 'first_event_at'])
          .where(sql.ref('called_phone_digits'), 'is not', null).execute();
      },
    },

    '0004_stats_time': {
      async up(db: Kysely<any>) {
        // Stats count a call at its start (Convolo's, else the first event's): an index on exactly the
        // expression the stats query filters on (storage/shared/stats.ts). By day over 30 days holding ~82k
        // of 1M calls: 0.41 s without it on PostgreSQL, 0.09–0.14 s with it on both backends (measured). It
        // narrows nothing when the range holds every call (bench/query.mjs: ~0.9 s for 1M in 30 days).
        await db.schema.createIndex('calls_stats_time').on('calls').expression(sql`coalesce(started_at, first_event_at)`).execute();
      },
    },

    '0005_reprocess': {
      async up(db: Kysely<any>) {
        // A quarantined request that was reprocessed into an event keeps its record, pointing at the event.
        await db.schema.alterTable('events').addColumn('reprocessed_into', 'text').execute();
      },
    },

    '0006_stats_cover': {
      async up(db: Kysely<any>) {
        // Stats read a call's time and six columns (storage/shared/stats.ts). With all of them in one index
        // no stats query visits the table: over 1M calls in range, by day 0.82 s → 0.32 s and by widget
        // 7.4 s → 1.1 s on SQLite (measured with bench/query.mjs's data). It replaces 0004's index (same
        // leading expression). PostgreSQL does an index-only scan of an expression index only when the
        // expression's columns are in the index too, hence the INCLUDE.
        await db.schema.dropIndex('calls_stats_time').execute();
        const measures = ['status', 'speed_to_lead_sec', 'talk_duration_sec', 'widget_key', 'agent_id', 'source_id'];
        if (dialect === 'sqlite') {
          await sql`create index calls_stats on calls (coalesce(started_at, first_event_at), ${sql.join(measures.map((c) => sql.ref(c)))})`.execute(db);
        } else {
          await sql`create index calls_stats on calls ((coalesce(started_at, first_event_at))) include (started_at, first_event_at, ${sql.join(measures.map((c) => sql.ref(c)))})`.execute(db);
        }
      },
    },

    '0007_fair_claims': fairClaims,
    '0008_well_formed_json': wellFormedJsonMigration(dialect),
  };
}

/** Fills the digits columns of calls stored before 0003 (in JavaScript: SQLite has no regexp_replace). */
async function backfillPhoneDigits(db: Kysely<any>): Promise<void> {
  let after: { callId: string; sourceId: string } | null = null;
  for (;;) {
    let query = db.selectFrom('calls').select(['call_id', 'source_id', 'lead', 'called_lead_phone']).orderBy('call_id').orderBy('source_id').limit(1000);
    if (after) {
      const a: { callId: string; sourceId: string } = after;
      query = query.where((eb) => eb.or([eb('call_id', '>', a.callId), eb.and([eb('call_id', '=', a.callId), eb('source_id', '>', a.sourceId)])]));
    }
    const rows: Array<{ call_id: string; source_id: string; lead: string | null; called_lead_phone: string | null }> = await query.execute();
    for (const r of rows) {
      const lead = r.lead === null ? null : (JSON.parse(r.lead) as Record<string, unknown>);
      await db.updateTable('calls')
        .set({ lead_phone_digits: phoneDigits(lead?.lead_phone), called_phone_digits: phoneDigits(r.called_lead_phone) })
        .where('call_id', '=', r.call_id).where('source_id', '=', r.source_id).execute();
    }
    if (rows.length < 1000) return;
    after = { callId: rows.at(-1)!.call_id, sourceId: rows.at(-1)!.source_id };
  }
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
