import { describe, expect, it } from 'vitest';
import { decideAfterAttempt, type AttemptResult, type DeliveryDecision, type DeliveryPolicy, type DeliveryState } from './delivery-decision.js';

const hour = 3_600_000;
const policy: DeliveryPolicy = { retryScheduleSec: [5, 300, 1800], retryJitter: 0, disableAfterFailingHours: 120 };
/** The attempt ended at this time on the due-time clock; the real clock is elsewhere (a test's fake clock). */
const at = 1_000 * hour;
const wallClock = Date.UTC(2025, 0, 1, 12, 0, 0);

const first: DeliveryState = { attempts: 0, scheduleStart: 0, failingSince: null };
const answered = (status: number, retryAfter: string | null = null): AttemptResult => ({ ok: status >= 200 && status < 300, status, retryAfter });
const noAnswer: AttemptResult = { ok: false, status: null, retryAfter: null };
const retryIn = (ms: number): DeliveryDecision => ({ result: 'retry', nextAttemptAt: at + ms });
const exhausted: DeliveryDecision = { result: 'failed', reason: 'the retry schedule ran out', disableDestination: null };
const gone = 'the destination answered 410 Gone';
const failingTooLong = 'failing continuously for 120 hours';
const disabled = (reason: string): DeliveryDecision => ({ result: 'failed', reason, disableDestination: reason });

const cases: [string, AttemptResult, DeliveryState, DeliveryDecision][] = [
  // Delivered
  ['a 200 is delivered', answered(200), first, { result: 'delivered' }],
  ['a 204 is delivered', answered(204), first, { result: 'delivered' }],
  ['a 2xx is delivered even after the destination has failed past the disable limit', answered(200), { attempts: 3, scheduleStart: 0, failingSince: at - 500 * hour }, { result: 'delivered' }],
  ['a 2xx is delivered even when the schedule has run out', answered(202), { attempts: 9, scheduleStart: 0, failingSince: at - hour }, { result: 'delivered' }],
  // Retried on the schedule
  ['a 3xx (redirects are not followed) is retried on the schedule', answered(302), first, retryIn(5_000)],
  ['a 400 is retried on the schedule', answered(400), first, retryIn(5_000)],
  ['a 404 is retried on the schedule', answered(404), first, retryIn(5_000)],
  ['a 500 is retried on the schedule', answered(500), first, retryIn(5_000)],
  ['no answer (timeout, refused, reset) is retried on the schedule', noAnswer, first, retryIn(5_000)],
  ['the second failure waits the second entry', answered(500), { attempts: 1, scheduleStart: 0, failingSince: at - 5_000 }, retryIn(300_000)],
  ['the last entry of the schedule is still a retry', answered(500), { attempts: 2, scheduleStart: 0, failingSince: at - hour }, retryIn(1_800_000)],
  ['a manual retry starts the schedule again from its first entry', answered(500), { attempts: 5, scheduleStart: 5, failingSince: at - hour }, retryIn(5_000)],
  ['the run of a manual retry counts from its start', answered(500), { attempts: 6, scheduleStart: 5, failingSince: at - hour }, retryIn(300_000)],
  // Retry-After
  ['a 429 without Retry-After keeps the schedule', answered(429), first, retryIn(5_000)],
  ['a 429 with Retry-After in seconds between 1× and 2× the schedule is honoured', answered(429, '7'), first, retryIn(7_000)],
  ['a 503 with Retry-After is honoured as a 429 is', answered(503, '8'), first, retryIn(8_000)],
  ['a 503 without Retry-After keeps the schedule', answered(503), first, retryIn(5_000)],
  ['a Retry-After beyond twice the schedule is capped at twice', answered(429, '3600'), first, retryIn(10_000)],
  ['a Retry-After shorter than the schedule does not bring the retry forward', answered(429, '0'), first, retryIn(5_000)],
  ['a Retry-After as an HTTP-date is read against the real clock', answered(503, 'Wed, 01 Jan 2025 12:00:09 GMT'), first, retryIn(9_000)],
  ['a Retry-After date already past keeps the schedule', answered(429, 'Wed, 01 Jan 2025 11:00:00 GMT'), first, retryIn(5_000)],
  ['a Retry-After that is neither seconds nor a date keeps the schedule', answered(429, 'soon'), first, retryIn(5_000)],
  ['a Retry-After on a 500 is ignored', answered(500, '9'), first, retryIn(5_000)],
  ['a Retry-After on a 3xx is ignored', answered(301, '9'), first, retryIn(5_000)],
  ['a Retry-After on a later attempt is bounded by that attempt\'s entry', answered(429, '3600'), { attempts: 1, scheduleStart: 0, failingSince: at - 5_000 }, retryIn(600_000)],
  // Schedule exhausted
  ['a failure after the last entry fails the delivery', answered(500), { attempts: 3, scheduleStart: 0, failingSince: at - hour }, exhausted],
  ['no answer after the last entry fails the delivery', noAnswer, { attempts: 3, scheduleStart: 0, failingSince: at - hour }, exhausted],
  ['a Retry-After does not extend an exhausted schedule', answered(429, '5'), { attempts: 3, scheduleStart: 0, failingSince: at - hour }, exhausted],
  // 410 Gone: the delivery fails and the destination is disabled
  ['a 410 disables the destination on the first attempt', answered(410), first, disabled(gone)],
  ['a 410 with Retry-After still disables', answered(410, '5'), first, disabled(gone)],
  ['a 410 after the schedule ran out disables (and says 410)', answered(410), { attempts: 3, scheduleStart: 0, failingSince: at - hour }, disabled(gone)],
  ['a 410 after failing past the limit says 410', answered(410), { attempts: 1, scheduleStart: 0, failingSince: at - 200 * hour }, disabled(gone)],
  // Failing for disableAfterFailingHours
  ['a failure just under the limit is retried', answered(500), { attempts: 1, scheduleStart: 0, failingSince: at - 120 * hour + 1 }, retryIn(300_000)],
  ['a failure exactly at the limit disables the destination', answered(500), { attempts: 1, scheduleStart: 0, failingSince: at - 120 * hour }, disabled(failingTooLong)],
  ['no answer past the limit disables the destination', noAnswer, { attempts: 1, scheduleStart: 0, failingSince: at - 121 * hour }, disabled(failingTooLong)],
  ['a 429 past the limit disables, whatever Retry-After says', answered(429, '5'), { attempts: 1, scheduleStart: 0, failingSince: at - 121 * hour }, disabled(failingTooLong)],
  ['past the limit with the schedule also run out, the limit is the reason', answered(500), { attempts: 3, scheduleStart: 0, failingSince: at - 121 * hour }, disabled(failingTooLong)],
  ['a destination not failing before this attempt is not disabled', answered(500), { attempts: 0, scheduleStart: 0, failingSince: null }, retryIn(5_000)],
];

describe('decideAfterAttempt', () => {
  it.each(cases)('%s', (_name, attempt, state, expected) => {
    expect(decideAfterAttempt(attempt, state, policy, { attemptedAt: at, wallClock })).toEqual(expected);
  });

  it('spreads the scheduled delay by the jitter, with the random source given', () => {
    const jittered = { ...policy, retryJitter: 0.2 };
    const decide = (random: () => number) => decideAfterAttempt(answered(500), first, jittered, { attemptedAt: at, wallClock, random });
    expect(decide(() => 0)).toEqual(retryIn(4_000));
    expect(decide(() => 0.999_999)).toEqual(retryIn(6_000));
  });

  it('bounds an honoured Retry-After by the jittered delay, not the schedule entry', () => {
    const jittered = { ...policy, retryJitter: 0.2 };
    // The jittered delay is 4 s: Retry-After 60 s is capped at 8 s, not 10 s.
    expect(decideAfterAttempt(answered(429, '60'), first, jittered, { attemptedAt: at, wallClock, random: () => 0 })).toEqual(retryIn(8_000));
  });
});
