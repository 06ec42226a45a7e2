import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import { envelopeType, envelopeTypeParts, type EventStatus } from '../../domain/envelope.js';
import type { Destination } from '../../domain/destination.js';
import type { DeliveryAdmin, DeliveryAttempt, RetryOutcome, DestinationHealth, DeliveryFilter, DeliveryReader, DeliveryStatus, DeliverySummary, DeliveryView, ReplayRange, StoredEvent } from '../ports.js';
import type { DeliveryId, DestinationId } from '../../domain/ids.js';
import type { Database, DeliveriesTable, DeliveryAttemptsTable } from '../schema.js';
import { outboxRows } from './append-plan.js';
import { rowToDelivery } from './destination-rows.js';
import { outboxEventsBySeqs } from './event-log.js';
import { eventsOfCall } from './events-of-call.js';
import type { Dialect } from '../migrations.js';

/** Events read per page by a replay: a replay of the whole log never holds more than this in memory. */
export const replayPageSize = 500;

/**
 * The deliveries' reads and administrative writes (listing, retry, replay), shared by both backends; the
 * worker's outbox (claim and complete) is each backend's own (the hot path).
 */
export function createDeliveryReads(db: Kysely<Database>, dialect: Dialect, waitSequenced: () => Promise<unknown> = async () => true): DeliveryReader & DeliveryAdmin {
  /** The rows with their attempt logs, in the rows' order. */
  async function withAttempts(rows: ViewRow[]): Promise<DeliveryView[]> {
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
    return rows.map((r) => ({
      ...rowToDelivery(r),
      eventType: r.event_status === null ? null : envelopeType(r.event_status as EventStatus, r.event_type),
      callId: r.call_id,
      sourceId: r.source_id,
      attemptLog: byDelivery.get(r.id) ?? [],
    }));
  }

  /** A delivery with its event's type and call (left joined: a pruned event leaves them null). */
  const viewQuery = () =>
    db.selectFrom('deliveries as d').leftJoin('events as e', 'e.seq', 'd.event_seq').selectAll('d').select(['e.status as event_status', 'e.type as event_type', 'e.call_id as call_id', 'e.source_id as source_id']);

  return {
    async get(id) {
      const row = await viewQuery().where('d.id', '=', id).executeTakeFirst();
      return row ? (await withAttempts([row]))[0]! : null;
    },

    async list(filter: DeliveryFilter) {
      let query = viewQuery().orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(filter.limit);
      if (filter.destinationId) query = query.where('d.destination_id', '=', filter.destinationId);
      if (filter.statuses && filter.statuses.length > 0) query = query.where('d.status', 'in', filter.statuses);
      if (filter.eventId) query = query.where('d.event_id', '=', filter.eventId);
      const { callId, eventType } = filter;
      // The call's events first (by their call's index: events-of-call.ts), then their deliveries by event
      // (deliveries_event): a call has a handful, where walking the log newest first to find them could read it all.
      if (callId) query = query.where('d.event_id', 'in', (eb) => eb.selectFrom('events').select('events.id').where(eventsOfCall(dialect, 'events', { callId })));
      if (eventType) {
        const parts = envelopeTypeParts(eventType);
        query = query.where('e.type', '=', parts.type).where('e.status', parts.system ? '=' : '!=', sql.lit('system'));
      }
      const before = filter.before;
      if (before) {
        query = query.where((eb) =>
          eb.or([eb('d.created_at', '<', before.createdAt), eb.and([eb('d.created_at', '=', before.createdAt), eb('d.id', '<', before.id)])]),
        );
      }
      return withAttempts(await query.execute());
    },

    async retry(id, now): Promise<RetryOutcome> {
      return db.transaction().execute(async (trx) => {
        // PostgreSQL: the delivery's row first, then its destination's, in the order the worker's outcome takes
        // them (postgres/deliveries.ts `complete`): the other way round, a retry of a delivery whose attempt was
        // being recorded could hold one row while the outcome held the other (a deadlock, failing one of them).
        const query = trx.selectFrom('deliveries').select(['destination_id', 'event_id']).where('id', '=', id);
        const row = await (dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
        // In turn with a replay or another retry of the destination (insertReplayed), so that of two at once
        // the second sees what the first queued.
        if (!row || !(await takeTurn(trx, row.destination_id))) return { result: 'not_retried' };
        const result = await retried(trx, now).where('id', '=', id).where('status', 'in', ['pending', 'failed', 'cancelled']).where(notPendingAgain).executeTakeFirst();
        if (Number(result.numUpdatedRows) > 0) return { result: 'retried' };
        const live = await trx.selectFrom('deliveries').select('id').where('event_id', '=', row.event_id).where('destination_id', '=', row.destination_id)
          .where('status', '=', sql.lit('pending')).where('id', '!=', id).executeTakeFirst();
        return live ? { result: 'pending', pendingId: live.id as DeliveryId } : { result: 'not_retried' };
      });
    },

    async retryFailed(destinationId, now, dryRun) {
      // The failed deliveries it sends again: of the events whose latest delivery to the destination failed, that one.
      const retryable: Which = (eb) => eb.and([eb('destination_id', '=', destinationId), eb('status', '=', sql.lit('failed')), notPendingAgain(eb), latest(eb)]);
      // The preview counts exactly the rows the updates would change (the same conditions).
      if (dryRun) {
        const ofDestination = () => db.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('destination_id', '=', destinationId).where(destinationLive);
        const [failed, flying] = await Promise.all([
          ofDestination().where(retryable).executeTakeFirstOrThrow(),
          ofDestination().where(inFlightAt(now)).where(failedBefore).executeTakeFirstOrThrow(),
        ]);
        return Number(failed.n) + Number(flying.n);
      }
      // A failed event whose delivery (a replay's) is being sent right now is not queued beside it (one live
      // delivery per event): that delivery is marked instead, as a retry marks it (`retried`), so a failure of its
      // attempt, even the schedule's last, sends it again rather than losing this retry. Before the turn, one
      // at a time (markInFlight). In turn with a replay of the destination (insertReplayed), so neither sends
      // again what the other just queued.
      const marked = await markInFlight(db, now, (eb) => eb.and([eb('destination_id', '=', destinationId), failedBefore(eb)]));
      return db.transaction().execute(async (trx) => {
        // PostgreSQL: their rows before the destination's, in id order, as a retry of one of them takes its row
        // and then the destination's (`retry`): the update after the turn took them the other way round, and a
        // retry of one of them beside it was a deadlock (PostgreSQL failed one of them: a 503).
        if (dialect === 'postgres') await trx.selectFrom('deliveries').select('id').where(retryable).orderBy('id').forUpdate().execute();
        if (!(await takeTurn(trx, destinationId))) return 0;
        const result = await retried(trx, now).where(retryable).executeTakeFirst();
        return Number(result.numUpdatedRows) + marked;
      });
    },

    async replay(destination, range, now, dryRun = false) {
      // PostgreSQL: the events acknowledged before the replay was asked for get their seq first (a replay
      // reads the log by seq; a just-acknowledged event would otherwise be missed).
      await waitSequenced();
      let queued = 0;
      for (let afterSeq = 0; ; ) {
        const page = await replayPage(db, afterSeq, range);
        if (page.length === 0) return queued;
        afterSeq = page.at(-1)!.seq;
        const { wanted, inFlight } = await notQueued(db, destination.id, page, range.onlyFailed === true, now);
        const seqs = [...wanted, ...inFlight];
        const events = await outboxEventsBySeqs(db, seqs);
        // The rows it would queue, with those of the events whose delivery is in flight (marked, not queued).
        let rows = replayRows(events.sort((a, b) => a.seq - b.seq), destination, now);
        if (rows.length > 0 && !dryRun) {
          const inserted = await insertReplayed(db, destination.id, page, rows, range.onlyFailed === true, new Set(inFlight), now);
          // Deleted since the replay began: nothing more is queued (it would stay pending for ever, never claimed).
          if (inserted === null) return queued;
          rows = inserted;
        } else {
          const flying = new Set(inFlight);
          rows = rows.filter((r) => !flying.has(Number(r.event_seq)));
        }
        queued += rows.length;
        if (page.length < replayPageSize) return queued;
      }
    },

    async summarize(call) {
      // One statement, the call's events found by their index (events-of-call.ts), so the detail view
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
        .where(eventsOfCall(dialect, 'e', call))
        // In the order a destination gets them (a call's events in order, a replay after the original), so
        // that of two attempts in the same millisecond the later one's status is kept (`>=` below), not
        // whichever row the database returned first.
        .orderBy('d.event_seq')
        .orderBy('d.created_at')
        .orderBy('d.id')
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
        if (at !== null && (summary.lastAttemptAt === null || at >= summary.lastAttemptAt)) {
          Object.assign(summary, { lastStatus: r.last_status, lastError: r.last_error, lastAttemptAt: at });
        }
      }
      return [...byDestination.values()];
    },

    async health(since) {
      const hour = 3_600_000;
      const count = (status: DeliveryStatus) => sql<number>`sum(case when status = ${sql.lit(status)} then 1 else 0 end)`;
      const [hourly, pendingRows, destinations] = await Promise.all([
        // One statement per hour, each a range of deliveries_destination grouped by destination: grouping the
        // whole window by (destination, hour) in one statement sorted every row of it (seconds with 1M
        // deliveries in a day); an hour's rows sort in a fraction of that, and the hours run side by side.
        Promise.all(Array.from({ length: 24 }, (_, k) =>
          db.selectFrom('deliveries')
            .select(['destination_id', count('delivered').as('delivered'), count('failed').as('failed'), count('pending').as('pending')])
            .where('created_at', '>=', since + k * hour)
            .where('created_at', '<', since + (k + 1) * hour)
            .groupBy('destination_id')
            .execute())),
        // The whole backlog (a paused destination's can be days old): the pending-only indexes hold it.
        db.selectFrom('deliveries').select((eb) => ['destination_id', eb.fn.countAll<number>().as('n')])
          .where('status', '=', sql.lit('pending')).groupBy('destination_id').execute(),
        db.selectFrom('destinations').select('id').where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute(),
      ]);
      const health = new Map<string, DestinationHealth>(destinations.map((d) => [d.id, {
        destinationId: d.id as DestinationId, delivered: 0, failed: 0, pending: 0,
        hourly: Array.from({ length: 24 }, () => ({ delivered: 0, failed: 0, pending: 0 })), lastError: null,
      }]));
      hourly.forEach((rows, k) => {
        for (const r of rows) {
          const h = health.get(r.destination_id);
          if (!h) continue;
          const bucket = { delivered: Number(r.delivered ?? 0), failed: Number(r.failed ?? 0), pending: Number(r.pending ?? 0) };
          h.hourly[k] = bucket;
          h.delivered += bucket.delivered;
          h.failed += bucket.failed;
        }
      });
      for (const r of pendingRows) {
        const h = health.get(r.destination_id);
        if (h) h.pending = Number(r.n);
      }
      // Per destination, the error of the attempt that failed last: of the window's deliveries whose last attempt
      // failed, the one whose outcome was written last (updated_at, then id: the order of `finishedAfter`; an
      // older delivery retried and failing now, not the latest-created), at the time of that attempt. A scan
      // of the destination's range of deliveries_destination (as long as a healthy one's walk to no error).
      await Promise.all([...health.values()].map(async (h) => {
        // The attempt's time read for that one delivery, outside the limited scan (in it, SQLite read every row's).
        const last = db.selectFrom('deliveries').select(['id', 'last_status', 'last_error'])
          .where('destination_id', '=', h.destinationId).where('created_at', '>=', since).where('last_error', 'is not', null)
          .orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(1).as('d');
        const row = await db.selectFrom(last)
          .select((eb) => ['d.last_status', 'd.last_error', eb.selectFrom('delivery_attempts as a').whereRef('a.delivery_id', '=', 'd.id').select((a) => a.fn.max('a.attempted_at').as('at')).as('at')])
          .executeTakeFirst();
        if (row?.last_error && row.at !== null) h.lastError = { at: Number(row.at), status: row.last_status, error: row.last_error };
      }));
      return [...health.values()];
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

type ViewRow = Selectable<DeliveriesTable> & { event_status: string | null; event_type: string | null; call_id: string | null; source_id: string | null };

/** Its destination is not deleted: a deleted destination's deliveries would stay pending for ever (never claimed). */
const destinationLive = (eb: ExpressionBuilder<Database, 'deliveries'>) =>
  eb.exists(eb.selectFrom('destinations').select('destinations.id').whereRef('destinations.id', '=', 'deliveries.destination_id').where('deleted_at', 'is', null));

/**
 * The deliveries of the same event to the same destination as the row at hand (`deliveries`, the row a
 * statement updates, counts or reads), with `status` if given: the one rule the conditions below narrow.
 */
const siblings = (eb: ExpressionBuilder<Database, 'deliveries'>, status?: DeliveryStatus) => {
  const all = eb.selectFrom('deliveries as s').select('s.id')
    .whereRef('s.event_id', '=', 'deliveries.event_id').whereRef('s.destination_id', '=', 'deliveries.destination_id');
  return status === undefined ? all : all.where('s.status', '=', sql.lit(status));
};

/**
 * Row `a`'s outcome was written after row `b`'s, both finished (not pending): by updated_at, which the outcome
 * writes (postgres/ and sqlite/deliveries.ts `complete`; a cancellation too) and nothing writes after it while
 * the delivery stays finished (a claim writes it too, but only of a pending one), then by id.
 */
const finishedAfter = (a: string, b: string) =>
  sql<boolean>`(${sql.ref(`${a}.updated_at`)} > ${sql.ref(`${b}.updated_at`)} or (${sql.ref(`${a}.updated_at`)} = ${sql.ref(`${b}.updated_at`)} and ${sql.ref(`${a}.id`)} > ${sql.ref(`${b}.id`)}))`;

/** The delivery has an outcome: delivered, failed or cancelled. */
const finished = (row: string) => sql<boolean>`${sql.ref(`${row}.status`)} <> 'pending'`;

/**
 * No other delivery of the same event to the destination is pending: it goes out anyway (a replay queued it
 * again), and a retry beside it would send it twice.
 */
const notPendingAgain = (eb: ExpressionBuilder<Database, 'deliveries'>) =>
  eb.not(eb.exists(siblings(eb, 'pending').whereRef('s.id', '!=', 'deliveries.id')));

/**
 * It is its event's latest delivery to the destination: the one whose outcome came last (finished, and none
 * of the others finished after it). "The events whose latest delivery failed", which a retry of the failed
 * deliveries sends again and an `only_failed` replay queues again: of an event's failed deliveries (the
 * original, replays of it), only the one that failed last, and none once a delivery of it (a replay, a retry
 * of the original) was delivered after that. (Both backends read the subquery over the rows as they were
 * before an update.)
 */
const latest = (eb: ExpressionBuilder<Database, 'deliveries'>) =>
  eb.and([finished('deliveries'), eb.not(eb.exists(siblings(eb).where(finished('s')).where(finishedAfter('s', 'deliveries'))))]);

/**
 * Of the other deliveries of the same event to the destination, the latest failed: the one a replay's
 * delivery in flight sends again (the rule of `latest`, leaving that delivery out).
 */
const failedBefore = (eb: ExpressionBuilder<Database, 'deliveries'>) =>
  eb.exists(siblings(eb, 'failed').whereRef('s.id', '!=', 'deliveries.id').where((f) => f.not(f.exists(
    f.selectFrom('deliveries as l').select('l.id')
      .whereRef('l.event_id', '=', 's.event_id').whereRef('l.destination_id', '=', 's.destination_id').whereRef('l.id', '!=', 'deliveries.id')
      .where(finished('l')).where(finishedAfter('l', 's'))))));

/**
 * Writes the destination's row, changing nothing, first in a transaction that queues its deliveries again (a
 * replay's page, a retry of the failed ones): two of them take turns (PostgreSQL: the row's lock; SQLite: the
 * one writer), and the second sees what the first queued. False when the destination is deleted (its DELETE,
 * which writes the row first too, committed before): nothing is to be queued for it.
 */
async function takeTurn(trx: Kysely<Database>, destinationId: string): Promise<boolean> {
  const result = await trx.updateTable('destinations').set({ updated_at: sql.ref('updated_at') })
    .where('id', '=', destinationId).where('deleted_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Deliveries sent again now, each with a fresh run of the retry schedule (the worker counts scheduled
 * attempts from schedule_start); the caller narrows which. A delivery being sent right now keeps its lease,
 * so it does not go out twice at once, and its run starts after the attempt in flight: schedule_start is one
 * past its attempts, which tells the outcome of that attempt that a retry was asked for since its claim (a
 * failure leaves it pending, due now: shared/complete-plan.ts); a claim brings it back to its attempts.
 */
function retried(db: Kysely<Database>, now: number) {
  const inFlight = inFlightAt(now);
  return db
    .updateTable('deliveries')
    .set({
      status: 'pending',
      next_attempt_at: now,
      schedule_start: sql<number>`case when ${inFlight} then attempts + 1 else attempts end`,
      finished_at: null,
      updated_at: now,
      locked_until: sql<number | null>`case when ${inFlight} then locked_until else null end`,
    })
    .where(destinationLive);
}

/** A delivery being sent right now: pending, its claim's lease running. */
export const inFlightAt = (now: number) => sql<boolean>`status = 'pending' and locked_until > ${now}`;

type Which = (eb: ExpressionBuilder<Database, 'deliveries'>) => Expression<SqlBool>;

/**
 * Writes the deliveries in flight that `which` narrows (`write`, by id), each in a statement and transaction of
 * its own (outside the caller's): the worker records the outcomes of its attempts in one update over its batch,
 * which locks their rows in the order the answers came, then, when the destination starts or stops failing,
 * the destination's row. An administrator's write of several of them at once locked them in another order (or
 * held the destination's row meanwhile), and each could hold rows the other waited for (PostgreSQL: a
 * deadlock, failing the admin's request with a 503 or the worker's write). Holding one row at a time, such a
 * write waits for an outcome but never holds one up while waiting. Answers how many rows were written.
 */
export async function oneInFlightAtATime(db: Kysely<Database>, now: number, which: Which, write: (id: string) => Promise<{ numUpdatedRows: bigint }>): Promise<number> {
  const flying = await db.selectFrom('deliveries').select('id').where(inFlightAt(now)).where(which).orderBy('id').execute();
  let written = 0;
  for (const { id } of flying) written += Number((await write(id)).numUpdatedRows);
  return written;
}

/**
 * Marks the deliveries in flight that `which` narrows as a retry marks them (`retried`), one at a time
 * (oneInFlightAtATime), before the caller's turn. Answers how many were marked.
 */
const markInFlight = (db: Kysely<Database>, now: number, which: Which): Promise<number> =>
  // The conditions again: the attempt may have ended since.
  oneInFlightAtATime(db, now, which, (id) => retried(db, now).where('id', '=', id).where(inFlightAt(now)).where(which).executeTakeFirst());

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
 * Which of these events a replay queues again (`wanted`): not those with a delivery to this destination still
 * pending (it is going out anyway; a second one would send it twice), and with `onlyFailed` only those
 * whose latest delivery to it failed. `inFlight`: those it would queue but for their delivery being sent right
 * now (not with `onlyFailed`: an event with a delivery pending is not taken), which the replay marks instead.
 */
async function notQueued(
  db: Kysely<Database>, destinationId: string, page: Array<{ seq: number; id: string }>, onlyFailed: boolean, now: number,
): Promise<{ wanted: number[]; inFlight: number[] }> {
  const seqs = page.map((e) => e.seq);
  const rows = await db
    .selectFrom('deliveries')
    .select(['event_seq', 'status', 'locked_until'])
    // By event id: the index every event view uses serves here too.
    .where('event_id', 'in', page.map((e) => e.id))
    .where('destination_id', '=', destinationId)
    // The pending ones, and each event's latest (the rule a retry of the failed ones reads: `latest`).
    .where((eb) => eb.or([eb('status', '=', sql.lit('pending')), latest(eb)]))
    .execute();
  const latestFailed = new Set<number>();
  const pending = new Set<number>();
  const inFlight = new Set<number>();
  for (const r of rows) {
    if (r.status === 'failed') latestFailed.add(Number(r.event_seq));
    if (r.status === 'pending') pending.add(Number(r.event_seq));
    if (r.status === 'pending' && r.locked_until !== null && Number(r.locked_until) > now) inFlight.add(Number(r.event_seq));
  }
  return {
    wanted: seqs.filter((seq) => !pending.has(seq) && (!onlyFailed || latestFailed.has(seq))),
    inFlight: onlyFailed ? [] : seqs.filter((seq) => inFlight.has(seq)),
  };
}

/**
 * Inserts a replay's page of rows but those another replay or retry of the destination queued since they were
 * chosen: the choice is made again in turn with them (`takeTurn`). Two replays at once (a double click) queued
 * every event twice. Null, inserting nothing, when the destination has been deleted meanwhile.
 * A delivery of one of these events being sent right now (`inFlight`) is marked first, as a retry marks it (`retried`,
 * one at a time: markInFlight): if that attempt fails, even the schedule's last, it stays pending and goes out
 * again (the replay is not lost). An attempt that ended meanwhile leaves its event to the choice made again
 * (queued if its delivery failed).
 */
async function insertReplayed(
  db: Kysely<Database>, destinationId: string, page: Array<{ seq: number; id: string }>, rows: DeliveriesTable[], onlyFailed: boolean,
  inFlight: ReadonlySet<number>, now: number,
): Promise<DeliveriesTable[] | null> {
  const flying = rows.filter((r) => inFlight.has(Number(r.event_seq))).map((r) => r.event_id);
  if (flying.length > 0) await markInFlight(db, now, (eb) => eb.and([eb('destination_id', '=', destinationId), eb('event_id', 'in', flying)]));
  return db.transaction().execute(async (trx) => {
    if (!(await takeTurn(trx, destinationId))) return null;
    const chosen = new Set(rows.map((r) => Number(r.event_seq)));
    const still = new Set((await notQueued(trx, destinationId, page.filter((e) => chosen.has(e.seq)), onlyFailed, now)).wanted);
    const kept = rows.filter((r) => still.has(Number(r.event_seq)));
    if (kept.length > 0) await trx.insertInto('deliveries').values(kept).execute();
    return kept;
  });
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
