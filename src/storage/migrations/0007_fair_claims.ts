import { sql, type Kysely } from 'kysely';

/**
 * Fair claims (issue 10): the worker claims each destination's due deliveries separately, up to the room it
 * has for that destination, so the claim walks one index per destination, (destination_id, next_attempt_at,
 * event_seq), instead of the global (next_attempt_at, event_seq) — where the backlog of a destination that
 * gets nothing claimed (its circuit open, its slots full) would be stepped over by every claim. It replaces
 * deliveries_due (no other query used it): the number of indexes each delivery write maintains is unchanged.
 * `max_concurrency` is a destination's own cap on requests in flight (null: SWITCHBOARD_DESTINATION_CONCURRENCY).
 *
 * Shipped migrations never change: this file imports nothing of the project.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('destinations').addColumn('max_concurrency', 'integer').execute();
  await db.schema.createIndex('deliveries_destination_due').on('deliveries').columns(['destination_id', 'next_attempt_at', 'event_seq'])
    .where(sql.ref('status'), '=', sql.lit('pending')).execute();
  await db.schema.dropIndex('deliveries_due').execute();
}
