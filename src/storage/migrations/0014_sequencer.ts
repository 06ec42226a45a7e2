import { sql, type Kysely } from 'kysely';

/**
 * 0014 (PostgreSQL only; SQLite's single writer already gives seq in commit order): the log's seq is
 * assigned after commit by a sequencer (issue 14), so appends from every node run without a global lock.
 * - events.xid: the writing transaction (`pg_current_xact_id()`, filled by the column's default). Rows from
 *   before this migration keep a null xid: they have their seq already. events.xid_ord: the row's place
 *   among its transaction's events (the batch's arrival order, which is the order its calls were merged in;
 *   ids are not ordered within a millisecond).
 * - events.seq: no longer an identity, null until the sequencer gives the row its seq (dense, in (xid, xid_ord, id)
 *   order, only to rows whose transaction is below the snapshot's xmin). It keeps a unique index; the
 *   primary key moves to id (already unique and not null).
 * - events_unsequenced: what the sequencer reads, partial so that sequenced rows leave it.
 * - deliveries.event_seq: null until the sequencer sets it with its event's seq; a claim takes only
 *   sequenced deliveries (the per-call order compares event_seq).
 * - switchboard_sequencer: one row: the last seq given (seq is never reused, even once pruning deleted
 *   the newest events), and which node holds the sequencer's role until when (a lease in the database's clock).
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  const { rows } = await sql<{ name: string | null }>`select pg_get_serial_sequence('events', 'seq') as name`.execute(db);
  let last = 0;
  const sequence = rows[0]?.name ?? null;
  if (sequence !== null) {
    const current = await sql<{ last_value: number | string; is_called: boolean }>`select last_value, is_called from ${sql.raw(sequence)}`.execute(db);
    if (current.rows[0]?.is_called) last = Number(current.rows[0].last_value);
  }
  const max = await sql<{ seq: number | string | null }>`select max(seq) as seq from events`.execute(db);
  last = Math.max(last, Number(max.rows[0]?.seq ?? 0));

  await sql`alter table events add column xid xid8`.execute(db);
  await sql`alter table events alter column xid set default pg_current_xact_id()`.execute(db);
  await sql`alter table events add column xid_ord integer`.execute(db);
  await sql`alter table events alter column seq drop identity if exists`.execute(db);
  await sql`alter table events drop constraint events_pkey`.execute(db);
  await sql`alter table events alter column seq drop not null`.execute(db);
  await sql`create unique index events_seq on events (seq)`.execute(db);
  await sql`alter table events drop constraint events_id_key`.execute(db);
  await sql`alter table events add constraint events_pkey primary key (id)`.execute(db);
  await sql`create index events_unsequenced on events (xid, xid_ord, id) where seq is null`.execute(db);
  await sql`alter table deliveries alter column event_seq drop not null`.execute(db);

  await sql`create table switchboard_sequencer (
    id integer primary key, last_seq bigint not null, holder text, lease_until timestamptz)`.execute(db);
  await sql`insert into switchboard_sequencer (id, last_seq) values (1, ${last})`.execute(db);
}
