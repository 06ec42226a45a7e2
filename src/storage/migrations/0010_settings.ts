import type { Kysely } from 'kysely';

/**
 * 0010: the dashboard's settings pages (issue 13).
 * - api_keys.last_used_at: when the key was last used, written at most once a minute per key and node
 *   (admin/key-usage.ts), so a key's requests do not each cost a write.
 * - invitations: a one-time link for a person to join with a role, stored as the SHA-256 digest of its
 *   token, with an expiry; used_at is set when it is accepted (then it no longer works). Revoking one
 *   deletes its row.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('last_used_at', 'bigint').execute();

  await db.schema
    .createTable('invitations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
}
