import { sql, type Kysely } from 'kysely';

/**
 * 0020: `calls_in_progress` goes. The stale sweep's query (`status = 'in_progress' and first_event_at < ?`
 * in `first_event_at` order, storage/shared/calls.ts) walks `calls_status_list` (status, first_event_at,
 * source_id, call_id) as well: the same entries in the same order, and the two columns it selects with them.
 * The partial index only cost writes: an entry for each new call's start_call and its removal at the end_call,
 * on SQLite one more page in the WAL for each (issue 15).
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists calls_in_progress`.execute(db);
}
