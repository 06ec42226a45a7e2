import { sql, type Kysely } from 'kysely';

/**
 * 0001: sources, API keys, the event log and the call records.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely). What it took from
 * the domain is copied here as it was when the migration shipped.
 */

/** domain/call.ts's `inProgress` when 0001 shipped: the status of a call not yet ended. */
const inProgress = 'in_progress';

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const blob = dialect === 'sqlite' ? 'blob' : 'bytea';
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
}
