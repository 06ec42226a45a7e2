import { sql, type Kysely, type RawBuilder } from 'kysely';
import { epochHourOfWeek, rangeRuns, timeBucketsJson, timeRangesInSlices, weekHours, type StatsAggregate } from '../../domain/stats.js';
import type { Dialect } from '../migrations.js';
import type { Stats, StatsGroup } from '../ports.js';
import type { Database } from '../schema.js';
import { jsonField, withTolerantJson } from './json-field.js';

/**
 * The reads behind `GET /v1/stats`: the database aggregates, quantiles included, per time range (an hour or
 * a day in the caller's zone, computed in domain/stats.ts), per local hour of the week, or per widget, agent,
 * source or disconnected_by.
 *
 * A call's time is `coalesce(started_at, first_event_at)`; the covering index `calls_stats_cover` (migration
 * 0011, 0006's `calls_stats` and disconnected_by) holds that expression and every column the aggregates read, so no query here visits the table.
 * Hours and days are one statement on both databases, grouping by each call's range index (computed from the
 * ranges' runs, domain/stats.ts `rangeRuns`): one query per range cost ~9,600 statements for hours over 13
 * months, half a second of an empty database's time.
 *
 * `timeBuckets` (hours and days, written as the answer's JSON) is computed here, on the caller's thread,
 * unless the backend gives its own (`ownTimeBuckets`: both run this very code on the thread of the query
 * API's reads, sqlite/sql-worker.ts and postgres/read-worker.ts).
 */
export function createStats(
  db: Kysely<Database>,
  dialect: Dialect,
  lookups: Kysely<Database> = db,
  ownTimeBuckets?: Stats['timeBuckets'],
): Stats {
  const time = sql<number>`coalesce(started_at, first_event_at)`;
  const quantile = (p: number) =>
    dialect === 'sqlite'
      ? sql<number | null>`percentile_cont(speed_to_lead_sec, ${sql.lit(p)})`
      : sql<number | null>`percentile_cont(${sql.lit(p)}) within group (order by speed_to_lead_sec)`;
  const measures = sql`count(status) as calls,
    sum(case when status = 'answered' then 1 else 0 end) as answered,
    sum(case when status = 'answered' then talk_duration_sec end) as talk_sum,
    count(case when status = 'answered' then talk_duration_sec end) as talk_count,
    ${quantile(0.5)} as speed_p50, ${quantile(0.9)} as speed_p90,
    sum(case when speed_to_lead_sec <= 60 then 1 else 0 end) as within_60,
    sum(case when speed_to_lead_sec <= 300 then 1 else 0 end) as within_300,
    sum(case when speed_to_lead_sec <= 900 then 1 else 0 end) as within_900,
    sum(case when speed_to_lead_sec > 900 then 1 else 0 end) as over_900`;
  const groupKeys: Record<StatsGroup, RawBuilder<string | null>> = {
    widget: sql`widget_key`, agent: sql`agent_id`, source: sql`source_id`, disconnected_by: sql`disconnected_by`,
  };
  /** The aggregates per index computed by `index` (a CASE over the calls' time), for calls in [from, to). */
  async function indexed(out: StatsAggregate[], index: RawBuilder<unknown>, from: number, to: number): Promise<StatsAggregate[]> {
    const { rows } = await sql<AggregateRow & { i: number | string | null }>`
      select case ${index} end as i, ${measures}
      from calls where ${time} >= ${from} and ${time} < ${to} group by 1`.execute(db);
    for (const row of rows) if (row.i !== null) out[Number(row.i)] = toAggregate(row);
    return out;
  }

  const stats: Stats = {
    async ranges(ranges) {
      const out = ranges.map(() => ({ ...noCalls }));
      const runs = rangeRuns(ranges).filter((run) => run.length > 0);
      if (runs.length === 0) return out;
      // Each call's range index, by arithmetic within its run; literals, not parameters: whole numbers both
      // databases then divide as integers (better-sqlite3 binds a number as a real).
      const index = sql.join(
        runs.map((run) => sql`when ${time} >= ${sql.lit(run.start)} and ${time} < ${sql.lit(run.start + run.count * run.length)}
          then ${sql.lit(run.first)} + (${time} - ${sql.lit(run.start)}) / ${sql.lit(run.length)}`),
        sql` `,
      );
      const from = Math.min(...runs.map((run) => run.start));
      const to = Math.max(...runs.map((run) => run.start + run.count * run.length));
      return indexed(out, index, from, to);
    },

    timeBuckets:
      ownTimeBuckets ??
      (async ({ groupBy, tz, from, to }) => {
        const ranges = await timeRangesInSlices(groupBy, tz, from, to);
        return utf8.encode(await timeBucketsJson(ranges, await stats.ranges(ranges)));
      }),

    async weekHours(runs) {
      const out = Array.from({ length: weekHours }, () => ({ ...noCalls }));
      if (runs.length === 0) return out;
      // Local time is the instant plus the run's offset; whole hours since the epoch's Thursday 00:00, plus
      // 72, modulo 168 are the hour of the week. The offset keeps times of any real range positive, so integer
      // division truncates as floor does (and `+ 0` literals keep both databases dividing integers).
      const index = sql.join(
        runs.map((run) => sql`when ${time} >= ${sql.lit(run.start)} and ${time} < ${sql.lit(run.end)}
          then ((${time} + ${sql.lit(run.offsetMs)}) / 3600000 + ${sql.lit(epochHourOfWeek)}) % ${sql.lit(weekHours)}`),
        sql` `,
      );
      return indexed(out, index, runs[0]!.start, runs.at(-1)!.end);
    },

    async groups({ from, to }, groupBy) {
      const key = groupKeys[groupBy];
      const { rows } = await sql<AggregateRow & { key: string | null }>`
        select ${key} as key, ${measures} from calls where ${time} >= ${from} and ${time} < ${to} group by ${key}`.execute(db);
      return rows.map((r) => ({ key: r.key, ...toAggregate(r) }));
    },

    async latestNames(groupBy, keys) {
      // A name per id, its most recent (a widget renamed in Convolo shows its new name): one small indexed
      // read per id (calls_widget_list / calls_agent_list, newest first), concurrent on PostgreSQL's pool
      // (`lookups`: the main one, not the query API's small pool of heavy reads).
      const column = (tolerant: boolean) => (groupBy === 'widget' ? sql<string | null>`widget_name` : jsonField(dialect, 'agent', 'name', tolerant));
      const keyColumn = groupBy === 'widget' ? sql`widget_key` : sql`agent_id`;
      const named = await Promise.all(
        keys.map(async (k) => {
          const { rows } = await withTolerantJson(dialect, (tolerant) => sql<{ name: string | number | null }>`
            select ${column(tolerant)} as name from calls where ${keyColumn} = ${k} and ${column(tolerant)} is not null
            order by first_event_at desc limit 1`.execute(lookups));
          const name = rows[0]?.name;
          return name === undefined || name === null ? null : ([k, String(name)] as const);
        }),
      );
      return new Map(named.filter((n) => n !== null));
    },
  };
  return stats;
}

/** Each encode's bytes in an ArrayBuffer of their own (a thread can move them rather than copy). */
const utf8 = new TextEncoder();

interface AggregateRow {
  calls: number | string;
  answered: number | string | null;
  talk_sum: number | string | null;
  talk_count: number | string;
  speed_p50: number | string | null;
  speed_p90: number | string | null;
  within_60: number | string | null;
  within_300: number | string | null;
  within_900: number | string | null;
  over_900: number | string | null;
}

const noCalls: StatsAggregate = {
  calls: 0, answered: 0, talk_sum: 0, talk_count: 0, speed_p50: null, speed_p90: null, within_60: 0, within_300: 0, within_900: 0, over_900: 0,
};

/** PostgreSQL answers counts and sums as strings (bigint, numeric): all become numbers here. */
function toAggregate(r: AggregateRow): StatsAggregate {
  const num = (v: number | string | null) => (v === null ? null : Number(v));
  return {
    calls: Number(r.calls),
    answered: num(r.answered) ?? 0,
    talk_sum: num(r.talk_sum) ?? 0,
    talk_count: Number(r.talk_count),
    speed_p50: num(r.speed_p50),
    speed_p90: num(r.speed_p90),
    within_60: num(r.within_60) ?? 0,
    within_300: num(r.within_300) ?? 0,
    within_900: num(r.within_900) ?? 0,
    over_900: num(r.over_900) ?? 0,
  };
}
