import type { Destination } from '../domain/destination.js';
import { decideAfterAttempt, type DeliveryPolicy } from '../domain/delivery-decision.js';
import { envelopeType, systemTypes } from '../domain/envelope.js';
import { systemEvent } from '../ingest/system-event.js';
import type { Delivery, DeliveryAttempt, DeliveryOutcome, NewEvent, StoredEvent } from '../storage/ports.js';
import type { SendResult } from './send.js';
import { attemptError } from './sign-and-send.js';

/**
 * A claimed delivery's outcome, as the worker reports it to storage: the attempt to log, what follows it
 * (domain/delivery-decision.ts decides), and the operational events it raises (a destination disabled, a
 * delivery failed for good).
 */
/** What of a delivery, its event and its destination an outcome reads. */
export type ClaimedDelivery = Pick<Delivery, 'id' | 'destinationId' | 'attempts' | 'scheduleStart' | 'lease'>;
export type DeliveredEvent = Pick<StoredEvent, 'id' | 'sourceId' | 'callId' | 'status' | 'type'>;

export interface OutcomeContext {
  policy: DeliveryPolicy;
  /** The clock of due times and schedules. */
  now: () => number;
  random?: () => number;
}

/** After an attempt: delivered, retry later, or failed (410 Gone, failing too long, or the schedule ran out). */
export function outcomeAfterAttempt(
  d: ClaimedDelivery, event: DeliveredEvent, destination: Pick<Destination, 'id' | 'failingSince'>, result: SendResult, context: OutcomeContext,
): DeliveryOutcome {
  const { now } = context;
  const attempt = attemptOf(d, result, now());
  const decision = decideAfterAttempt(
    result,
    { attempts: d.attempts, scheduleStart: d.scheduleStart, failingSince: destination.failingSince },
    context.policy,
    { attemptedAt: attempt.attemptedAt, wallClock: Date.now(), random: context.random },
  );
  if (decision.result === 'delivered') return outcomeOf(d, 'delivered', attempt, null, null);
  if (decision.result === 'retry') return { ...outcomeOf(d, 'retry', attempt, decision.nextAttemptAt, null), raises: [] };
  const events: NewEvent[] = [];
  const disable = decision.disableDestination;
  // Raised by storage only if this outcome is what disables the destination (DeliveryOutcome.disabledEvent).
  const disabledEvent = disable === null ? undefined
    : systemEvent({ type: systemTypes.destinationDisabled, sourceId: '', callId: null, data: { destination_id: destination.id, reason: disable }, at: now() });
  events.push(systemEvent({
    type: systemTypes.deliveryFailed, sourceId: event.sourceId, callId: event.callId, at: now(),
    data: {
      delivery_id: d.id, destination_id: destination.id, event_id: event.id, event_type: envelopeType(event.status, event.type),
      attempts: d.attempts + 1, last_status: result.status, last_error: attempt.error, reason: decision.reason,
    },
  }));
  return { ...outcomeOf(d, 'failed', attempt, null, disable), raises: events, ...(disabledEvent ? { disabledEvent } : {}) };
}

/** Nothing left to send (a pruned event, a deleted destination): failed, with the reason as the attempt's error. */
export function unsendable(d: ClaimedDelivery, reason: string, at: number): DeliveryOutcome {
  return outcomeOf(d, 'failed', attemptOf(d, { ok: false, status: null, latencyMs: 0, responseBody: '', retryAfter: null, error: reason }, at), null, null);
}

/**
 * Not sent (the destination's rate limit): no attempt, due again at `at`, rounded up to a whole millisecond
 * (a rate's slots fall between them, and PostgreSQL's bigint column refused the fraction, and with it the batch).
 */
export function deferred(d: ClaimedDelivery, at: number): DeliveryOutcome {
  return outcomeOf(d, 'deferred', null, Math.ceil(at), null);
}

function attemptOf(d: ClaimedDelivery, r: SendResult, at: number): DeliveryAttempt {
  return { attempt: d.attempts + 1, attemptedAt: at, status: r.status, latencyMs: r.latencyMs, responseBody: r.responseBody || null, error: attemptError(r) };
}

function outcomeOf(d: ClaimedDelivery, result: DeliveryOutcome['result'], attempt: DeliveryAttempt | null, nextAttemptAt: number | null, disable: string | null): DeliveryOutcome {
  return { deliveryId: d.id, destinationId: d.destinationId, result, attempt, nextAttemptAt, disableDestination: disable, lease: d.lease };
}
