/**
 * Call statistics, pure: time-zone buckets and the shape of each bucket behind `GET /v1/stats`.
 *
 * Decisions (also in the route's OpenAPI description):
 * - A call's time is `started_at` when known, else `first_event_at` (the storage filters on the same).
 * - `hour` buckets are keyed by the instant the local hour starts, labelled in ISO with the zone's offset
 *   at that instant, so a fall-back day has 25 buckets (02:00+02:00 and 02:00+01:00 in Europe/Stockholm)
 *   and a spring-forward day 23. `day` buckets are the local calendar date `YYYY-MM-DD`.
 * - Quantiles interpolate linearly between the closest ranks (PostgreSQL's `percentile_cont`, SQLite's
 *   `median`/`percentile_cont`, numpy's default): the median of an even count is the mean of the two middle
 *   values. The database computes them.
 * - `answer_rate` = answered / calls (every call in the bucket, whatever its status); null for no calls.
 *   `talk_time_mean_sec` is over answered calls that have a talk duration; speed-to-lead quantiles over
 *   calls that have one.
 * - Speed-to-lead bands (the industry's 1, 5 and 15 minutes) are cumulative: `within_60` counts the calls
 *   whose speed to lead is at most a minute (speed_to_lead_sec ≤ 60), `within_300` those within 5 minutes (so it
 *   includes `within_60`), `within_900` within 15; `over_900` the calls with a longer one and `unknown` those
 *   without one, so within_900 + over_900 + unknown = calls. Switchboard sees calls only: a lead that was
 *   never called is in none of these.
 * - `weekday_hour` folds the range's local hours into 7 × 24 cells (ISO weekday 1 = Monday … 7, hour 0–23
 *   in `tz`): a call counts in the local hour it started in, a fall-back day's repeated hour adds to that
 *   hour's cell, a spring-forward day's missing hour adds nothing. The database computes each call's cell by
 *   arithmetic on its local time within each run of one UTC offset (`offsetRuns`).
 */

import type { StatsBucket } from './contract/stats.js';
import { utc } from './calendar.js';

export const statsGroupBys = ['hour', 'day', 'weekday_hour', 'widget', 'agent', 'source', 'disconnected_by'] as const;
export type StatsGroupBy = (typeof statsGroupBys)[number];

/**
 * The measures of one bucket as the database computes them: counts and talk-time sums over the calls,
 * and the speed-to-lead quantiles (SQLite's `median`/`percentile_cont`, PostgreSQL's `percentile_cont`:
 * both interpolate linearly between the closest ranks, as `quantile` below).
 */
export interface StatsAggregate {
  calls: number;
  answered: number;
  /** Talk time of answered calls that have one, and how many they are. */
  talk_sum: number;
  talk_count: number;
  speed_p50: number | null;
  speed_p90: number | null;
  /** Calls with speed_to_lead_sec ≤ 60, ≤ 300, ≤ 900 (cumulative) and > 900. */
  within_60: number;
  within_300: number;
  within_900: number;
  over_900: number;
}

/** One hour or day of a stats answer: its label and the instants it covers, [from, to). */
export interface StatsRange {
  key: string;
  from: number;
  to: number;
}

/** One bucket of the answer, as domain/contract/stats.ts writes it. */
export type { StatsBucket };

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A cached formatter giving the wall-clock parts in `tz`; throws RangeError for an unknown zone. */
function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    if (formatters.size > 1000) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/** True when `tz` is an IANA zone (or alias) this runtime knows. */
export function isTimeZone(tz: string): boolean {
  if (tz.length === 0 || tz.length > 64) return false;
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
}

export interface WallTime { year: number; month: number; day: number; hour: number; minute: number; second: number }

/** The wall-clock time in `tz` at instant `ms` (whole seconds). */
export function wallTime(ms: number, tz: string): WallTime {
  const parts = formatterFor(tz).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The zone's offset from UTC at instant `ms`, in minutes (east positive). */
export function offsetMinutes(ms: number, tz: string): number {
  const w = wallTime(ms, tz);
  const asUtc = utc(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - (ms - mod(ms, 1000))) / 60_000);
}

/** The instant of local midnight starting `date` (`YYYY-MM-DD`) in `tz` (the first instant of that date). */
export function localMidnight(date: string, tz: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const naive = utc(y, m - 1, d);
  let guess = naive - offsetMinutes(naive, tz) * 60_000;
  guess = naive - offsetMinutes(guess, tz) * 60_000;
  // Where midnight does not exist (a DST change at 00:00), the day starts at the first instant after.
  const w = wallTime(guess, tz);
  if (utc(w.year, w.month - 1, w.day) < naive) guess += 3_600_000 - (w.minute * 60 + w.second) * 1000;
  return guess;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function isoDate(w: WallTime): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** `ms` in ISO 8601 local time with the zone's offset, e.g. 2026-10-25T02:00:00+01:00. */
export function isoWithOffset(ms: number, tz: string): string {
  return isoLocal(wallTime(ms, tz), offsetMinutes(ms, tz));
}

function isoLocal(w: WallTime, off: number): string {
  return `${isoDate(w)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${offsetText(off)}`;
}

/** `+01:00`, `-03:30`, `+05:45`. */
function offsetText(off: number): string {
  const abs = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** The instant the local hour containing `ms` began in `tz`. */
export function hourStart(ms: number, tz: string): number {
  const w = wallTime(ms, tz);
  return ms - mod(ms, 1000) - (w.minute * 60 + w.second) * 1000;
}

/** Linear interpolation between closest ranks over ascending `sorted` (p in [0, 1]); null when empty. */
export function quantile(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const pos = p * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * The hours or days of [from, to) in `tz`, in order, each clipped to the range: a fall-back day has 25
 * hours (02:00+02:00 and 02:00+01:00 in Europe/Stockholm), a spring-forward day 23; a day runs from one
 * local midnight to the next. The database aggregates each range (storage/shared/stats.ts).
 */
export function timeRanges(groupBy: 'hour' | 'day', tz: string, from: number, to: number): StatsRange[] {
  const ranges: StatsRange[] = [];
  if (to <= from) return ranges;
  if (groupBy === 'hour') {
    for (let cur = hourStart(from, tz); cur < to; ) {
      // Where the offset a day ahead is the one now, the next 24 hours are plain arithmetic: zones change
      // their offset a few times a year, never twice within a day. The formatter costs microseconds a call,
      // and 13 months of hours made 30,000 calls (a quarter of a second of the event loop).
      const off = offsetMinutes(cur, tz);
      if (offsetMinutes(cur + 86_400_000, tz) === off) {
        // The wall time is the instant shifted by the offset, read as UTC (years 0000–9999: four digits).
        const shift = off * 60_000;
        const suffix = offsetText(off);
        for (let k = 0; k < 24 && cur < to; k++, cur += 3_600_000) {
          const key = new Date(cur + shift).toISOString().slice(0, 19) + suffix;
          ranges.push({ key, from: Math.max(cur, from), to: Math.min(cur + 3_600_000, to) });
        }
        continue;
      }
      // One hour on, then back to that local hour's start (whole-hour zones: exactly one hour on).
      const after = hourStart(cur + 3_600_000, tz);
      const next = after > cur ? after : cur + 3_600_000;
      ranges.push({ key: isoWithOffset(cur, tz), from: Math.max(cur, from), to: Math.min(next, to) });
      cur = next;
    }
    return ranges;
  }
  const first = wallTime(from, tz);
  const last = wallTime(to - 1, tz);
  const end = utc(last.year, last.month - 1, last.day);
  for (let d = utc(first.year, first.month - 1, first.day); d <= end; d += 86_400_000) {
    const date = new Date(d).toISOString().slice(0, 10);
    const next = new Date(d + 86_400_000).toISOString().slice(0, 10);
    ranges.push({ key: date, from: Math.max(localMidnight(date, tz), from), to: Math.min(localMidnight(next, tz), to) });
  }
  return ranges;
}

/** Hours computed per turn of the event loop (a month of them costs ~1 ms), and buckets written per turn. */
const sliceMs = 31 * 86_400_000;
const sliceBuckets = 1000;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `timeRanges` over [from, to), a month at a time with the event loop free in between (13 months of hours
 * are 9,500 ranges). Hours cut at a local hour's start join exactly: the slice before ends with the hour
 * that ends there, the next begins with it.
 */
export async function timeRangesInSlices(groupBy: 'hour' | 'day', tz: string, from: number, to: number): Promise<StatsRange[]> {
  if (groupBy === 'day') return timeRanges(groupBy, tz, from, to);
  const ranges: StatsRange[] = [];
  for (let start = from; start < to; ) {
    const cut = start + sliceMs < to ? hourStart(start + sliceMs, tz) : to;
    const end = cut > start ? cut : to;
    if (start > from) await nextTurn();
    for (const range of timeRanges(groupBy, tz, start, end)) ranges.push(range);
    start = end;
  }
  return ranges;
}

/**
 * The answer's buckets of `ranges` (their aggregates alike indexed) as JSON, the `buckets` array without its
 * brackets: the same text the route's schema would write, a thousand buckets per turn of the event loop (a
 * megabyte of it in one piece was ~40 ms of a stalled loop).
 */
export async function timeBucketsJson(ranges: readonly StatsRange[], aggregates: readonly StatsAggregate[]): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < ranges.length; i += sliceBuckets) {
    if (i > 0) await nextTurn();
    parts.push(ranges.slice(i, i + sliceBuckets).map((r, k) => JSON.stringify(toBucket(r.key, aggregates[i + k]!))).join(','));
  }
  return parts.join(',');
}

/**
 * The ranges as runs of equal, contiguous ranges: range `first + k` of a run is [start + k·length, start +
 * (k+1)·length). Hours over 13 months are a handful of runs (the clipped first and last hour, the rest), days
 * one run between DST changes, so the database can tell every call's range with a short CASE of arithmetic
 * (storage/shared/stats.ts) and aggregate them all in one statement.
 */
export interface RangeRun {
  first: number;
  count: number;
  start: number;
  length: number;
}

export function rangeRuns(ranges: readonly StatsRange[]): RangeRun[] {
  const runs: RangeRun[] = [];
  ranges.forEach((r, i) => {
    const run = runs.at(-1);
    if (run && r.to - r.from === run.length && r.from === run.start + run.count * run.length) run.count++;
    else runs.push({ first: i, count: 1, start: r.from, length: r.to - r.from });
  });
  return runs;
}

/** Hours in a week, and the hours from Monday 00:00 to Thursday 1970-01-01 00:00 (the epoch's weekday). */
export const weekHours = 168;
export const epochHourOfWeek = 72;

/**
 * A stretch of [from, to) in which `tz` keeps one UTC offset: a call at instant t in it is at local hour of
 * the week ⌊(t + offset) / 1 h⌋ + 72 (mod 168), Monday 00:00 being 0. From the hours of `timeRanges` (their
 * keys carry the offset), so a range over 13 months is a few runs.
 */
export interface OffsetRun {
  start: number;
  end: number;
  offsetMs: number;
}

export function offsetRuns(hours: readonly StatsRange[]): OffsetRun[] {
  const runs: OffsetRun[] = [];
  for (const h of hours) {
    const m = /([+-])(\d{2}):(\d{2})$/.exec(h.key)!;
    const offsetMs = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
    const run = runs.at(-1);
    if (run && run.offsetMs === offsetMs && run.end === h.from) run.end = h.to;
    else runs.push({ start: h.from, end: h.to, offsetMs });
  }
  return runs;
}

/** The local hour of the week (Monday 00:00 = 0 … Sunday 23:00 = 167) of instant `ms` at `offsetMs`. */
export function hourOfWeek(ms: number, offsetMs: number): number {
  return mod(Math.floor((ms + offsetMs) / 3_600_000) + epochHourOfWeek, weekHours);
}

/** `1T09`: ISO weekday (1 = Monday) and local hour of the hour of the week. */
export function weekHourKey(cell: number): { key: string; weekday: number; hour: number } {
  const weekday = Math.floor(cell / 24) + 1;
  const hour = cell % 24;
  return { key: `${weekday}T${pad(hour)}`, weekday, hour };
}

/**
 * How many local hours of each cell [from, to) holds up to `now` (hours that have begun): 0 for a cell the
 * range never reaches (a day's range has one weekday), so a page can tell "no calls" from "not in range".
 */
export function cellHours(hours: readonly StatsRange[], runs: readonly OffsetRun[], now: number): number[] {
  const counts = new Array<number>(weekHours).fill(0);
  let r = 0;
  for (const h of hours) {
    if (h.from >= now) break;
    while (runs[r]!.end <= h.from) r++;
    counts[hourOfWeek(h.from, runs[r]!.offsetMs)]!++;
  }
  return counts;
}

/** A bucket of the answer from its aggregate (`name` only for the groups by id). */
export function toBucket(key: string | null, a: StatsAggregate, name?: string | null, extra?: { weekday: number; hour: number; hours: number }): StatsBucket {
  return {
    key,
    ...(name === undefined ? {} : { name }),
    ...extra,
    calls: a.calls,
    answered: a.answered,
    answer_rate: a.calls === 0 ? null : a.answered / a.calls,
    speed_to_lead_median_sec: a.speed_p50,
    speed_to_lead_p90_sec: a.speed_p90,
    talk_time_mean_sec: a.talk_count === 0 ? null : a.talk_sum / a.talk_count,
    speed_to_lead_within_60_sec: a.within_60,
    speed_to_lead_within_300_sec: a.within_300,
    speed_to_lead_within_900_sec: a.within_900,
    speed_to_lead_over_900_sec: a.over_900,
    speed_to_lead_unknown: a.calls - a.within_900 - a.over_900,
  };
}
