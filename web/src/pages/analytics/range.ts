import { addDays, dateIn, isDate, midnightIn } from '../../lib/zone.js';

/** The ranges the picker offers, as `?range=` says them; `custom` reads `from` and `to` (dates, `to` inclusive). */
export const presets = [
  ['today', 'Today'],
  ['yesterday', 'Yesterday'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['90d', 'Last 90 days'],
  ['custom', 'Custom'],
] as const;
export type Preset = (typeof presets)[number][0];

export interface Range {
  preset: Preset;
  /** First day and last day (inclusive), YYYY-MM-DD in the zone. */
  first: string;
  last: string;
  /** What `/v1/stats` is asked: dates, `to` exclusive (local midnights in `tz`). */
  from: string;
  to: string;
  /** Hours for ranges of at most 2 days, else days. */
  bucket: 'hour' | 'day';
  /** A problem with a custom range, said beside the fields. */
  problem?: string;
}

const dateOnly = /^\d{4}-\d{2}-\d{2}$/;
const day = 86_400_000;
/** The API's limit (api/v1-stats.ts maxStatsRangeDays). */
export const maxDays = 400;

/** The range the URL asks for, in `zone` at `now` (the last N days end today, today included). */
export function readRange(query: URLSearchParams, zone: string, now: number): Range {
  const today = dateIn(now, zone);
  const asked = query.get('range') ?? '7d';
  const preset: Preset = presets.some(([p]) => p === asked) ? (asked as Preset) : '7d';
  let first = today;
  let last = today;
  let problem: string | undefined;
  if (preset === 'yesterday') first = last = addDays(today, -1);
  else if (preset.endsWith('d')) first = addDays(today, 1 - Number(preset.slice(0, -1)));
  else if (preset === 'custom') {
    const f = query.get('from');
    const t = query.get('to');
    if (isDate(f) && isDate(t) && f <= t && Date.parse(t) - Date.parse(f) < maxDays * day) [first, last] = [f, t];
    else {
      problem = !isDate(f) || !isDate(t) ? 'Pick a start and an end date.' : f > t ? 'The end date is before the start date.' : `A range may cover at most ${maxDays} days.`;
      first = addDays(today, -6);
    }
  }
  const days = Math.round((Date.parse(last) - Date.parse(first)) / day) + 1;
  return { preset, first, last, from: first, to: addDays(last, 1), bucket: days <= 2 ? 'hour' : 'day', ...(problem ? { problem } : {}) };
}

/** When a bucket (an hour with its offset, or a day) begins: the page shows buckets after now as not yet. */
export function bucketStart(key: string, zone: string): number {
  return dateOnly.test(key) ? midnightIn(key, zone) : Date.parse(key);
}
