import type { Kysely } from 'kysely';

/**
 * 0023: a destination's rate bucket in its row (`pace_next_at`: when its next send slot is, in ms on the
 * database's clock, fractions kept; null: a new bucket), so that on PostgreSQL every worker of a cluster
 * reserves slots from one bucket and `rate_limit_per_sec` holds for the cluster (it held per worker: N workers
 * sent N times the rate). SQLite has the column too and leaves it null (one process keeps its buckets in memory).
 *
 * Nodes of the version before may run beside this one on PostgreSQL during a rolling upgrade (the migration
 * only adds a column): until they stop, they keep their own buckets, so the destination gets up to their
 * count more than its rate.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('destinations').addColumn('pace_next_at', 'double precision').execute();
}
