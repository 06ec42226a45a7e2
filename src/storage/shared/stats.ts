import { sql, type Kysely, type RawBuilder } from 'kysely';
import { statsSlotMs, type StatsPartial } from '../../domain/stats.js';
import type { Dialect } from '../migrations.js';
import type { Stats } from '../ports.js';
import type { Database } from '../schema.js';

const day = 86_400_000;

/**
 * The reads behind `GET /v1/stats`. The database aggregates (counts, answered, talk time sums) per
 * 15-minute UTC slot for hours and days, or per widget, agent or source, and lists the speed-to-lead
 * values of each for the quantiles; the time zone is applied to the slots in TypeScript (correct across
 * DST on both backends, SQLite having no time zones). The range is read in windows of `windowDays`, so one
 * answer holds at most a window's slots. A call's time is `coalesce(started_at, first_event_at)`: an
 * index on that expression serves the range.
 */
export function createStats(db: Kysely<Database>, dialect: Dialect): Stats {
  const time = sql<number>`coalesce(started_at, first_event_at)`;
  const answered = sql`status = 'answered'`;
  const speedList =
    dialect === 'sqlite' ? sql<string | null>`group_concat(speed_to_lead_sec)` : sql<string | null>`string_agg(speed_to_lead_sec::text, ',')`;
  const agentName = dialect === 'sqlite' ? sql<string | number | null>`json_extract(agent, '$.name')` : sql<string | null>`(agent::jsonb ->> 'name')`;
  const groups: Record<'widget' | 'agent' | 'source', { key: RawBuilder<string | null>; name: RawBuilder<string | number | null> }> = {
    widget: { key: sql`widget_key`, name: sql`widget_name` },
    agent: { key: sql`agent_id`, name: agentName },
    source: { key: sql`source_id`, name: sql`null` },
  };

  return {
    async *partials({ from, to, groupBy, windowDays = 7 }) {
      const bySlot = groupBy === 'hour' || groupBy === 'day';
      const group = bySlot ? null : groups[groupBy];
      const slot = bySlot ? sql<number | null>`(${time} / ${sql.lit(statsSlotMs)})` : sql<number | null>`null`;
      const key = group ? group.key : sql<string | null>`null`;
      for (let start = from; start < to; start += windowDays * day) {
        const end = Math.min(to, start + windowDays * day);
        const rows = await db
          .selectFrom('calls')
          .select([
            slot.as('slot'),
            key.as('key'),
            (group ? sql<string | number | null>`max(${group.name})` : sql<string | number | null>`null`).as('name'),
            sql<number>`count(*)`.as('calls'),
            sql<number>`sum(case when ${answered} then 1 else 0 end)`.as('answered'),
            sql<number | null>`sum(case when ${answered} then talk_duration_sec end)`.as('talk_sum'),
            sql<number>`count(case when ${answered} then talk_duration_sec end)`.as('talk_count'),
            speedList.as('speeds'),
          ])
          .where(time, '>=', start)
          .where(time, '<', end)
          .groupBy(bySlot ? [sql`1`] : [sql`2`])
          .execute();
        yield rows.map(
          (r): StatsPartial => ({
            slot: r.slot === null ? null : Number(r.slot),
            key: r.key,
            name: r.name === null ? null : String(r.name),
            calls: Number(r.calls),
            answered: Number(r.answered),
            talk_sum: r.talk_sum === null ? 0 : Number(r.talk_sum),
            talk_count: Number(r.talk_count),
            speeds: r.speeds === null || r.speeds === '' ? [] : r.speeds.split(',').map(Number),
          }),
        );
      }
    },
  };
}
