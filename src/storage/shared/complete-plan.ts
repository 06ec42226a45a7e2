import type { DeliveryOutcome, NewEvent } from '../ports.js';
import type { DeliveryAttemptsTable } from '../schema.js';

/**
 * What recording a batch of delivery outcomes writes, apart from the I/O (each backend runs these rows its
 * own way, in the transaction that also appends the operational events the outcomes raise).
 */
export interface DeliveryUpdate {
  id: string;
  status: 'pending' | 'delivered' | 'failed';
  /** 1 when an attempt was made (deferred deliveries were not sent). */
  attempted: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  finished_at: number | null;
}

export interface DestinationUpdate {
  id: string;
  /** A success ends the run of failures; a failure starts one if none is running (kept if one is). */
  failure: 'cleared' | 'failing' | 'unchanged';
  failingSince: number | null;
  disabledReason: string | null;
}

/**
 * The later pending events of a delivery's call at its destination wait for it (per-call order). While it
 * waits for a retry they are `push`ed back to its retry time, so that they are not due — a claim would
 * otherwise step over every one of them each time, and a destination down for hours has one per call;
 * when it finally succeeds or fails they are `pull`ed forward to go out at once. (An event queued after a
 * push is due meanwhile, and blocked as before; the next retry's push takes it along.)
 */
export interface SuccessorUpdate {
  id: string;
  kind: 'push' | 'pull';
  at: number;
}

export function completionRows(outcomes: readonly DeliveryOutcome[]) {
  const deliveries: DeliveryUpdate[] = [];
  const successors: SuccessorUpdate[] = [];
  const attempts: DeliveryAttemptsTable[] = [];
  const destinations = new Map<string, DestinationUpdate>();
  for (const o of outcomes) {
    const a = o.attempt;
    deliveries.push({
      id: o.deliveryId,
      status: o.result === 'delivered' ? 'delivered' : o.result === 'failed' ? 'failed' : 'pending',
      attempted: a ? 1 : 0,
      next_attempt_at: o.nextAttemptAt,
      last_status: a?.status ?? null,
      last_error: a?.error ?? null,
      finished_at: o.result === 'delivered' || o.result === 'failed' ? (a?.attemptedAt ?? null) : null,
    });
    if (o.result === 'retry' && o.nextAttemptAt !== null) successors.push({ id: o.deliveryId, kind: 'push', at: o.nextAttemptAt });
    // Only after earlier attempts can successors have been pushed back: a first-time success (nearly all)
    // costs no extra write.
    if ((o.result === 'delivered' || o.result === 'failed') && a && a.attempt > 1) successors.push({ id: o.deliveryId, kind: 'pull', at: a.attemptedAt });
    if (a) {
      attempts.push({
        delivery_id: o.deliveryId, attempt: a.attempt, attempted_at: a.attemptedAt, status: a.status, latency_ms: a.latencyMs,
        response_body: a.responseBody, error: a.error,
      });
    }
    const d = destinations.get(o.destinationId) ?? { id: o.destinationId, failure: 'unchanged', failingSince: null, disabledReason: null };
    // Outcomes of one batch are applied in order: the last attempt decides whether the destination is failing.
    if (a) {
      d.failure = o.result === 'delivered' ? 'cleared' : 'failing';
      d.failingSince = o.result === 'delivered' ? null : (d.failingSince ?? a.attemptedAt);
    }
    d.disabledReason = o.disableDestination ?? d.disabledReason;
    destinations.set(o.destinationId, d);
  }
  return { deliveries, attempts, successors, destinations: [...destinations.values()] };
}

/**
 * A retry asked for while an attempt is in flight leaves the delivery's schedule_start one past its attempts
 * (shared/deliveries.ts `retried`). Recording that attempt, if it did not deliver, the delivery stays pending,
 * due at the retry's time (its next_attempt_at), with a fresh run of the schedule: the retry is honoured
 * rather than lost to the outcome the worker worked out from its claim (the schedule ran out: failed). The
 * condition, over the row as it is before the update (a delivery row `d`, the update's values `t`), for
 * each backend's one update of the outcomes.
 */
export const retriedInFlight = (d: string, t: string) => `(${t}attempted = 1 and ${t}status <> 'delivered' and ${d}schedule_start > ${d}attempts)`;

/** A failed outcome recorded as pending (`retriedInFlight`) raises no `switchboard.delivery.failed`. */
export function withoutFailures(held: readonly DeliveryOutcome[], rescheduled: ReadonlySet<string>): readonly DeliveryOutcome[] {
  return rescheduled.size === 0 ? held : held.map((o) => (rescheduled.has(o.deliveryId) ? { ...o, raises: [] } : o));
}

/**
 * The operational events of a batch's recorded outcomes, in order: first `switchboard.destination.disabled`
 * for each destination in `disabled` (those this batch's write disabled; the event of its last outcome that
 * asked, whose reason is the one stored), then every outcome's own (`switchboard.delivery.failed`). A
 * destination that was disabled already, or another of its outcomes' 410, says nothing more.
 */
export function raisedEvents(held: readonly DeliveryOutcome[], disabled: ReadonlySet<string>): NewEvent[] {
  const said = new Map<string, NewEvent>();
  for (const o of held) if (o.disabledEvent && disabled.has(o.destinationId)) said.set(o.destinationId, o.disabledEvent);
  return [...said.values(), ...held.flatMap((o) => o.raises ?? [])];
}
