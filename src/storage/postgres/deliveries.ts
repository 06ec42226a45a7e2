import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { DeliveryId } from '../../domain/ids.js';
import type { ClaimShare, CompleteResult, Delivery, DeliveryOutcome } from '../ports.js';
import type { Database, DeliveriesTable } from '../schema.js';
import { completionRows, raisedEvents, retriedInFlight, withoutFailures, type DestinationUpdate } from '../shared/complete-plan.js';
import { rowToDelivery } from '../shared/destination-rows.js';
import { appendIn, InlineValues, inTransaction, Parameters, queryAll } from './append.js';

/**
 * The delivery worker's writes on PostgreSQL. Claims lock rows with SKIP LOCKED, so workers on several
 * nodes take disjoint deliveries without waiting for each other; the lease (`locked_until`) outlives a
 * crashed worker's transaction and lets another pick the delivery up when it runs out. A delivery is
 * claimable once the sequencer has given its event a seq (event_seq is null until then): its per-call
 * order is that of seq, and an unsequenced delivery of the same call can only come later in it.
 */
export function createPostgresDeliveryWrites(db: Kysely<Database>, pool: pg.Pool) {
  async function claim(now: number, limit: number, leaseMs: number, share?: ClaimShare): Promise<Delivery[]> {
    // Each enabled destination offers its due deliveries up to its room (a walk down
    // deliveries_destination_due per destination, LATERAL), then the limit is shared round-robin: the
    // same plan as shared/claim-plan.ts, in one statement. The chosen rows are found by primary key from an
    // array (`= any(array(…))`): joined to the CTE, or with `in (…)`, the planner hashed it and scanned the
    // whole deliveries table, so each claim's cost grew with the pending backlog. The per-call order's
    // `not exists` is kept a subquery run per candidate (`offset 0`: PostgreSQL does not turn such a one
    // into a join), which probes deliveries_order on all three of its columns: as an anti-join, with
    // statistics taken while the table was small, it probed on the destination alone and compared each
    // candidate with every pending delivery of the destination (a claim of 153 rows took 245 ms).
    const busy = Object.entries(share?.busy ?? {});
    const caps = Object.entries(share?.caps ?? {});
    const { rows } = await sql<DeliveriesTable>`
      with share as (
        select t.id, least(greatest(least(coalesce(t.max_concurrency, ${share?.perDestination ?? limit}), coalesce(c.cap, ${limit})) - coalesce(b.n, 0), 0), ${limit}) as room
        from destinations t
          left join unnest(${busy.map(([id]) => id)}::text[], ${busy.map(([, n]) => n)}::integer[]) as b(id, n) on b.id = t.id
          left join unnest(${caps.map(([id]) => id)}::text[], ${caps.map(([, cap]) => cap)}::integer[]) as c(id, cap) on c.id = t.id
        where t.disabled_at is null and t.paused_at is null and t.deleted_at is null),
      offered as (
        select c.id, c.destination_id, c.next_attempt_at, c.event_seq
        from share s cross join lateral (
          select d.id, d.destination_id, d.next_attempt_at, d.event_seq from deliveries d
          where d.destination_id = s.id and d.status = 'pending' and d.next_attempt_at <= ${now} and d.event_seq is not null
            and (d.locked_until is null or d.locked_until <= ${now})
            and not exists (
              select 1 from deliveries p
              where p.destination_id = d.destination_id and p.order_key = d.order_key and p.status = 'pending' and p.event_seq < d.event_seq
              offset 0)
          order by d.next_attempt_at, d.event_seq
          limit s.room
          for update of d skip locked) c
        where s.room > 0),
      due as (
        select id from (
          select id, next_attempt_at, event_seq, row_number() over (partition by destination_id order by next_attempt_at, event_seq) as rank
          from offered) o
        order by rank, next_attempt_at, event_seq
        limit ${limit})
      update deliveries u set locked_until = ${now + leaseMs}, updated_at = ${now}, schedule_start = least(u.schedule_start, u.attempts)
      where u.id = any(array(select id from due))
      returning u.*`.execute(db);
    return rows.map(rowToDelivery).sort((a, b) => a.eventSeq - b.eventSeq);
  }

  /**
   * BEGIN and the outcomes in one message: the deliveries' updates fenced by their lease, and the attempts of
   * the ones recorded, in one statement; then the successors' schedules and the destinations' state when they
   * change, the events the outcomes raise, COMMIT: two round trips for the common batch. The fence is the
   * update's own condition (still pending under the claim's lease): an update takes each row's lock and, if a
   * claim or another outcome changed the row meanwhile, checks the condition again on what they left. (A
   * `select … for update` before the update took the same locks a second time, and a round trip.)
   */
  const retried = retriedInFlight('d.', 't.');
  function complete(outcomes: readonly DeliveryOutcome[], now: number): Promise<CompleteResult> {
    return inTransaction(pool, async (client) => {
      const all = completionRows(outcomes);
      const q = new InlineValues();
      const u = q.unnest(all.deliveries.map((d, i) => ({ ...d, lease: outcomes[i]!.lease })), {
        id: 'text', lease: 'bigint', status: 'text', attempted: 'integer', next_attempt_at: 'bigint', last_status: 'integer', last_error: 'text',
        finished_at: 'bigint',
      });
      const attempts = all.attempts.length > 0
        ? q.unnest(all.attempts, {
          delivery_id: 'text', attempt: 'integer', attempted_at: 'bigint', status: 'integer', latency_ms: 'double precision',
          response_body: 'text', error: 'text',
        })
        : null;
      const [, recorded] = await queryAll(client, [
        'begin',
        `with recorded as (
          update deliveries d set status = case when ${retried} then 'pending' else t.status end, attempts = d.attempts + t.attempted,
            next_attempt_at = case when ${retried} then d.next_attempt_at else coalesce(t.next_attempt_at, d.next_attempt_at) end, locked_until = null,
            last_status = case when t.attempted = 1 then t.last_status else d.last_status end,
            last_error = case when t.attempted = 1 then t.last_error else d.last_error end,
            finished_at = case when ${retried} then null else t.finished_at end, updated_at = ${q.add(now)}
          from ${u.source} where d.id = t.id and d.status = 'pending' and d.locked_until = t.lease
          returning d.id, d.status)${attempts ? `,
        attempts as (
          insert into delivery_attempts (${attempts.columns}) select ${attempts.columns} from ${attempts.source}
          where t.delivery_id in (select id from recorded) on conflict do nothing)` : ''}
        select id, status from recorded`,
      ]);
      const heldIds = new Set(recorded!.map((r) => r.id as string));
      const recordedAs = new Map(all.deliveries.map((d) => [d.id, d.status]));
      const rescheduled = new Set(recorded!.filter((r) => r.status !== recordedAs.get(r.id as string)).map((r) => r.id as string));
      const held = outcomes.filter((o) => heldIds.has(o.deliveryId));
      const stale = outcomes.filter((o) => !heldIds.has(o.deliveryId)).map((o) => o.deliveryId);
      if (held.length === 0) return { stale, appended: [] };
      const rows = stale.length === 0 ? all : completionRows(held);
      if (rows.successors.length > 0) {
        // Never-tried successors only when pulling: one that has been tried keeps its own retry schedule.
        // A statement of its own: it must see the outcomes above (a successor may be in the same batch).
        const q = new Parameters();
        const m = q.unnest(rows.successors, { id: 'text', kind: 'text', at: 'bigint' });
        await client.query(
          `update deliveries s set next_attempt_at = t.at
          from ${m.source} join deliveries h on h.id = t.id
          where s.status = 'pending' and s.destination_id = h.destination_id and s.order_key = h.order_key and s.event_seq > h.event_seq
            and ((t.kind = 'push' and s.next_attempt_at < t.at) or (t.kind = 'pull' and s.attempts = 0 and s.next_attempt_at > t.at))`,
          q.values,
        );
      }
      const disabled = await updateDestinations(client, rows.destinations, now);
      const events = raisedEvents(withoutFailures(held, rescheduled), disabled);
      return { stale, appended: events.length > 0 ? await appendIn(client, events) : [], ...(rescheduled.size > 0 ? { rescheduled: [...rescheduled] as DeliveryId[] } : {}) };
    });
  }

  return { claim, complete };
}

/**
 * The destinations' state after a batch. Rows are written only when something changes (a success is the
 * common case, and each PostgreSQL update leaves a dead row version behind): one statement for the runs of
 * failures, and, when an outcome disables its destination (rare), one that disables those not disabled
 * yet. Answers the destinations that one disabled: not one disabled already (by an administrator, or by
 * another worker's batch, whose write the row lock makes this one wait for and see), whose
 * `switchboard.destination.disabled` was said then.
 */
async function updateDestinations(client: pg.PoolClient, updates: DestinationUpdate[], now: number): Promise<Set<string>> {
  const failing = updates.filter((d) => d.failure !== 'unchanged');
  if (failing.length > 0) {
    const p = new Parameters();
    const t = p.unnest(failing.map((d) => ({ id: d.id, failure: d.failure, failing_since: d.failingSince })), { id: 'text', failure: 'text', failing_since: 'bigint' });
    await client.query(
      `update destinations d set
        failing_since = case t.failure when 'cleared' then null else coalesce(d.failing_since, t.failing_since) end
      from ${t.source}
      where d.id = t.id and ((t.failure = 'cleared' and d.failing_since is not null) or (t.failure = 'failing' and d.failing_since is null))`,
      p.values,
    );
  }
  const disabling = updates.filter((d) => d.disabledReason !== null);
  if (disabling.length === 0) return new Set();
  const p = new Parameters();
  const t = p.unnest(disabling.map((d) => ({ id: d.id, disabled_reason: d.disabledReason })), { id: 'text', disabled_reason: 'text' });
  const at = p.add(now);
  const { rows } = await client.query<{ id: string }>(
    `update destinations d set disabled_at = ${at}::bigint, disabled_reason = t.disabled_reason, updated_at = ${at}::bigint
    from ${t.source}
    where d.id = t.id and d.disabled_at is null
    returning d.id`,
    p.values,
  );
  return new Set(rows.map((r) => r.id));
}
