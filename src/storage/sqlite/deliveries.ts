import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { DeliveryId } from '../../domain/ids.js';
import type { ClaimShare, CompleteResult, Delivery, DeliveryOutcome } from '../ports.js';
import type { DeliveriesTable } from '../schema.js';
import { fairCut, roomOf, type ClaimCandidate } from '../shared/claim-plan.js';
import { completionRows, raisedEvents, retriedInFlight, withoutFailures } from '../shared/complete-plan.js';
import { rowToDelivery } from '../shared/destination-rows.js';
import type { SqliteAppend, SqliteAppendResult } from './append.js';

/**
 * The delivery worker's writes on SQLite (the claim and the outcomes), synchronous transactions over
 * statements prepared once, on the writer thread beside the append. The outcomes' operational events go
 * through `append`, inside the same transaction (better-sqlite3 nests it as a savepoint).
 */
export interface SqliteDeliveryWrites {
  claim(now: number, limit: number, leaseMs: number, share?: ClaimShare): Delivery[];
  /** The raised events' results as the append gives them (writer-worker.ts leaves their records out). */
  complete(outcomes: readonly DeliveryOutcome[], now: number): SqliteCompleteResult;
}

type SqliteCompleteResult = Omit<CompleteResult, 'appended'> & { appended: SqliteAppendResult[] };

export function createSqliteDeliveryWrites(db: SqliteDatabase, append: SqliteAppend): SqliteDeliveryWrites {
  // One destination's due deliveries, leased by no one (or by a worker whose lease ran out), and no earlier
  // event of the same call still pending at that destination (per-call order), oldest first: a walk down
  // deliveries_destination_due that stops at the destination's room (shared/claim-plan.ts shares them out).
  const claimable = db.prepare<[], { id: string; max_concurrency: number | null }>(
    'select id, max_concurrency from destinations where disabled_at is null and paused_at is null and deleted_at is null',
  );
  const dueOf = db.prepare<{ destination: string; now: number; room: number }, ClaimCandidate>(`
    select d.id, d.next_attempt_at, d.event_seq from deliveries d
    where d.destination_id = @destination and d.status = 'pending' and d.next_attempt_at <= @now
      and (d.locked_until is null or d.locked_until <= @now)
      and not exists (
        select 1 from deliveries p
        where p.destination_id = d.destination_id and p.order_key = d.order_key and p.status = 'pending' and p.event_seq < d.event_seq)
    order by d.next_attempt_at, d.event_seq
    limit @room`);
  // A retry asked for during an earlier claim's attempt left schedule_start past the attempts (its outcome never
  // came: the lease ran out, or it was deferred): this attempt begins that fresh run.
  const lease = db.prepare<{ id: string; now: number; lockedUntil: number }, DeliveriesTable>(
    'update deliveries set locked_until = @lockedUntil, updated_at = @now, schedule_start = min(schedule_start, attempts) where id = @id returning *',
  );
  const claim = db.transaction((now: number, limit: number, leaseMs: number, share?: ClaimShare): Delivery[] => {
    const offers = claimable.all().map((destination) => {
      const room = roomOf(share, destination, limit);
      return room > 0 ? dueOf.all({ destination: destination.id, now, room }) : [];
    });
    return fairCut(offers, limit)
      .map((c) => rowToDelivery(lease.get({ id: c.id, now, lockedUntil: now + leaseMs })!))
      .sort((a, b) => a.eventSeq - b.eventSeq);
  });

  const retried = retriedInFlight('', '@');
  const updateDelivery = db.prepare<Record<string, unknown>, { status: string }>(`
    update deliveries set status = case when ${retried} then 'pending' else @status end, attempts = attempts + @attempted,
      next_attempt_at = case when ${retried} then next_attempt_at else coalesce(@next_attempt_at, next_attempt_at) end, locked_until = null,
      last_status = case when @attempted = 1 then @last_status else last_status end,
      last_error = case when @attempted = 1 then @last_error else last_error end,
      finished_at = case when ${retried} then null else @finished_at end, updated_at = @now
    where id = @id and status = 'pending' and locked_until = @lease
    returning status`);
  // The fence: an outcome counts only while its delivery is pending under the lease it was claimed with.
  const holdsLease = db.prepare<[string, number], { id: string }>(`select id from deliveries where id = ? and status = 'pending' and locked_until = ?`);
  const insertAttempt = db.prepare(`insert or ignore into delivery_attempts (delivery_id, attempt, attempted_at, status, latency_ms, response_body, error)
    values (@delivery_id, @attempt, @attempted_at, @status, @latency_ms, @response_body, @error)`);
  // Only when set: a success is the common case, and rewriting the row for nothing costs a page each batch.
  const clearFailing = db.prepare('update destinations set failing_since = null where id = ? and failing_since is not null');
  const markFailing = db.prepare('update destinations set failing_since = ? where id = ? and failing_since is null');
  const disable = db.prepare('update destinations set disabled_at = ?, disabled_reason = ?, updated_at = ? where id = ? and disabled_at is null');

  // Never-tried successors only when pulling: one that has been tried keeps its own retry schedule.
  const moveSuccessors = db.prepare(`
    update deliveries set next_attempt_at = @at
    where status = 'pending' and (destination_id, order_key) = (select destination_id, order_key from deliveries where id = @id)
      and event_seq > (select event_seq from deliveries where id = @id)
      and case when @kind = 'push' then next_attempt_at < @at else attempts = 0 and next_attempt_at > @at end`);

  const complete = db.transaction((outcomes: readonly DeliveryOutcome[], now: number): SqliteCompleteResult => {
    const stale: DeliveryId[] = [];
    const held = outcomes.filter((o) => {
      const holds = o.lease !== null && holdsLease.get(o.deliveryId, o.lease) !== undefined;
      if (!holds) stale.push(o.deliveryId);
      return holds;
    });
    const leases = new Map(held.map((o) => [o.deliveryId as string, o.lease]));
    const rows = completionRows(held);
    for (const a of rows.attempts) insertAttempt.run(a);
    const rescheduled = new Set<string>();
    for (const d of rows.deliveries) {
      const row = updateDelivery.get({ ...d, now, lease: leases.get(d.id) });
      if (row && row.status !== d.status) rescheduled.add(d.id);
    }
    for (const m of rows.successors) moveSuccessors.run(m);
    const disabled = new Set<string>();
    for (const d of rows.destinations) {
      if (d.failure === 'cleared') clearFailing.run(d.id);
      if (d.failure === 'failing') markFailing.run(d.failingSince, d.id);
      if (d.disabledReason && disable.run(now, d.disabledReason, now, d.id).changes > 0) disabled.add(d.id);
    }
    const events = raisedEvents(withoutFailures(held, rescheduled), disabled);
    return { stale, appended: events.length > 0 ? append(events) : [], ...(rescheduled.size > 0 ? { rescheduled: [...rescheduled] as DeliveryId[] } : {}) };
  });

  // BEGIN IMMEDIATE for the reason sqlite/append.ts gives.
  return { claim: claim.immediate, complete: complete.immediate };
}
