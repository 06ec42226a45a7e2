import type { Kysely } from 'kysely';

/**
 * 0005: a quarantine record points at the event it was reprocessed into.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
  // A quarantined request that was reprocessed into an event keeps its record, pointing at the event.
  await db.schema.alterTable('events').addColumn('reprocessed_into', 'text').execute();
}
