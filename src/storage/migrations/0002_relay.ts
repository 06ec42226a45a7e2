import { sql, type Kysely } from 'kysely';

/**
 * 0002: destinations, the deliveries outbox and the delivery attempts; an event keeps its call record after it.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
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
}
