import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { EventId, LogId, SourceId } from '../../domain/ids.js';
import type { EventFilter, EventLog, EventStatus, NewEvent, StoredEvent } from '../ports.js';
import type { Database, EventsTable } from '../schema.js';
import type { Dialect } from '../migrations.js';
import { callRecordOf } from './call-rows.js';
import { eventsOfCall } from './events-of-call.js';
import { toRow } from './event-rows.js';

/** The event log's reads, shared by both backends; the append (the hot path) is each backend's own. */
export function createEventLog(
  db: Kysely<Database>, dialect: Dialect, append: EventLog['append'], waitSequenced: EventLog['waitSequenced'] = async () => true,
): EventLog {
  /**
   * PostgreSQL gives seq after commit: a read that meets an event without one (in the milliseconds after
   * its commit) waits for the sequencer and reads again, so a client that was answered reads the seq.
   */
  const withSeq = async <T extends Selectable<EventsTable>>(read: () => Promise<T[]>): Promise<T[]> => {
    const rows = await read();
    if (!rows.some((r) => r.seq === null)) return rows;
    await waitSequenced();
    return read();
  };
  return {
    append,
    waitSequenced,

    async get(id) {
      const [row] = await withSeq(() => db.selectFrom('events').selectAll().where('id', '=', id).execute());
      return row ? toStoredEvent(row) : null;
    },

    async list(filter: EventFilter) {
      // PostgreSQL: an event the sequencer has not reached yet comes first (NULLS FIRST is the default for
      // DESC there); withSeq waits for its seq.
      // Summaries (bodies: false) leave out the body and the call record, the bulk of a large event.
      let query = (filter.bodies === false ? db.selectFrom('events').select(summaryColumns) : db.selectFrom('events').selectAll())
        .orderBy('seq', 'desc')
        .limit(filter.limit);
      // A literal, not a parameter: SQLite uses the partial quarantine index only when it can see the status.
      if (filter.status) query = query.where('status', '=', sql.lit(filter.status));
      if (filter.type) query = query.where('type', '=', filter.type);
      if (filter.callId) query = query.where(eventsOfCall(dialect, 'events', { callId: filter.callId, sourceId: filter.sourceId }));
      if (filter.sourceId) query = query.where('source_id', '=', filter.sourceId);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      return (await withSeq(() => query.execute())).map(toStoredEvent);
    },

    async readAfter(afterSeq, limit, maxBytes = Infinity) {
      // The rows a stream shows. On PostgreSQL the sequencer's tick selects the same ones for its node's stream
      // (postgres/sequencer.ts, `handedEvents`): a change to this filter or to the columns read goes there too.
      if (maxBytes === Infinity) {
        const rows = await db
          .selectFrom('events')
          .selectAll()
          .where('seq', '>', afterSeq)
          .where('status', '!=', sql.lit('quarantined'))
          .orderBy('seq')
          .limit(limit)
          .execute();
        return rows.map(toStoredEvent);
      }
      return readWithin(db, dialect, sql`seq > ${afterSeq} and status != 'quarantined'`, limit, maxBytes);
    },

    lastSeq: () => lastSeqOf(db, dialect),

    async logId() {
      const row = await db.selectFrom('switchboard_log').select('log_id').where('id', '=', 1).executeTakeFirstOrThrow();
      return row.log_id as LogId;
    },

    async seqBounds() {
      // Each end its own subquery: SQLite reads min() or max() from the key only when the query has just one.
      // The last seq ever given is kept apart from the rows: SQLite's AUTOINCREMENT record (or the log's end, if
      // that record was lost: as the append reads it), PostgreSQL's sequencer state, written with each tick.
      const { rows } = dialect === 'postgres'
        ? await sql<{ first: string | null; last: string | null }>`select (select min(seq) from event_seqs) as first,
            greatest((select last_seq from switchboard_sequencer where id = 1), (select max(seq) from event_seqs)) as last`.execute(db)
        : await sql<{ first: number | null; last: number | null }>`select (select min(seq) from events) as first,
            max(coalesce((select seq from sqlite_sequence where name = 'events'), 0), coalesce((select max(seq) from events), 0)) as last`.execute(db);
      return { first: Number(rows[0]?.first ?? 0), last: Number(rows[0]?.last ?? 0) };
    },

    async markReprocessed(id, into) {
      // PostgreSQL's events are a view (0018), written through its table.
      await db.updateTable(dialect === 'postgres' ? 'event_rows' : 'events').set({ reprocessed_into: into }).where('id', '=', id).where('status', '=', sql.lit('quarantined')).execute();
    },

    getBySeqs: (seqs, maxBytes) => eventsBySeqs(db, dialect, seqs, maxBytes),

    async callIdsOf(ids) {
      if (ids.length === 0) return new Map();
      const rows = await db.selectFrom('events').select(['id', 'call_id']).where('id', 'in', [...ids]).where('call_id', 'is not', null).execute();
      return new Map(rows.map((r) => [r.id as EventId, r.call_id!]));
    },

    async quarantineCounts() {
      const row = await db
        .selectFrom('events')
        .select((eb) => [
          eb.fn.countAll<number | string | bigint>().as('total'),
          eb.fn.count<number | string | bigint>('reprocessed_into').as('reprocessed'),
        ])
        // A literal, as in list: SQLite then reads only the partial quarantine index's rows.
        .where('status', '=', sql.lit('quarantined'))
        .executeTakeFirst();
      const total = Number(row?.total ?? 0);
      const reprocessed = Number(row?.reprocessed ?? 0);
      return { waiting: total - reprocessed, reprocessed };
    },
  };
}

/** Every column of an event but its body and call record. */
const eventColumns = [
  'seq', 'id', 'source_id', 'call_id', 'type', 'status', 'error_code', 'error_detail', 'content_type', 'body_hash', 'body_size', 'body_truncated',
  'received_at', 'reprocessed_into', 'origin',
] as const;
/** What a summary of an event shows: its body and call record read as null. */
const summaryColumns = [...eventColumns, sql<Buffer | null>`null`.as('body'), sql<string | null>`null`.as('call_after'), sql<number | null>`null`.as('call_seq')] as const;

/** The highest seq in the log (0 when it is empty). */
export async function lastSeqOf(db: Kysely<Database>, dialect: Dialect): Promise<number> {
  // PostgreSQL: from the seqs' own key (the view's max would join every row first).
  const row = dialect === 'postgres'
    ? await db.selectFrom('event_seqs').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst()
    : await db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/**
 * The events with these seqs (the worker's claimed deliveries). With `maxBytes`, the first of them
 * by seq that fit in it (`pageFull`'s rule, as `readAfter`), in seq order; without, all, in no particular order.
 */
export async function eventsBySeqs(db: Kysely<Database>, dialect: Dialect, seqs: readonly number[], maxBytes = Infinity): Promise<StoredEvent[]> {
  if (seqs.length === 0) return [];
  if (maxBytes === Infinity) return (await db.selectFrom('events').selectAll().where('seq', 'in', [...seqs]).execute()).map(toStoredEvent);
  return readWithin(db, dialect, sql`seq in (${sql.join([...seqs])})`, seqs.length, maxBytes);
}

/**
 * The events of these seqs as the outbox's rows need them (append-plan.ts, `outboxRows`: a replay's page of up to 500):
 * with their call record, and the body only for Switchboard's own events (it names the destination one is about);
 * a Convolo event's body, up to the body limit, is not read.
 */
export async function outboxEventsBySeqs(db: Kysely<Database>, seqs: readonly number[]): Promise<StoredEvent[]> {
  if (seqs.length === 0) return [];
  const rows = await db
    .selectFrom('events')
    .select([...eventColumns, 'call_after', sql<Buffer | null>`case when status = 'system' then body end`.as('body'), sql<number | null>`null`.as('call_seq')])
    .where('seq', 'in', [...seqs])
    .execute();
  return rows.map(toStoredEvent);
}

/** The byte budget of a read of the log by the stream or the worker (see `readAfter`): a few large events. */
export const readPageBytes = 8 * 1024 * 1024;

/**
 * What an event read from the log is counted as against a read's byte budget: its body (the largest part of it; its
 * call record holds fields of the same body, each bounded) and a kilobyte for the rest. `sizeSql` is the same in SQL.
 */
export const eventBytes = (event: Pick<StoredEvent, 'body'>): number => (event.body?.length ?? 0) + eventOverheadBytes;
const eventOverheadBytes = 1024;
// SQLite's length() of a blob reads its size from the row's header, not the blob (nor its overflow pages); so does
// PostgreSQL's of a bytea (not detoasted).
const sizeSql = sql`(coalesce(length(body), 0) + ${sql.lit(eventOverheadBytes)})`;

/**
 * The events that `where` selects, in seq order, at most `limit`, up to the one that takes their bytes (`sizeSql`) past
 * `maxBytes` (the first, at least): a running sum in the query. PostgreSQL sums beside the rows, read once (its window
 * holds a large body as its TOAST pointer, read only for the rows kept); SQLite's window would copy the rows, bodies
 * included, so it sums the seqs' sizes apart and then reads the rows up to the last seq kept, a range of the key.
 */
async function readWithin(db: Kysely<Database>, dialect: Dialect, where: RawBuilder<unknown>, limit: number, maxBytes: number): Promise<StoredEvent[]> {
  const running = sql`sum(size) over (order by seq rows unbounded preceding) - size`;
  const { rows } = dialect === 'postgres'
    // The window's running frame emits each row as it reads it: the limit stops the index scan.
    ? await sql<Selectable<EventsTable>>`select * from (select *, sum(${sizeSql}) over (order by seq rows unbounded preceding) - ${sizeSql} as before_bytes
        from events where ${where} order by seq limit ${limit}) as page where before_bytes < ${maxBytes} order by seq`.execute(db)
    : await sql<Selectable<EventsTable>>`select * from events where ${where} and seq <= (select max(seq) from (select seq, ${running} as before_bytes
        from (select seq, ${sizeSql} as size from events where ${where} order by seq limit ${limit}) as sized) as page where before_bytes < ${maxBytes})
        order by seq limit ${limit}`.execute(db);
  return rows.map(toStoredEvent);
}

/**
 * A page read with at most `limit` events and `maxBytes` (readAfter, getBySeqs) may not be all there was: it holds
 * `limit` events, or was ended by the budget (its events' bytes reach it). A page that is not full held everything.
 */
export function pageFull(page: readonly StoredEvent[], limit: number, maxBytes: number): boolean {
  if (page.length >= limit) return true;
  let bytes = 0;
  for (const event of page) bytes += eventBytes(event);
  return bytes >= maxBytes;
}

/**
 * An event just appended, as `readAfter` will read it: the row the append wrote (`toRow`, with the call
 * record's text it stored beside the event), read back by `toStoredEvent` — one conversion for both, so a
 * stream frame is the same bytes whether its event was handed over by the commit or read from the log.
 */
export function storedEventOf(event: NewEvent, seq: number, callAfter: string | null): StoredEvent {
  return toStoredEvent({ ...toRow(event, callAfter), seq, reprocessed_into: null, call_seq: null });
}

/** A row of events as the log's reader gives it (also the sequencer's, for the events of its tick). */
export function toStoredEvent(r: Selectable<EventsTable>): StoredEvent {
  return {
    seq: Number(r.seq),
    id: r.id as EventId,
    sourceId: r.source_id as SourceId,
    callId: r.call_id,
    type: r.type,
    status: r.status as EventStatus,
    errorCode: r.error_code,
    errorDetail: r.error_detail,
    contentType: r.content_type,
    body: r.body === null ? null : Buffer.from(r.body),
    bodySize: r.body_size,
    bodyTruncated: r.body_truncated === 1,
    receivedAt: Number(r.received_at),
    callAfter: r.call_after === null ? null : callRecordOf(r.call_after),
    reprocessedInto: (r.reprocessed_into ?? null) as EventId | null,
    origin: r.origin === 'reconcile' ? 'reconcile' : 'webhook',
  };
}
