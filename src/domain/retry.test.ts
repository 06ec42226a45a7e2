import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRetryAfter, nextDelayMs, parseRetryAfter } from './retry.js';

const schedule = [5, 300, 1800, 7200, 18000, 36000, 36000] as const;

describe('nextDelayMs', () => {
  it('waits schedule[0] after the first failed attempt and schedule[i] after the (i+1)-th', () => {
    const noJitter = (n: number) => nextDelayMs(schedule, n, 0);
    expect([1, 2, 3, 4, 5, 6, 7].map(noJitter)).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });

  it('gives up (null) once every delay of the schedule has been used', () => {
    expect(nextDelayMs(schedule, 8, 0.2)).toBeNull();
    expect(nextDelayMs(schedule, 100, 0.2)).toBeNull();
    expect(nextDelayMs([], 1, 0.2)).toBeNull();
  });

  it('spreads ±20 % around the scheduled delay, reaching both ends of the band', () => {
    expect(nextDelayMs(schedule, 1, 0.2, () => 0)).toBe(4_000);
    expect(nextDelayMs(schedule, 1, 0.2, () => 0.999_999_999)).toBe(6_000);
    expect(nextDelayMs(schedule, 1, 0.2, () => 0.5)).toBe(5_000);
  });

  it('stays inside the band even when the random source misbehaves and returns 1', () => {
    expect(nextDelayMs(schedule, 1, 0.2, () => 1)).toBe(6_000);
  });

  it('refuses an attempt count below 1 or not whole, and a jitter outside [0, 1]', () => {
    expect(() => nextDelayMs(schedule, 0, 0.2)).toThrow(RangeError);
    expect(() => nextDelayMs(schedule, 1.5, 0.2)).toThrow(RangeError);
    expect(() => nextDelayMs(schedule, 1, -0.1)).toThrow(RangeError);
    expect(() => nextDelayMs(schedule, 1, 1.5)).toThrow(RangeError);
    expect(() => nextDelayMs([Number.NaN], 1, 0.2)).toThrow(RangeError);
  });

  it('property: always a whole number of ms within [d·(1−j), d·(1+j)], or null past the schedule', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10 * 86_400 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (sched, attempts, jitter, r) => {
          const delay = nextDelayMs(sched, attempts, jitter, () => r);
          if (attempts > sched.length) return delay === null;
          const d = sched[attempts - 1]! * 1000;
          return delay !== null && Number.isInteger(delay) && delay >= d * (1 - jitter) && delay <= d * (1 + jitter);
        },
      ),
    );
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2015, 9, 21, 7, 27, 0); // Wed, 21 Oct 2015 07:27:00 GMT

  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 30 ', now)).toBe(30_000);
  });

  it('reads an IMF-fixdate as the time left until it', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(60_000);
  });

  it('reads the obsolete RFC 850 and asctime forms, which RFC 9110 obliges recipients to accept', () => {
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed Oct 21 07:28:00 2015', now)).toBe(60_000);
    expect(parseRetryAfter('Sun Nov  1 07:27:00 2015', now)).toBe(11 * 86_400_000);
  });

  it('takes the first value of a repeated header', () => {
    expect(parseRetryAfter(['5', '600'], now)).toBe(5_000);
  });

  it('returns null for an absent, empty or malformed header', () => {
    for (const value of [undefined, [], '', 'soon', '1.5', '+5', '2015-10-21T07:28:00Z', '21 Oct 2015 07:28:00 GMT',
      'Wed, 21 Oct 2015 07:28:00 UTC', 'Wed, 31 Feb 2015 07:28:00 GMT', 'Wed, 21 Oct 2015 24:00:00 GMT']) {
      expect(parseRetryAfter(value, now), JSON.stringify(value)).toBeNull();
    }
  });

  it('returns null for a negative delay or a date already past', () => {
    expect(parseRetryAfter('-5', now)).toBeNull();
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:26:59 GMT', now)).toBeNull();
  });

  it('property: any non-negative whole number of seconds comes back ×1000', () => {
    fc.assert(fc.property(fc.nat(), (n) => parseRetryAfter(String(n), now) === n * 1000));
  });

  it('property: any future instant written with toUTCString comes back as the exact distance to it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400 }), (seconds) => {
        const header = new Date(now + seconds * 1000).toUTCString();
        return parseRetryAfter(header, now) === seconds * 1000;
      }),
    );
  });

  it('property: never throws and never returns a negative number, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ms = parseRetryAfter(text, now);
        return ms === null || ms >= 0;
      }),
    );
  });
});

describe('applyRetryAfter', () => {
  it('keeps the schedule when there is no usable Retry-After', () => {
    expect(applyRetryAfter(5_000, null)).toBe(5_000);
  });

  it('honours a Retry-After between 1× and 2× the scheduled delay as given', () => {
    expect(applyRetryAfter(5_000, 7_000)).toBe(7_000);
  });

  it('never retries sooner than the schedule, nor later than twice it', () => {
    expect(applyRetryAfter(5_000, 0)).toBe(5_000);
    expect(applyRetryAfter(5_000, 3_600_000)).toBe(10_000);
  });

  it('property: the result lies in [scheduled, 2 × scheduled]', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1e9 }), fc.option(fc.nat({ max: 1e10 })), (scheduled, retryAfter) => {
        const delay = applyRetryAfter(scheduled, retryAfter);
        return delay >= scheduled && delay <= 2 * scheduled;
      }),
    );
  });
});
