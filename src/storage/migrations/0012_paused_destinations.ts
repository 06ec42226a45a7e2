import type { Kysely } from 'kysely';

/**
 * 0012: a destination can be paused (issue 13). A paused destination keeps getting deliveries queued as
 * events arrive, but the worker claims none of them until it is resumed; then they go out in per-call order,
 * as a backlog does. Its own column rather than `disabled_at` with a reason: a disabled destination gets
 * nothing queued at all, and the worker disables on its own (410 Gone, failing too long), which must not
 * be undone by a resume.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('destinations').addColumn('paused_at', 'bigint').execute();
}
