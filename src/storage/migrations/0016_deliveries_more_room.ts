import { sql, type Kysely } from 'kysely';

/**
 * 0016 (PostgreSQL only): more room on each page of `deliveries` for its rows' updates (issue 14).
 *
 * A delivery row is written four times: appended, given its event_seq by the sequencer, leased by a claim,
 * given its outcome. An update that changes no indexed column can be HOT (no new index entries), but only
 * when the new version fits on the row's page. With 30 % of each page free (0015), the sequencer's new
 * versions (not HOT: event_seq is in both partial indexes) took most of that room, and a claim found its
 * page full. Each page now keeps 60 % free. In the deliveries bench, alternating (docs/benchmarks.md,
 * 2026-12-04): PostgreSQL's CPU per delivery 136–160 µs → 115–145 µs, deliveries/s 4,890–5,074 →
 * 4,984–5,702; at 25 % it was worse again (3,517–4,076: the claims walk more pages). The table grows by
 * about a sixth under that load, not by the ratio of the fillfactors: non-HOT versions spread it either way.
 * The pages already written stay as they are.
 *
 * A SHARE UPDATE EXCLUSIVE lock: appends, claims and reads go on, and nodes of the previous version are
 * unaffected.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`alter table deliveries set (fillfactor = 40)`.execute(db);
}
