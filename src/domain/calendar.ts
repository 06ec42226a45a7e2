/**
 * The proleptic Gregorian calendar in UTC, for every year 0001–9999: what `Date.UTC` gets wrong for the years
 * 0–99 (it reads them as 1900–1999) and what it rolls over instead of refusing (a 30 February).
 */

/** 400 Gregorian years, in ms: the calendar repeats after them exactly (146,097 days). */
const fourCenturiesMs = 146_097 * 86_400_000;

/**
 * `Date.UTC` for every year: the date is taken 400 years later (the same weekdays and leap days) and the 400
 * years are taken off again.
 *
 * @example
 * utc(50, 5, 1); // 1 June of the year 50, not of 1950
 */
export function utc(year: number, monthIndex: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  return Date.UTC(year + 400, monthIndex, day, hour, minute, second, ms) - fourCenturiesMs;
}

/**
 * The days of `month` (1–12) in `year`.
 *
 * @example
 * daysInMonth(2024, 2); // 29
 */
export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** `YYYY-MM-DD` of a time, in UTC (Convolo's call list takes whole days; the dashboard's dates are such days). */
export const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10);

/**
 * Whether `value` is a day the calendar has, written `YYYY-MM-DD`: Date.parse rolls one it lacks over to a
 * later one (2026-02-30 to March 2), so the day must come back as itself.
 *
 * @example
 * isUtcDay('2024-02-29'); // true
 * isUtcDay('2026-02-30'); // false
 */
export function isUtcDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const at = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(at) && utcDay(at) === value;
}
