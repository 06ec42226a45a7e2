import type { Kysely } from 'kysely';

/**
 * 0013: reconciliation with Convolo's call list API (issue 16).
 * - sources.convolo_api_key / convolo_widget_ids: the widget API key the reconciler lists calls with (kept
 *   readable by the server like a destination's signing secret, only ever shown masked) and the widget ids
 *   it asks for (comma-separated; null: all the key sees).
 * - events.origin: how an event reached Switchboard; null for a webhook (every event before this migration),
 *   'reconcile' for an end_call the reconciler or a backfill fetched from the call list.
 * - reconcile_runs: one row per reconcile run or backfill step, with its counts and, for a failed one, the
 *   error (code, HTTP status, first bytes of the body; never the key).
 * - reconcile_leases: who runs the reconciler now, until when (one run at a time across nodes).
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sources').addColumn('convolo_api_key', 'text').execute();
  await db.schema.alterTable('sources').addColumn('convolo_widget_ids', 'text').execute();
  await db.schema.alterTable('events').addColumn('origin', 'text').execute();

  await db.schema
    .createTable('reconcile_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('date_from', 'text', (c) => c.notNull())
    .addColumn('date_to', 'text', (c) => c.notNull())
    .addColumn('fetched', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('present', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('added', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_code', 'text')
    .addColumn('error_status', 'integer')
    .addColumn('error_detail', 'text')
    .execute();
  await db.schema.createIndex('reconcile_runs_by_source').on('reconcile_runs').columns(['source_id', 'started_at']).execute();

  await db.schema
    .createTable('reconcile_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}
