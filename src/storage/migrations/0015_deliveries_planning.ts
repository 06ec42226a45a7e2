import { sql, type Kysely } from 'kysely';

/**
 * 0015 (PostgreSQL only), for the worker's and the sequencer's statements on `deliveries` (issue 14).
 *
 * Room on each page for the claim's update. A delivery row is updated three times: its event_seq by the
 * sequencer, `locked_until` by the worker's claim, its outcome. The claim changes no indexed column, so it
 * can be a HOT update (no new index entries, the old version pruned on the page) — but only if the page has
 * room, and at the default fillfactor (100) the appends fill each page: 2.75 % of the updates were HOT in
 * the deliveries bench. New pages keep 30 % free; the pages already written stay as they are.
 *
 * Each statement takes only a SHARE UPDATE EXCLUSIVE lock: appends, claims and reads go on, and nodes of
 * the previous version are unaffected.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`alter table deliveries set (fillfactor = 70)`.execute(db);
  // How many deliveries share an event (one per destination it matched) or a call's order key (those, for
  // each of its events), whatever ANALYZE saw: Switchboard analyzes a new table at its first rows, when they
  // are one event's deliveries, so PostgreSQL took every row for one event's until the next ANALYZE, and
  // then joined the sequencer's events to the deliveries without event_seq by comparing every pair
  // (quadratic; docs/benchmarks.md, 2026-12-03). 1 in 20 rows a distinct value: about 20 rows per value.
  await sql`alter table deliveries alter column event_id set (n_distinct = -0.05)`.execute(db);
  await sql`alter table deliveries alter column order_key set (n_distinct = -0.05)`.execute(db);
  await sql`analyze deliveries`.execute(db);
}
