import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { AppError } from '../domain/errors.js';
import {
  cellHours, isTimeZone, isoWithOffset, localMidnight, offsetRuns, statsGroupBys, timeRangesInSlices, toBucket, weekHourKey,
  type StatsBucket,
} from '../domain/stats.js';
import { isUtcDay, utc } from '../domain/calendar.js';
import type { ApiKey, Sources, Stats, StatsGroup } from '../storage/ports.js';
import { Stats as StatsAnswer } from '../domain/contract/stats.js';
import { requireScope } from './auth.js';
import { answers, readErrors } from './responses.js';

/** The aggregates, and the sources' names for grouping by source. */
type StatsStorage = { stats: Stats; sources: Pick<Sources, 'list'> };

export interface StatsRoutesOptions {
  storage: StatsStorage;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Readonly<Config>;
  now: () => number;
}

const day = 86_400_000;
/** The longest range one request may cover (about 13 months: a year against the last one). */
export const maxStatsRangeDays = 400;
const defaultRangeDays = 7;

const dateOnly = /^\d{4}-\d{2}-\d{2}$/;
// A full date-time must say its offset: a bare local time would be read in the server's zone.
const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

const instantDoc = 'An ISO 8601 date-time with its offset (2026-10-25T00:00:00+02:00, …Z), or a date (2026-10-25) meaning local midnight in tz.';
const Instant = (more: string) => Type.String({ maxLength: 40, description: `${instantDoc} ${more}` });
const StatsQuery = Type.Object({
  group_by: Type.Optional(Type.Union(statsGroupBys.map((g) => Type.Literal(g)), { default: 'day' })),
  tz: Type.Optional(Type.String({ maxLength: 64, default: 'UTC', description: 'An IANA time zone: hours and days are counted in it.' })),
  from: Type.Optional(Instant(`Inclusive; default: ${defaultRangeDays} days before to.`)),
  to: Type.Optional(Instant(`Exclusive; default: now. At most ${maxStatsRangeDays} days after from.`)),
});

/**
 * The instants a range may reach: a day inside the years 0001–9999, so its local dates in any zone (offsets
 * under a day) have four-digit years of the Gregorian calendar's era (Intl gives a year before 0001 without
 * its era, and a year after 9999 has no ISO form without a sign).
 */
const earliest = utc(1, 0, 2);
const latest = utc(9999, 11, 31);
const outOfCalendar = () => new AppError('invalid_request', { detail: 'the range must lie within 0001-01-02 and 9999-12-31 (UTC)' });

function parseInstant(name: string, value: string, tz: string): number {
  // Year 0000 (1 BC) is before any range: refused before its local midnight is looked for.
  if (value.startsWith('0000')) throw outOfCalendar();
  if (dateOnly.test(value)) {
    if (isUtcDay(value)) return localMidnight(value, tz);
  } else if (dateTime.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new AppError('invalid_request', { detail: `${name} must be an ISO 8601 date-time with an offset, or a date (YYYY-MM-DD)` });
}

/**
 * `GET /v1/stats` (`read` scope): calls, answered, answer rate, median and p90 speed-to-lead and mean talk
 * time per hour or day in `tz` (empty ones included), or per widget, agent or source. A call counts at
 * `started_at`, else its first event. The hours or days are cut in `tz`, aggregated by the database in one
 * statement and written as JSON by the storage (storage/shared/stats.ts, on the thread of the query reads).
 */
export async function statsRoutes(app: FastifyInstance, options: StatsRoutesOptions): Promise<void> {
  const { storage, now } = options;
  app.addHook('onRequest', requireScope('read', options.resolveKey));

  app.get<{ Querystring: Static<typeof StatsQuery> }>(
    '/v1/stats',
    {
      schema: {
        description:
          'Calls, answered, answer rate (answered / calls, null without calls), median and p90 speed-to-lead (linear ' +
          'interpolation between closest ranks, as percentile_cont) and mean talk time (answered calls with one) ' +
          'per hour or day in tz (every one of [from, to), empty ones included; a DST fall-back day has 25 hours, each ' +
          'labelled with its offset), per hour of the week (weekday_hour: all 7 × 24 cells, Monday 00:00 first, a call in ' +
          'the local hour it started in tz), or per widget, agent, source or disconnected_by (most calls first). A call ' +
          'counts at started_at, else at its first event. Every bucket also counts speed-to-lead bands: cumulative ' +
          '(within 60 s, 300 s, 900 s), over 900 s and unknown. Switchboard sees calls only, never leads that were not called.',
        querystring: StatsQuery,
        response: answers({ 200: StatsAnswer }, ...readErrors),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const groupBy = q.group_by ?? 'day';
      const tz = q.tz ?? 'UTC';
      if (!isTimeZone(tz)) throw new AppError('invalid_request', { detail: `tz "${tz}" is not a known IANA time zone` });
      const to = q.to === undefined ? now() : parseInstant('to', q.to, tz);
      const from = q.from === undefined ? to - defaultRangeDays * day : parseInstant('from', q.from, tz);
      if (from >= to) throw new AppError('invalid_request', { detail: 'from must be earlier than to' });
      if (from < earliest || to > latest) throw outOfCalendar();
      if (to - from > maxStatsRangeDays * day) throw new AppError('invalid_request', { detail: `the range may cover at most ${maxStatsRangeDays} days` });

      const head = { group_by: groupBy, tz, from: isoWithOffset(from, tz), to: isoWithOffset(to, tz) };
      if (groupBy === 'weekday_hour') {
        const hours = await timeRangesInSlices('hour', tz, from, to);
        const runs = offsetRuns(hours);
        const [cells, counts] = [await storage.stats.weekHours(runs), cellHours(hours, runs, now())];
        const buckets = cells.map((a, cell) => {
          const { key, weekday, hour } = weekHourKey(cell);
          return toBucket(key, a, undefined, { weekday, hour, hours: counts[cell]! });
        });
        return { ...head, buckets };
      }
      if (groupBy !== 'hour' && groupBy !== 'day') return { ...head, buckets: await groupBuckets(storage, groupBy, from, to) };
      // 13 months of hours is 9,500 buckets and 3 MB of JSON: the storage writes them (on the thread of the
      // query API's reads, off this one, on both backends), the route frames them. The same JSON the schema
      // would write.
      const buckets = await storage.stats.timeBuckets({ groupBy, tz, from, to });
      const open = Buffer.from(`${JSON.stringify(head).slice(0, -1)},"buckets":[`);
      return reply.type('application/json; charset=utf-8').send(Buffer.concat([open, buckets, closing]));
    },
  );
}

const closing = Buffer.from(']}');

/** The widgets, agents, sources or disconnected_by values with calls in the range, most calls first. */
async function groupBuckets(storage: StatsStorage, groupBy: StatsGroup, from: number, to: number): Promise<StatsBucket[]> {
  const groups = await storage.stats.groups({ from, to }, groupBy);
  groups.sort((a, b) => b.calls - a.calls || (a.key ?? '').localeCompare(b.key ?? ''));
  const keys = groups.flatMap((g) => (g.key === null ? [] : [g.key]));
  if (groupBy === 'disconnected_by') return groups.map((g) => toBucket(g.key, g));
  const names =
    groupBy === 'source'
      ? new Map((await storage.sources.list()).map((s) => [s.id as string, s.name]))
      : await storage.stats.latestNames(groupBy, keys);
  return groups.map((g) => toBucket(g.key, g, g.key === null ? null : (names.get(g.key) ?? null)));
}
