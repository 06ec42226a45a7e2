import type { Kysely } from 'kysely';

/**
 * 0022: an invitation records who created it (`created_by`, the inviting user's id; null for one created
 * with an API key, and for every invitation created before this migration). Removing a user ends the
 * pending invitations they created, and demoting an admin ends their pending invitations for the admin
 * role: a link outlived the person who sent it, and a viewer's past invitations still made admins.
 *
 * Nodes of the version before may run beside this one on PostgreSQL during a rolling upgrade (the
 * migration only adds a column): the invitations they create have no inviter and outlive them, as before.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('invitations').addColumn('created_by', 'text').execute();
}
