import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

/**
 * 0024: the log's id (`switchboard_log`, one row): made once, when the database's log is created (a new
 * database's first migration run) or, for a database of an earlier version, at this upgrade; never changed
 * after. The stream tells it (`Switchboard-Log-Id`), a resuming client sends it back (`log_id`), and a client
 * whose cursor is from another log — a database reset or replaced — is told so (`log_replaced`) instead of being
 * resumed after a seq of a log it never read (docs/api.md, the stream's gap frame). A restore from a backup
 * keeps its id: it is the same log.
 *
 * The id has the shape of the project's other ids (domain/ids.ts: `log_`, 9 base36 characters of the time in
 * ms, 12 base64url characters of 9 random bytes), made here because a shipped migration imports nothing of the
 * project.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely and node:crypto).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('switchboard_log')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('log_id', 'text', (c) => c.notNull())
    .execute();
  const logId = `log_${Date.now().toString(36).padStart(9, '0')}${randomBytes(9).toString('base64url')}`;
  await db.insertInto('switchboard_log').values({ id: 1, log_id: logId }).execute();
}
