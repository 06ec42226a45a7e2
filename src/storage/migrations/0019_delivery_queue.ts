import { sql, type Kysely } from 'kysely';

/**
 * 0019 (PostgreSQL only): an event's deliveries wait in the sequencer's queue, and are inserted with their
 * event_seq when it is given.
 *
 * Since 0014 the append inserted each delivery with `event_seq` null and the sequencer's tick set it: an
 * UPDATE of a column that two of the table's indexes hold (`deliveries_destination_due`, `deliveries_order`),
 * so never a heap-only one — a second version of every delivery row with a new entry in each of its six
 * indexes, a third of a delivery's index entries (docs/benchmarks.md, 2026-12-05). Now the append queues,
 * with each event, the ids of its deliveries and of their destinations, their order key and their time; the
 * tick inserts the deliveries with their seq, once.
 *
 * - `event_pending` becomes `event_queue`, with `delivery_ids`, `destination_ids` (text[], one pair per
 *   delivery), `order_key` and `queued_at` (null when the event queued no delivery). The rename is what keeps
 *   nodes of an earlier version from running beside this one: their append and their tick name
 *   `event_pending`, and fail, rather than a tick of theirs taking a queued event without inserting its
 *   deliveries. Stop them before the first node of this version starts (docs/scale-out.md).
 * - Deliveries already inserted without their seq (by an earlier version, before the upgrade) still get it
 *   from the tick, as before.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`alter table event_pending rename to event_queue`.execute(db);
  await sql`alter index event_pending_pkey rename to event_queue_pkey`.execute(db);
  await sql`alter table event_queue add column delivery_ids text[], add column destination_ids text[], add column order_key text,
    add column queued_at bigint`.execute(db);
}
