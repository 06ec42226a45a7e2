import { sql, type Kysely } from 'kysely';

/**
 * 0017 (SQLite only): an event's dedupe and timeline keyed by its call's first seq, not by call_id.
 *
 * Convolo's call_ids look random, so `events_call` (call_id, source_id, body_hash) took every event's entry at
 * a random page of a large index: one more page written to the WAL per event on each commit
 * (docs/benchmarks.md, issue 15). A call row now records `first_seq`, the seq of the first event that wrote
 * it; it grows with time and never changes. The events that write their call (start_call, end_call) record it
 * as `call_seq`, so their entries land beside recent ones in `events_call_seq`.
 *
 * Nothing is rewritten: calls stored before this migration keep a null `first_seq`, and their events, like
 * every event that does not write its call (other types, system events, quarantine records), keep a null
 * `call_seq` and are found by call_id in `events_call_id`, the old index restricted to them. A read by call
 * looks in both (storage/shared/events-of-call.ts).
 *
 * PostgreSQL logs records, not pages, and keeps `events_call`: nothing changes there.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'sqlite') return;
  await db.schema.alterTable('calls').addColumn('first_seq', 'integer').execute();
  await db.schema.alterTable('events').addColumn('call_seq', 'integer').execute();
  await db.schema
    .createIndex('events_call_id')
    .on('events')
    .columns(['call_id', 'source_id', 'body_hash'])
    .where(sql.ref('call_seq'), 'is', null)
    .execute();
  await db.schema.dropIndex('events_call').execute();
  await db.schema
    .createIndex('events_call_seq')
    .on('events')
    .columns(['call_seq', 'body_hash'])
    .unique()
    .where(sql.ref('call_seq'), 'is not', null)
    .execute();
}
