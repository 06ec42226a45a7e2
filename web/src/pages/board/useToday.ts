import { useEffect, useState } from 'preact/hooks';
import { offsetMinutes } from '../../../../src/domain/stats.js';
import type { StatsBucket } from '../../../../src/sdk/client.js';
import { askStats } from '../../lib/api.js';
import { throttle } from '../../lib/debounce.js';
import { onLiveEvent } from '../../lib/live.js';
import { dateIn } from '../../lib/zone.js';

export interface Figures {
  calls: number;
  answered: number;
  answer_rate: number | null;
  speed_to_lead_median_sec: number | null;
  speed_to_lead_p90_sec: number | null;
}

export interface Today {
  today: Figures;
  /** Yesterday from midnight to this time of day. */
  yesterday: Figures;
  /** The ranges asked, as the API echoed them. */
  range: { from: string; to: string };
}

const day = 86_400_000;

/**
 * This time on the clock yesterday in `zone`: 24 hours back, moved by the hour a DST change in between put
 * on or took off (just after the spring-forward night, 24 hours back is the day before yesterday).
 */
function sameTimeYesterday(now: number, zone: string): number {
  const back = now - day;
  return back + (offsetMinutes(now, zone) - offsetMinutes(back, zone)) * 60_000;
}

function figuresOf(buckets: StatsBucket[]): Figures {
  // A range within one local day is one bucket; summed in case a range spans two.
  if (buckets.length === 1) return buckets[0]!;
  const calls = buckets.reduce((n, b) => n + b.calls, 0);
  const answered = buckets.reduce((n, b) => n + b.answered, 0);
  return { calls, answered, answer_rate: calls ? answered / calls : null, speed_to_lead_median_sec: null, speed_to_lead_p90_sec: null };
}

/**
 * Today's figures in `zone` from `GET /v1/stats` (its median and p90 are the server's, so they equal what
 * the API says), and yesterday's up to the same time. Refreshed after stream events, at most once a second.
 */
export function useToday(zone: string): { data: Today | null; error: unknown } {
  const [data, setData] = useState<Today | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let cancelled = false;
    // Loads may overlap (a slow answer, then the next event's): only the latest one started may set the figures.
    let started = 0;
    const load = async () => {
      const mine = ++started;
      const now = Date.now();
      const todayDate = dateIn(now, zone);
      const dayAfter = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * day).toISOString().slice(0, 10);
      try {
        const [today, yesterday] = await Promise.all([
          // All of today, not only until now: a call stamped a little ahead of this browser's clock (the
          // sender's clock, a simulated timeline) is still one of today's calls.
          askStats({ group_by: 'day', tz: zone, from: todayDate, to: dayAfter(todayDate, 1) }, () => !cancelled),
          askStats({ group_by: 'day', tz: zone, from: dayAfter(todayDate, -1), to: new Date(sameTimeYesterday(now, zone)).toISOString() }, () => !cancelled),
        ]);
        if (cancelled || mine !== started) return;
        setData({ today: figuresOf(today.buckets), yesterday: figuresOf(yesterday.buckets), range: { from: today.from, to: today.to } });
        setError(null);
      } catch (e) {
        if (!cancelled && mine === started) setError(e);
      }
    };
    void load();
    const refresh = throttle(() => void load(), 1000);
    const off = onLiveEvent(({ type }) => {
      if (type.startsWith('call.')) refresh();
    });
    const minutely = setInterval(() => void load(), 60_000);
    return () => {
      cancelled = true;
      off();
      refresh.cancel();
      clearInterval(minutely);
    };
  }, [zone]);
  return { data, error };
}
