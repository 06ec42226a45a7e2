import { describe, expect, it } from 'vitest';
import { hourStart, isoWithOffset, isTimeZone, localMidnight, quantile, StatsAggregator, type StatsCall } from './stats.js';

const sthlm = 'Europe/Stockholm';
const at = (iso: string) => Date.parse(iso);
const call = (time: number, over: Partial<StatsCall> = {}): StatsCall => ({
  time, status: 'answered', widget_key: 'w1', widget_name: 'Widget', agent_id: 'a1', agent_name: 'Ann', source_id: 'src_1',
  speed_to_lead_sec: null, talk_duration_sec: null, ...over,
});

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

describe('StatsAggregator', () => {
  it('has 25 hourly buckets on a fall-back day and 23 on a spring-forward day, empty ones included', () => {
    const fall = new StatsAggregator('hour', sthlm);
    fall.add(call(at('2026-10-25T00:10:00Z')));
    fall.add(call(at('2026-10-25T01:10:00Z'), { status: 'no_answer' }));
    const buckets = fall.finish(localMidnight('2026-10-25', sthlm), localMidnight('2026-10-26', sthlm));
    expect(buckets).toHaveLength(25);
    expect(buckets[0]!.key).toBe('2026-10-25T00:00:00+02:00');
    expect(buckets.slice(2, 4)).toMatchObject([
      { key: '2026-10-25T02:00:00+02:00', calls: 1, answered: 1, answer_rate: 1 },
      { key: '2026-10-25T02:00:00+01:00', calls: 1, answered: 0, answer_rate: 0 },
    ]);
    expect(buckets[4]).toMatchObject({ key: '2026-10-25T03:00:00+01:00', calls: 0, answer_rate: null, speed_to_lead_median_sec: null });
    const spring = new StatsAggregator('hour', sthlm).finish(localMidnight('2026-03-29', sthlm), localMidnight('2026-03-30', sthlm));
    expect(spring.map((b) => b.key).slice(1, 3)).toEqual(['2026-03-29T01:00:00+01:00', '2026-03-29T03:00:00+02:00']);
    expect(spring).toHaveLength(23);
  });

  it('buckets every instant as the zone says, in zones with half- and quarter-hour offsets too', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const tz of [sthlm, 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham']) {
      const hours = new StatsAggregator('hour', tz);
      const days = new StatsAggregator('day', tz);
      const expected = { hours: new Map<string, number>(), days: new Map<string, number>() };
      for (let i = 0; i < 400; i++) {
        const time = at('2026-01-01T00:00:00Z') + Math.floor(rand() * 365 * 86_400_000);
        hours.add(call(time));
        days.add(call(time));
        const hourKey = isoWithOffset(hourStart(time, tz), tz);
        const dayKey = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(time);
        expected.hours.set(hourKey, (expected.hours.get(hourKey) ?? 0) + 1);
        expected.days.set(dayKey, (expected.days.get(dayKey) ?? 0) + 1);
      }
      const range = [at('2025-12-31T00:00:00Z'), at('2027-01-02T00:00:00Z')] as const;
      const nonEmpty = (buckets: Array<{ key: string | null; calls: number }>) => new Map(buckets.filter((b) => b.calls > 0).map((b) => [b.key!, b.calls]));
      expect(nonEmpty(hours.finish(...range)), tz).toEqual(expected.hours);
      expect(nonEmpty(days.finish(...range)), tz).toEqual(expected.days);
    }
  });

  it('counts days in the zone and aggregates the measures', () => {
    const agg = new StatsAggregator('day', sthlm);
    agg.add(call(at('2026-10-25T22:59:59Z'), { speed_to_lead_sec: 10, talk_duration_sec: 30 }));
    agg.add(call(at('2026-10-25T23:00:00Z'), { speed_to_lead_sec: 5 }));
    agg.add(call(at('2026-10-25T23:30:00Z'), { status: 'no_answer', speed_to_lead_sec: 15, talk_duration_sec: 99 }));
    agg.add(call(at('2026-10-25T23:40:00Z'), { talk_duration_sec: 20 }));
    expect(agg.finish(at('2026-10-25T00:00:00Z'), at('2026-10-26T12:00:00Z'))).toEqual([
      { key: '2026-10-25', calls: 1, answered: 1, answer_rate: 1, speed_to_lead_median_sec: 10, speed_to_lead_p90_sec: 10, talk_time_mean_sec: 30 },
      { key: '2026-10-26', calls: 3, answered: 2, answer_rate: 2 / 3, speed_to_lead_median_sec: 10, speed_to_lead_p90_sec: 14, talk_time_mean_sec: 20 },
    ]);
  });

  it('groups by widget, agent and source with names, most calls first', () => {
    const agg = new StatsAggregator('widget', 'UTC');
    agg.add(call(1, { widget_key: 'w2', widget_name: 'Old' }));
    agg.add(call(2, { widget_key: 'w2', widget_name: 'New' }));
    agg.add(call(3, { widget_key: null, widget_name: null }));
    expect(agg.finish(0, 10).map((b) => [b.key, b.name, b.calls])).toEqual([['w2', 'New', 2], [null, null, 1]]);
    const bySource = new StatsAggregator('source', 'UTC');
    bySource.add(call(1));
    expect(bySource.finish(0, 10, new Map([['src_1', 'Main']]))[0]).toMatchObject({ key: 'src_1', name: 'Main' });
  });
});
