import type { Kysely } from 'kysely';

/**
 * 0021: a destination keeps every previous secret until its own grace period ends (the 5 most recent), not
 * one: rotating twice within the grace dropped the first previous secret at once, and a receiver still on it
 * failed every verification. `previous_secrets` holds them all as JSON text, `[{secret, expires_at}]` newest
 * first.
 *
 * - `previous_secret` and `previous_secret_expires_at` stay, and a rotation still writes the newest previous
 *   secret there: on PostgreSQL nodes of the version before may run beside this one during a rolling upgrade
 *   (the migration only adds a column), and they sign with that slot and rotate by writing it alone. This
 *   version reads the slot first, then the list, so what an older node's rotation put there is read too.
 * - Nothing is copied: a destination rotated before the upgrade has its previous secret in the slot, read
 *   as the list's first.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('destinations').addColumn('previous_secrets', 'text').execute();
}
