import { describe, expect, it } from 'vitest';
import { cellHours, hourOfWeek, hourStart, isoWithOffset, isTimeZone, localMidnight, offsetRuns, quantile, rangeRuns, timeRanges, toBucket, weekHourKey } from './stats.js';

const sthlm = 'Europe/Stockholm';
const at = (iso: string) => Date.parse(iso);
describe('time zones', () => {
  it('knows IANA zones and rejects others', () => {
    expect(isTimeZone('Europe/Stockholm')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it('finds local midnight across DST changes', () => {
    expect(localMidnight('2026-10-25', sthlm)).toBe(at('2026-10-24T22:00:00Z'));
    expect(localMidnight('2026-10-26', sthlm)).toBe(at('2026-10-25T23:00:00Z'));
    expect(localMidnight('2026-03-29', sthlm)).toBe(at('2026-03-28T23:00:00Z'));
    expect(localMidnight('2026-03-30', sthlm)).toBe(at('2026-03-29T22:00:00Z'));
    expect(localMidnight('2026-01-01', 'Asia/Kolkata')).toBe(at('2025-12-31T18:30:00Z'));
    expect(localMidnight('2026-01-01', 'America/New_York')).toBe(at('2026-01-01T05:00:00Z'));
  });

  it('labels the repeated hour of a fall-back day by its offset', () => {
    expect(isoWithOffset(hourStart(at('2026-10-25T00:30:00Z'), sthlm), sthlm)).toBe('2026-10-25T02:00:00+02:00');
    expect(isoWithOffset(hourStart(at('2026-10-25T01:30:00Z'), sthlm), sthlm)).toBe('2026-10-25T02:00:00+01:00');
    expect(isoWithOffset(hourStart(at('2026-01-01T05:45:12.345Z'), 'Asia/Kathmandu'), 'Asia/Kathmandu')).toBe('2026-01-01T11:00:00+05:45');
  });
});

describe('quantile (linear between closest ranks)', () => {
  it('interpolates', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1);
  });
});

describe('timeRanges', () => {
  it('has 25 hours on a fall-back day and 23 on a spring-forward day, each an hour long', () => {
    const fall = timeRanges('hour', sthlm, localMidnight('2026-10-25', sthlm), localMidnight('2026-10-26', sthlm));
    expect(fall).toHaveLength(25);
    expect(fall[0]!.key).toBe('2026-10-25T00:00:00+02:00');
    expect(fall.slice(2, 4).map((r) => r.key)).toEqual(['2026-10-25T02:00:00+02:00', '2026-10-25T02:00:00+01:00']);
    expect(fall.every((r) => r.to - r.from === 3_600_000)).toBe(true);
    const spring = timeRanges('hour', sthlm, localMidnight('2026-03-29', sthlm), localMidnight('2026-03-30', sthlm));
    expect(spring.map((r) => r.key).slice(1, 3)).toEqual(['2026-03-29T01:00:00+01:00', '2026-03-29T03:00:00+02:00']);
    expect(spring).toHaveLength(23);
  });

  it('runs a day from one local midnight to the next (25 hours at the end of DST) and clips the ends to the range', () => {
    const days = timeRanges('day', sthlm, at('2026-10-24T12:00:00Z'), at('2026-10-26T12:00:00Z'));
    expect(days).toEqual([
      { key: '2026-10-24', from: at('2026-10-24T12:00:00Z'), to: at('2026-10-24T22:00:00Z') },
      { key: '2026-10-25', from: at('2026-10-24T22:00:00Z'), to: at('2026-10-25T23:00:00Z') },
      { key: '2026-10-26', from: at('2026-10-25T23:00:00Z'), to: at('2026-10-26T12:00:00Z') },
    ]);
    expect(timeRanges('day', sthlm, 10, 10)).toEqual([]);
  });

  it('tiles the range without gap or overlap and puts every instant where the zone says, in zones with half- and quarter-hour offsets too', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const range = [at('2025-12-31T00:00:00Z'), at('2027-01-02T00:00:00Z')] as const;
    for (const tz of [sthlm, 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham']) {
      const hours = timeRanges('hour', tz, ...range);
      const days = timeRanges('day', tz, ...range);
      for (const ranges of [hours, days]) {
        expect(ranges[0]!.from, tz).toBe(range[0]);
        expect(ranges.at(-1)!.to, tz).toBe(range[1]);
        for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.from, tz).toBe(ranges[i - 1]!.to);
      }
      const find = (ranges: typeof hours, ms: number) => ranges.find((r) => r.from <= ms && ms < r.to)!.key;
      for (let i = 0; i < 400; i++) {
        const time = at('2026-01-01T00:00:00Z') + Math.floor(rand() * 365 * 86_400_000);
        expect(find(hours, time), tz).toBe(isoWithOffset(hourStart(time, tz), tz));
        const dayKey = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(time);
        expect(find(days, time), tz).toBe(dayKey);
      }
    }
  });
});

describe('rangeRuns', () => {
  it('gives back every range by arithmetic, in a few runs: 13 months of hours, and of days (a run between DST changes)', () => {
    const from = at('2025-01-01T00:30:00Z');
    const to = at('2026-02-04T00:00:00Z');
    for (const tz of [sthlm, 'Asia/Kathmandu', 'Australia/Lord_Howe']) {
      for (const groupBy of ['hour', 'day'] as const) {
        const ranges = timeRanges(groupBy, tz, from, to);
        const runs = rangeRuns(ranges);
        expect(runs.length, `${tz} ${groupBy}`).toBeLessThanOrEqual(groupBy === 'hour' ? 12 : 16);
        const rebuilt = runs.flatMap((run) => Array.from({ length: run.count }, (_, k) => ({ from: run.start + k * run.length, to: run.start + (k + 1) * run.length })));
        expect(rebuilt, `${tz} ${groupBy}`).toEqual(ranges.map((r) => ({ from: r.from, to: r.to })));
        expect(runs.map((r) => r.first)).toEqual(runs.map((_, i) => runs.slice(0, i).reduce((n, r) => n + r.count, 0)));
      }
    }
  });
});

describe('toBucket', () => {
  it('derives the answer rate and mean talk time, null where there is nothing to divide', () => {
    const bands = { within_60: 1, within_300: 1, within_900: 2, over_900: 0 };
    expect(toBucket('2026-10-26', { calls: 3, answered: 2, talk_sum: 50, talk_count: 2, speed_p50: 10, speed_p90: 14, ...bands })).toEqual({
      key: '2026-10-26', calls: 3, answered: 2, answer_rate: 2 / 3, speed_to_lead_median_sec: 10, speed_to_lead_p90_sec: 14, talk_time_mean_sec: 25,
      speed_to_lead_within_60_sec: 1, speed_to_lead_within_300_sec: 1, speed_to_lead_within_900_sec: 2, speed_to_lead_over_900_sec: 0, speed_to_lead_unknown: 1,
    });
    const none = { within_60: 0, within_300: 0, within_900: 0, over_900: 0 };
    expect(toBucket('w1', { calls: 0, answered: 0, talk_sum: 0, talk_count: 0, speed_p50: null, speed_p90: null, ...none }, 'Widget')).toEqual({
      key: 'w1', name: 'Widget', calls: 0, answered: 0, answer_rate: null, speed_to_lead_median_sec: null, speed_to_lead_p90_sec: null, talk_time_mean_sec: null,
      speed_to_lead_within_60_sec: 0, speed_to_lead_within_300_sec: 0, speed_to_lead_within_900_sec: 0, speed_to_lead_over_900_sec: 0, speed_to_lead_unknown: 0,
    });
  });
});

describe('hours of the week', () => {
  it('folds Europe/Stockholm\'s local hours into cells across both DST changes: the repeated hour twice, the missing one never', () => {
    const tz = 'Europe/Stockholm';
    const from = Date.parse('2026-03-23T00:00:00+01:00'); // a Monday
    const to = Date.parse('2026-11-02T00:00:00+01:00');
    const hours = timeRanges('hour', tz, from, to);
    const runs = offsetRuns(hours);
    expect(runs.map((r) => r.offsetMs / 3_600_000)).toEqual([1, 2, 1]);
    expect(runs[1]!.start).toBe(Date.parse('2026-03-29T01:00:00Z'));
    const counts = cellHours(hours, runs, to);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(hours.length);
    // Sunday 02:00 (cell 6·24 + 2): every Sunday of the range but 29 March, plus 25 October's repeated hour.
    const sundays = 32;
    expect(counts[6 * 24 + 2]).toBe(sundays - 1 + 1);
    expect(counts[6 * 24 + 3]).toBe(sundays);
    expect(hourOfWeek(Date.parse('2026-10-25T00:30:00Z'), 2 * 3_600_000)).toBe(6 * 24 + 2);
    expect(hourOfWeek(Date.parse('2026-10-25T01:30:00Z'), 3_600_000)).toBe(6 * 24 + 2);
    expect(weekHourKey(6 * 24 + 2)).toEqual({ key: '7T02', weekday: 7, hour: 2 });
    expect(weekHourKey(0)).toEqual({ key: '1T00', weekday: 1, hour: 0 });
    // Hours that have not begun are not counted.
    expect(cellHours(hours, runs, from + 90 * 60_000).reduce((a, b) => a + b, 0)).toBe(2);
  });
});
