import { sql, type Kysely, type Selectable } from 'kysely';
import type { Destination } from '../../domain/destination.js';
import type { DeliveryAdmin, DeliveryAttempt, DeliveryFilter, DeliveryReader, DeliveryStatus, DeliverySummary, DeliveryView, ReplayRange, StoredEvent } from '../ports.js';
import type { DestinationId } from '../../domain/ids.js';
import type { Database, DeliveriesTable, DeliveryAttemptsTable } from '../schema.js';
import { outboxRows } from './append-plan.js';
import { rowToDelivery } from './destination-rows.js';
import { eventsBySeqs } from './event-log.js';

/** Events read per page by a replay: a replay of the whole log never holds more than this in memory. */
export const replayPageSize = 500;

/**
 * The deliveries' reads and administrative writes (listing, retry, replay), shared by both backends; the
 * worker's outbox (claim and complete) is each backend's own (the hot path).
 */
export function createDeliveryReads(db: Kysely<Database>): DeliveryReader & DeliveryAdmin {
  /** The rows with their attempt logs, in the rows' order. */
  async function withAttempts(rows: Array<Selectable<DeliveriesTable>>): Promise<DeliveryView[]> {
    if (rows.length === 0) return [];
    const attempts = await db
      .selectFrom('delivery_attempts')
      .selectAll()
      .where('delivery_id', 'in', rows.map((r) => r.id))
      .orderBy('delivery_id')
      .orderBy('attempt')
      .execute();
    const byDelivery = new Map<string, DeliveryAttempt[]>();
    for (const a of attempts) {
      const entries = byDelivery.get(a.delivery_id) ?? [];
      entries.push(toAttempt(a));
      byDelivery.set(a.delivery_id, entries);
    }
    return rows.map((r) => ({ ...rowToDelivery(r), attemptLog: byDelivery.get(r.id) ?? [] }));
  }

  return {
    async get(id) {
      const row = await db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? (await withAttempts([row]))[0]! : null;
    },

    async list(filter: DeliveryFilter) {
      let query = db.selectFrom('deliveries').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit);
      if (filter.destinationId) query = query.where('destination_id', '=', filter.destinationId);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.eventId) query = query.where('event_id', '=', filter.eventId);
      const before = filter.before;
      if (before) {
        query = query.where((eb) =>
          eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]),
        );
      }
      return withAttempts(await query.execute());
    },

    async retry(id, now) {
      const result = await db
        .updateTable('deliveries')
        .set({
          status: 'pending',
          next_attempt_at: now,
          // A fresh run of the retry schedule: the worker counts scheduled attempts from schedule_start.
          schedule_start: sql.ref('attempts'),
          finished_at: null,
          updated_at: now,
          // A delivery being sent right now keeps its lease, so it does not go out twice at once; its
          // attempt in flight is the retry, and the schedule starts again after it.
          locked_until: sql<number | null>`case when status = 'pending' and locked_until > ${now} then locked_until else null end`,
        })
        .where('id', '=', id)
        .where('status', 'in', ['pending', 'failed', 'cancelled'])
        // A deleted destination's deliveries would stay pending for ever: the worker never claims them.
        .where((eb) =>
          eb.exists(eb.selectFrom('destinations').select('destinations.id').whereRef('destinations.id', '=', 'deliveries.destination_id').where('deleted_at', 'is', null)),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async replay(destination, range, now) {
      let queued = 0;
      for (let afterSeq = 0; ; ) {
        const page = await replayPage(db, afterSeq, range);
        if (page.length === 0) return queued;
        afterSeq = page.at(-1)!.seq;
        const wanted = await notQueued(db, destination.id, page, range.onlyFailed === true);
        const events = wanted.length > 0 ? await eventsBySeqs(db, wanted) : [];
        const rows = replayRows(events.sort((a, b) => a.seq - b.seq), destination, now);
        if (rows.length > 0) await db.insertInto('deliveries').values(rows).execute();
        queued += rows.length;
        if (page.length < replayPageSize) return queued;
      }
    },

    async summarize(call) {
      // One statement, the call's events found by their index (call_id, source_id, …), so the detail view
      // can run it beside the timeline's; a call has a handful of deliveries, folded here.
      const rows = await db
        .selectFrom('deliveries as d')
        .innerJoin('events as e', 'e.id', 'd.event_id')
        .select((eb) => [
          'd.destination_id',
          'd.status',
          'd.last_status',
          'd.last_error',
          eb.selectFrom('delivery_attempts as a').whereRef('a.delivery_id', '=', 'd.id').select((a) => a.fn.max('a.attempted_at').as('at')).as('last_attempt_at'),
        ])
        .where('e.call_id', '=', call.callId)
        .where('e.source_id', '=', call.sourceId)
        .execute();
      const byDestination = new Map<string, DeliverySummary>();
      for (const r of rows) {
        let summary = byDestination.get(r.destination_id);
        if (!summary) {
          summary = { destinationId: r.destination_id as DestinationId, counts: { pending: 0, delivered: 0, failed: 0, cancelled: 0 }, lastStatus: null, lastError: null, lastAttemptAt: null };
          byDestination.set(r.destination_id, summary);
        }
        summary.counts[r.status as DeliveryStatus] += 1;
        const at = r.last_attempt_at === null ? null : Number(r.last_attempt_at);
        if (at !== null && (summary.lastAttemptAt === null || at > summary.lastAttemptAt)) {
          Object.assign(summary, { lastStatus: r.last_status, lastError: r.last_error, lastAttemptAt: at });
        }
      }
      return [...byDestination.values()];
    },

    async pendingCount() {
      const row = await db
        .selectFrom('deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        // A literal, not a parameter: SQLite uses the partial (pending-only) indexes only when it sees the value.
        .where('status', '=', sql.lit('pending'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

/** The next page of relayed events in the time range (seq and id), in order. */
async function replayPage(db: Kysely<Database>, afterSeq: number, range: ReplayRange): Promise<Array<{ seq: number; id: string }>> {
  let query = db
    .selectFrom('events')
    .select(['seq', 'id'])
    .where('seq', '>', afterSeq)
    .where('status', '!=', sql.lit('quarantined'))
    .orderBy('seq')
    .limit(replayPageSize);
  if (range.since !== undefined) query = query.where('received_at', '>=', range.since);
  if (range.until !== undefined) query = query.where('received_at', '<', range.until);
  return (await query.execute()).map((r) => ({ seq: Number(r.seq), id: r.id }));
}

/**
 * Which of these events a replay queues again: not those with a delivery to this destination still
 * pending (it is going out anyway; a second one would send it twice), and with `onlyFailed` only those
 * whose latest delivery to it failed.
 */
async function notQueued(db: Kysely<Database>, destinationId: string, page: Array<{ seq: number; id: string }>, onlyFailed: boolean): Promise<number[]> {
  const seqs = page.map((e) => e.seq);
  const rows = await db
    .selectFrom('deliveries')
    .select(['event_seq', 'status', 'created_at', 'id'])
    // By event id: the index every event view uses serves here too.
    .where('event_id', 'in', page.map((e) => e.id))
    .where('destination_id', '=', destinationId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const latest = new Map<number, string>();
  const pending = new Set<number>();
  for (const r of rows) {
    latest.set(Number(r.event_seq), r.status);
    if (r.status === 'pending') pending.add(Number(r.event_seq));
  }
  return seqs.filter((seq) => !pending.has(seq) && (!onlyFailed || latest.get(seq) === 'failed'));
}

/**
 * The delivery rows of a replay, made by the outbox's own `outboxRows` (the same filters and per-call
 * order key as for a new event), due now rather than at the events' arrival.
 */
function replayRows(stored: StoredEvent[], destination: Destination, now: number): DeliveriesTable[] {
  return outboxRows(stored, [destination]).map((row) => ({ ...row, next_attempt_at: now, created_at: now, updated_at: now }));
}

function toAttempt(a: Selectable<DeliveryAttemptsTable>): DeliveryAttempt {
  return {
    attempt: a.attempt,
    attemptedAt: Number(a.attempted_at),
    status: a.status,
    latencyMs: Number(a.latency_ms),
    responseBody: a.response_body,
    error: a.error,
  };
}
