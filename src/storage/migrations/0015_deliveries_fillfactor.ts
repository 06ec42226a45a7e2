import { sql, type Kysely } from 'kysely';

/**
 * 0015 (PostgreSQL only): room on each page of `deliveries` for the claim's update (issue 14). A delivery
 * row is updated three times: its event_seq by the sequencer, `locked_until` by the worker's claim, its
 * outcome. The claim changes no indexed column, so it can be a HOT update (no new index entries, the old
 * version pruned on the page) — but only if the page has room, and at the default fillfactor (100) the
 * appends fill each page: 2.75 % of the updates were HOT in the deliveries bench. New pages keep 30 %
 * free; the pages already written stay as they are. Takes only a SHARE UPDATE EXCLUSIVE lock: appends,
 * claims and reads go on, and nodes of the previous version are unaffected.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`alter table deliveries set (fillfactor = 70)`.execute(db);
}
