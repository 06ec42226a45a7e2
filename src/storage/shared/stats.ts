import { sql, type Kysely } from 'kysely';
import type { StatsCall } from '../../domain/stats.js';
import type { Dialect } from '../migrations.js';
import type { Stats } from '../ports.js';
import type { Database } from '../schema.js';

/**
 * The reads behind `GET /v1/stats`: the calls of a range, paged by (time, call_id, source_id) so memory
 * stays bounded and each page is one range read. A call's time is `coalesce(started_at, first_event_at)`;
 * an expression index on exactly that expression (with the key after it) lets both backends read a page
 * in order without sorting the range.
 */
export function createStats(db: Kysely<Database>, dialect: Dialect): Stats {
  const time = sql<number>`coalesce(started_at, first_event_at)`;
  const agentName =
    dialect === 'sqlite' ? sql<string | number | null>`json_extract(agent, '$.name')` : sql<string | null>`(agent::jsonb ->> 'name')`;

  return {
    async *scan({ from, to, groupBy, pageSize = 20_000 }) {
      let after: { time: number; callId: string; sourceId: string } | null = null;
      for (;;) {
        const cursor = after;
        let query = db
          .selectFrom('calls')
          .select([
            time.as('time'), 'call_id', 'source_id', 'status', 'speed_to_lead_sec', 'talk_duration_sec',
            // Only what the grouping needs: hours and days read nothing more (an index on the time, the key
            // and these columns can then answer them alone).
            (groupBy === 'widget' ? sql<string | null>`widget_key` : sql<null>`null`).as('widget_key'),
            (groupBy === 'widget' ? sql<string | null>`widget_name` : sql<null>`null`).as('widget_name'),
            (groupBy === 'agent' ? sql<string | null>`agent_id` : sql<null>`null`).as('agent_id'),
            (groupBy === 'agent' ? agentName : sql<null>`null`).as('agent_name'),
          ])
          .where(time, '>=', from)
          .where(time, '<', to);
        if (cursor) {
          query = query.where((eb) =>
            eb.or([
              eb(time, '>', cursor.time),
              eb.and([eb(time, '=', cursor.time), eb('call_id', '>', cursor.callId)]),
              eb.and([eb(time, '=', cursor.time), eb('call_id', '=', cursor.callId), eb('source_id', '>', cursor.sourceId)]),
            ]),
          );
        }
        const rows = await query.orderBy(time).orderBy('call_id').orderBy('source_id').limit(pageSize).execute();
        if (rows.length === 0) return;
        yield rows.map(
          (r): StatsCall => ({
            time: Number(r.time),
            status: r.status,
            widget_key: r.widget_key,
            widget_name: r.widget_name,
            agent_id: r.agent_id,
            agent_name: r.agent_name === null || r.agent_name === undefined ? null : String(r.agent_name),
            source_id: r.source_id,
            speed_to_lead_sec: r.speed_to_lead_sec === null ? null : Number(r.speed_to_lead_sec),
            talk_duration_sec: r.talk_duration_sec === null ? null : Number(r.talk_duration_sec),
          }),
        );
        if (rows.length < pageSize) return;
        const last = rows.at(-1)!;
        after = { time: Number(last.time), callId: last.call_id, sourceId: last.source_id };
      }
    },
  };
}
