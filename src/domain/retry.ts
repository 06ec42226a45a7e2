/**
 * Retry math for outbound deliveries (SPEC "Outbound webhooks"): when the next attempt is due, and how
 * far a receiver's `Retry-After` may move it. Pure: the caller passes the clock and the random source,
 * so the worker stays testable and two nodes given the same inputs agree.
 */

/**
 * The delay before the next attempt, in whole milliseconds, after `attemptsMade` attempts have failed;
 * `null` when the schedule is exhausted and the delivery is to be marked failed.
 *
 * `schedule[i]` (seconds) is the wait after the (i+1)-th failed attempt, so a schedule of 7 entries
 * allows 8 attempts in all. The delay is spread uniformly over `[d·(1−jitter), d·(1+jitter)]` so that
 * the deliveries a receiver's outage failed together do not all come back in the same second.
 *
 * @param schedule seconds, as configured (e.g. `[5, 300, 1800, 7200, 18000, 36000, 36000]`)
 * @param attemptsMade attempts already made, at least 1
 * @param jitter the relative spread, in [0, 1] (0.2 is ±20 %)
 * @param random a source of numbers in [0, 1), `Math.random` unless a test fixes it
 * @example
 * nextDelayMs([5, 300], 1, 0.2);        // between 4000 and 6000
 * nextDelayMs([5, 300], 2, 0, () => 0); // 300000
 * nextDelayMs([5, 300], 3, 0.2);        // null: give up
 */
export function nextDelayMs(
  schedule: readonly number[],
  attemptsMade: number,
  jitter: number,
  random: () => number = Math.random,
): number | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be an integer of at least 1, got ${attemptsMade}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`jitter must be within [0, 1], got ${jitter}`);
  const seconds = schedule[attemptsMade - 1];
  if (seconds === undefined) return null;
  if (!(seconds >= 0) || !Number.isFinite(seconds)) throw new RangeError(`schedule entries must be finite seconds ≥ 0, got ${seconds}`);

  // Work in whole milliseconds: the spread is rounded down, so the result is an integer that never
  // leaves the band even when d·jitter is not one.
  const base = Math.round(seconds * 1000);
  const spread = Math.floor(base * jitter);
  // min(): a random source that returns exactly 1 must not push the delay past the band.
  const offset = Math.min(Math.floor(random() * (2 * spread + 1)), 2 * spread);
  return base - spread + offset;
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const month = `(${months.join('|')})`;
const time = '(\\d{2}):(\\d{2}):(\\d{2})';
// The three forms RFC 9110 §5.6.7 obliges a recipient to accept. Date.parse is not used: it also takes
// "2024", "1/2/3" and other shapes a server never means as an HTTP-date.
const imfFixdate = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${month} (\\d{4}) ${time} GMT$`);
const rfc850Date = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${month}-(\\d{2}) ${time} GMT$`);
const asctimeDate = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${month} ([ \\d]\\d) ${time} (\\d{4})$`);

/** Milliseconds since the epoch, or null when a field is out of range (Date.UTC would roll 31 Feb over). */
function utc(year: number, monthName: string, day: number, h: number, m: number, s: number): number | null {
  const monthIndex = months.indexOf(monthName);
  const daysInMonth = new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
  // s = 60 is in the grammar (a leap second); Date folds it into the next minute, which is close enough.
  if (day < 1 || day > daysInMonth || h > 23 || m > 59 || s > 60) return null;
  return Date.UTC(year, monthIndex, day, h, m, s);
}

/** An HTTP-date in any of its three forms, as epoch milliseconds; null if it is not one. */
export function parseHttpDate(text: string, nowMs: number): number | null {
  let match = imfFixdate.exec(text);
  if (match) {
    const [, day, mon, year, h, m, s] = match;
    return utc(Number(year), mon!, Number(day), Number(h), Number(m), Number(s));
  }
  match = rfc850Date.exec(text);
  if (match) {
    const [, day, mon, yy, h, m, s] = match;
    // RFC 9110: a two-digit year more than 50 years in the future means the most recent past such year.
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = nowYear - (nowYear % 100) + Number(yy);
    if (year > nowYear + 50) year -= 100;
    return utc(year, mon!, Number(day), Number(h), Number(m), Number(s));
  }
  match = asctimeDate.exec(text);
  if (match) {
    const [, mon, day, h, m, s, year] = match;
    return utc(Number(year), mon!, Number(day!.trim()), Number(h), Number(m), Number(s));
  }
  return null;
}

/**
 * The wait a `Retry-After` header asks for, in milliseconds from `nowMs`: delta-seconds (`120`) or an
 * HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC 9110 §10.2.3). Null when the header is absent, not
 * one of those forms, or a date already past — the caller then keeps its own schedule.
 *
 * @param value the raw header as Node or undici hands it over (a repeated header: the first counts)
 * @param nowMs the current time, epoch milliseconds
 * @example
 * parseRetryAfter('120', Date.now());                                 // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27)); // 60000
 * parseRetryAfter('soon', Date.now());                                // null
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return null;
  const text = raw.trim();
  // delay-seconds = 1*DIGIT: no sign, no fraction.
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : null;
  }
  const at = parseHttpDate(text, nowMs);
  if (at === null) return null;
  const ms = at - nowMs;
  return ms >= 0 ? ms : null;
}

/**
 * The delay to use once a 429 or 503 carried `Retry-After` (SPEC: honour it "within 1× to 2× the
 * scheduled delay"). The lower bound keeps a receiver from asking to be hammered ("Retry-After: 0");
 * the upper bound keeps one from parking deliveries for days. Only the worker knows the status code,
 * so it decides whether to call this at all.
 *
 * @param scheduledMs the delay `nextDelayMs` gave
 * @param retryAfterMs what `parseRetryAfter` gave, null when there was nothing usable
 * @example
 * applyRetryAfter(5000, 60_000); // 10000: at most twice the schedule
 * applyRetryAfter(5000, 1000);   // 5000: never sooner than the schedule
 * applyRetryAfter(5000, 7000);   // 7000
 * applyRetryAfter(5000, null);   // 5000
 */
export function applyRetryAfter(scheduledMs: number, retryAfterMs: number | null): number {
  if (retryAfterMs === null) return scheduledMs;
  return Math.min(Math.max(retryAfterMs, scheduledMs), 2 * scheduledMs);
}
