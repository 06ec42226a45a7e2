import { applyRetryAfter, nextDelayMs, parseRetryAfter } from './retry.js';

/**
 * What happens to a delivery after an attempt (SPEC "Outbound webhooks"): delivered, tried again later, or
 * failed, and whether its destination is disabled with it. Pure: the worker passes the attempt's result,
 * the delivery's and the destination's state, the policy from config, the clocks and the random source.
 */

/** The attempt's result, as the sender reported it. */
export interface AttemptResult {
  /** A 2xx answer arrived in time. */
  ok: boolean;
  /** The receiver's status; null when no answer came (timeout, refused, reset, SSRF refusal). */
  status: number | null;
  /** The raw Retry-After header of the answer. */
  retryAfter: string | null;
}

export interface DeliveryState {
  /** Attempts made before this one. */
  attempts: number;
  /** Attempts made before the current run of the retry schedule began (a manual retry starts a new run). */
  scheduleStart: number;
  /** Since when the destination's attempts have been failing, without a success between (null: not failing). */
  failingSince: number | null;
}

export interface DeliveryPolicy {
  /** Seconds to wait after each failed attempt of a run; past its end the delivery fails. */
  retryScheduleSec: readonly number[];
  retryJitter: number;
  /** A destination whose attempts have failed for this long, without a success, is disabled. */
  disableAfterFailingHours: number;
}

export type DeliveryDecision =
  | { result: 'delivered' }
  | { result: 'retry'; nextAttemptAt: number }
  /** `disableDestination`: the destination is disabled with this reason too (410 Gone, failing too long). */
  | { result: 'failed'; reason: string; disableDestination: string | null };

export interface DecisionClock {
  /** When the attempt ended, on the clock of due times: the next attempt is due from here. */
  attemptedAt: number;
  /** The real time, against which an HTTP-date in Retry-After is read (the receiver's clock is real). */
  wallClock: number;
  random?: () => number;
}

const hour = 3_600_000;
/** Statuses whose Retry-After is honoured (within 1× to 2× the scheduled delay, retry.ts). */
const honoursRetryAfter = new Set([429, 503]);

/**
 * The decision after one attempt. A 2xx is delivered. A 410 Gone, or a failure while the destination has been
 * failing for `disableAfterFailingHours`, fails the delivery and disables the destination. Otherwise the
 * schedule gives the next attempt's time (429 and 503 may stretch it with Retry-After), or fails the delivery
 * once it has run out.
 *
 * @example
 * const policy = { retryScheduleSec: [5, 300], retryJitter: 0, disableAfterFailingHours: 120 };
 * decideAfterAttempt({ ok: false, status: 500, retryAfter: null }, { attempts: 0, scheduleStart: 0, failingSince: null }, policy, { attemptedAt: 0, wallClock: 0 });
 * // { result: 'retry', nextAttemptAt: 5000 }
 * decideAfterAttempt({ ok: false, status: 410, retryAfter: null }, { attempts: 0, scheduleStart: 0, failingSince: null }, policy, { attemptedAt: 0, wallClock: 0 });
 * // { result: 'failed', reason: 'the destination answered 410 Gone', disableDestination: 'the destination answered 410 Gone' }
 */
export function decideAfterAttempt(attempt: AttemptResult, state: DeliveryState, policy: DeliveryPolicy, clock: DecisionClock): DeliveryDecision {
  if (attempt.ok) return { result: 'delivered' };
  const at = clock.attemptedAt;
  const failingFor = at - (state.failingSince ?? at);
  const disable =
    attempt.status === 410 ? 'the destination answered 410 Gone'
    : failingFor >= policy.disableAfterFailingHours * hour ? `failing continuously for ${policy.disableAfterFailingHours} hours`
    : null;
  if (disable !== null) return { result: 'failed', reason: disable, disableDestination: disable };
  const scheduled = nextDelayMs(policy.retryScheduleSec, state.attempts - state.scheduleStart + 1, policy.retryJitter, clock.random);
  if (scheduled === null) return { result: 'failed', reason: 'the retry schedule ran out', disableDestination: null };
  const delay = attempt.status !== null && honoursRetryAfter.has(attempt.status)
    ? applyRetryAfter(scheduled, parseRetryAfter(attempt.retryAfter ?? undefined, clock.wallClock))
    : scheduled;
  return { result: 'retry', nextAttemptAt: at + delay };
}
