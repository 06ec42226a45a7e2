import { sql, type Kysely } from 'kysely';

/**
 * 0018 (PostgreSQL only): an event's seq is a row of its own, not a second version of the event's row.
 *
 * Since 0014 the sequencer gave an event its seq with an UPDATE of the event's row: PostgreSQL wrote the whole
 * row again (~2 KB with its body and call record) with a new entry in each of its indexes, and left the old
 * version for VACUUM — about a third of the WAL each event cost (docs/benchmarks.md, 2026-12-05). Now:
 *
 * - `event_rows`: the events table, renamed, without `seq`, `xid` and `xid_ord`. The append writes it once
 *   and nothing rewrites it (but a quarantine record's `reprocessed_into`).
 * - `event_pending` (xid, xid_ord, id): the events committed or in flight without a seq, written by the
 *   append in its transaction (xid: the transaction's, by the column's default), taken by the sequencer.
 *   Its key is the sequencer's order.
 * - `event_seqs` (seq, id, xid, xid_ord): the sequencer's answer, one narrow row per event, inserted when it
 *   numbers it; unique on seq and on id, so an event never has two seqs. It keeps the writing transaction and
 *   the place in its batch, which the order followed.
 * - `events`: a view of both, `event_rows` with its seq (null until the sequencer reaches it), which every
 *   read uses as it used the table. A view of a join cannot be written: the writes name `event_rows` and
 *   `event_seqs` (storage/postgres, storage/shared/retention.ts, the quarantine's mark). A migration that adds
 *   a column to the events creates the view again.
 * - `events_quarantine` moves to `event_rows (id)` (the list finds the few quarantined rows, then sorts them
 *   by their seq); `events_seq` and `events_unsequenced` go with the columns they indexed.
 *
 * Nodes of an earlier version cannot run beside this one: they insert into `events` and update its seq,
 * which the view refuses (their appends and ticks fail, nothing is written wrong). Stop them before the
 * first node of this version starts; docs/scale-out.md, "Upgrades with several nodes".
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`lock table events in access exclusive mode`.execute(db);
  await sql`alter table events rename to event_rows`.execute(db);

  await sql`create table event_seqs (seq bigint primary key, id text not null, xid xid8, xid_ord integer)`.execute(db);
  await sql`insert into event_seqs (seq, id, xid, xid_ord) select seq, id, xid, xid_ord from event_rows where seq is not null`.execute(db);
  await sql`create unique index event_seqs_id on event_seqs (id)`.execute(db);

  await sql`create table event_pending (
    xid xid8 not null default pg_current_xact_id(), xid_ord integer not null, id text not null, primary key (xid, xid_ord, id))`.execute(db);
  // Every row without seq has an xid: 0014 gave the column its default before any such row was written.
  await sql`insert into event_pending (xid, xid_ord, id)
    select coalesce(xid, pg_current_xact_id()), coalesce(xid_ord, 0), id from event_rows where seq is null`.execute(db);

  await sql`drop index events_seq`.execute(db);
  await sql`drop index events_unsequenced`.execute(db);
  await sql`drop index events_quarantine`.execute(db);
  await sql`alter table event_rows drop column seq, drop column xid, drop column xid_ord`.execute(db);
  await sql`create index events_quarantine on event_rows (id) where status = 'quarantined'`.execute(db);

  await sql`create view events as
    select s.seq, r.id, r.source_id, r.call_id, r.type, r.status, r.error_code, r.error_detail, r.content_type, r.body,
      r.body_hash, r.body_size, r.body_truncated, r.received_at, r.call_after, r.reprocessed_into, r.origin
    from event_rows r left join event_seqs s on s.id = r.id`.execute(db);
}
