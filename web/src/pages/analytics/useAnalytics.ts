import { useEffect, useState } from 'preact/hooks';
import { SwitchboardApiError, type Stats, type StatsParams } from '../../../../src/sdk/client.js';
import { askStats } from '../../lib/api.js';
import type { Range } from './range.js';

export const groupings = ['agent', 'widget', 'source', 'disconnected_by'] as const;
export type Grouping = (typeof groupings)[number];
type Part = 'series' | 'week' | Grouping;

/** One answer of `/v1/stats` per part of the page: null while it loads. */
export type Answers = Record<Part, { data: Stats | null; error: unknown }>;

const empty = (): Answers =>
  Object.fromEntries((['series', 'week', ...groupings] as Part[]).map((p) => [p, { data: null, error: null }])) as Answers;

/**
 * Whether `/v1/stats` refused the range itself (400 `invalid_request`: past the calendar's ends, too long):
 * every part of the page asks for the same range, and would be refused alike.
 */
export function refusesRange(error: unknown): boolean {
  return error instanceof SwitchboardApiError && error.status === 400;
}

/**
 * Asks `/v1/stats` for every part of the page: the series first, alone (the first chart), then the rest, two at a
 * time (the server runs at most SWITCHBOARD_EXPENSIVE_PER_KEY, default 2, stats per client at once; a 429
 * is asked again after a short wait: `askStats`). A range the series' answer refuses (`refusesRange`) is not
 * asked again for the other parts: the page says the refusal once.
 */
export function useAnalytics(range: Range, zone: string): Answers {
  const [answers, setAnswers] = useState<Answers>(empty);
  useEffect(() => {
    // A range that cannot be asked shows nothing: not the figures of the range before it.
    setAnswers(empty());
    if (range.problem) return;
    let live = true;
    const base = { tz: zone, from: range.from, to: range.to };
    const parts: Array<[Part, StatsParams['group_by']]> = [['series', range.bucket], ['week', 'weekday_hour'], ...groupings.map((g) => [g, g] as [Part, Grouping])];
    const ask = (group_by: StatsParams['group_by']): Promise<Stats> => askStats({ ...base, group_by }, () => live);
    const fetchPart = async ([part, groupBy]: [Part, StatsParams['group_by']]) => {
      let result: { data: Stats | null; error: unknown };
      try {
        result = { data: await ask(groupBy), error: null };
      } catch (error) {
        result = { data: null, error };
      }
      if (live) setAnswers((a) => ({ ...a, [part]: result }));
      return result;
    };
    const [first, ...queue] = parts;
    const worker = async () => {
      for (let next = queue.shift(); next && live; next = queue.shift()) await fetchPart(next);
    };
    // The series alone first: the first chart gets the database to itself (over a year of 1M calls the
    // weekday_hour read beside it doubled its time on two cores).
    void fetchPart(first!).then((series) => (refusesRange(series.error) ? undefined : Promise.all([worker(), worker()])));
    return () => {
      live = false;
    };
  }, [range.from, range.to, range.bucket, range.problem, zone]);
  return answers;
}
