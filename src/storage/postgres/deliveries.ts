import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { DeliveryId } from '../../domain/ids.js';
import { reserveSlots } from '../../domain/pace.js';
import type { ClaimShare, CompleteResult, Delivery, DeliveryOutcome, PaceRequest, PaceSlots } from '../ports.js';
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
  /**
   * A destination with its own `max_concurrency` caps what the whole cluster has in flight to it: the claim
   * counts its deliveries under an unexpired lease, whoever holds them. Two claims running at once would each
   * count without the other's leases (a statement sees what was committed when it began), so such a
   * destination is claimed by one claim at a time: the claim is a transaction that first tries a
   * transaction-level advisory lock per such destination (never waiting: one whose lock another claim holds
   * is left out of this claim, that one is claiming for it), then counts and claims in a statement that
   * begins after the locks were granted, so after the previous holder's leases were committed.
   * While the last claim found no such destination, a claim is the one statement it was (nothing more to pay)
   * and leaves any capped destination out; it says whether it found one, and the next claim locks again (at
   * once when this one claimed nothing).
   */
  let capped = true;
  async function claim(now: number, limit: number, leaseMs: number, share?: ClaimShare): Promise<Delivery[]> {
    if (!capped) {
      const claimed = await claimIn(db, now, limit, leaseMs, share, []);
      capped = claimed.capped;
      // Nothing claimed, and a capped destination was left out: claim for it now (the worker would look
      // again only at its next wake). With deliveries, the worker claims again at once anyway.
      if (!capped || claimed.deliveries.length > 0) return claimed.deliveries;
    }
    return db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ id: string; held: boolean }>`
        select id, pg_try_advisory_xact_lock(${sql.lit(capLockClass)}, hashtext(id)) as held from destinations
        where max_concurrency is not null and disabled_at is null and paused_at is null and deleted_at is null`.execute(trx);
      capped = rows.length > 0;
      return (await claimIn(trx, now, limit, leaseMs, share, rows.filter((r) => r.held).map((r) => r.id))).deliveries;
    });
  }

  /**
   * The claim's statement; `held`: the capped destinations it may take (the others get no room). Answers
   * whether any enabled destination has its own max_concurrency, taken or not.
   */
  async function claimIn(q: Kysely<Database>, now: number, limit: number, leaseMs: number, share: ClaimShare | undefined, held: string[]): Promise<{ deliveries: Delivery[]; capped: boolean }> {
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
    const { rows } = await sql<DeliveriesTable & { capped: boolean }>`
      with share as (
        select t.id, t.max_concurrency is not null as capped, case
          when t.max_concurrency is null then least(greatest(least(${share?.perDestination ?? limit}::integer, coalesce(c.cap, ${limit})) - coalesce(b.n, 0), 0), ${limit})
          when t.id = any(${held}::text[]) then least(greatest(least(t.max_concurrency, coalesce(c.cap, ${limit})) - greatest(coalesce(b.n, 0), (${leasedCount(now)})), 0), ${limit})
          else 0 end as room
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
        limit ${limit}),
      claimed as (
        update deliveries u set locked_until = ${now + leaseMs}, updated_at = ${now}, schedule_start = least(u.schedule_start, u.attempts)
        where u.id = any(array(select id from due))
        returning u.*)
      select c.*, f.capped from (select coalesce(bool_or(capped), false) as capped from share) f left join claimed c on true`.execute(q);
    return {
      deliveries: rows.filter((r) => r.id !== null).map(rowToDelivery).sort((a, b) => a.eventSeq - b.eventSeq),
      capped: rows[0]?.capped ?? false,
    };
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

  /**
   * Each destination's bucket is its row (`pace_next_at`, migration 0023), on the database's clock: every
   * worker of the cluster reserves from it, so the rate holds for the cluster, whatever the nodes' clocks say
   * (a wait is from the database's now). One autocommit statement per destination: it locks that row alone,
   * with no transaction open, so it cannot wait in a cycle with an outcomes' transaction (deliveries, then
   * the destination) or with another reservation. It reserves only the slots within `maxWaitMs` (the same
   * arithmetic as domain/pace.ts, which turns the bucket as it was into the waits), so none is held for a
   * delivery that is deferred instead.
   */
  async function pace(requests: readonly PaceRequest[], maxWaitMs: number): Promise<PaceSlots[]> {
    return Promise.all(requests.map(async (r) => {
      const interval = 1000 / r.perSecond;
      const { rows } = await pool.query<{ next: number | null; t: number }>(paceStatement, [r.destinationId, interval, r.count, maxWaitMs, paceBurstMs]);
      // A destination removed from the table meanwhile: nothing is sent to it (the worker finds it gone).
      if (!rows[0]) return { waits: [], retryInMs: maxWaitMs };
      const { waits, retryInMs } = reserveSlots(rows[0].next, rows[0].t, r.perSecond, r.count, maxWaitMs, paceBurstMs);
      return { waits, retryInMs };
    }));
  }

  return { claim, complete, pace };
}

/** The advisory locks' class of claims for capped destinations (append.ts's calls: 7340). */
const capLockClass = 7_341;
/** A new or idle bucket lets this much of its rate out at once (domain/pace.ts's default). */
const paceBurstMs = 1000;

/**
 * What the cluster has in flight to destination `t` (its deliveries under a lease that has not run out), for
 * a destination with its own max_concurrency. A walk down deliveries_destination_due (no index of its own: an
 * index on the lease would make every claim's update of a delivery a non-HOT one, whatever its destination),
 * over the destination's first due deliveries only: a claim takes the oldest first, so those in flight are at
 * the front, among at most a few of their calls' later events waiting behind them. Bounded, a claim's cost
 * does not grow with the backlog.
 */
function leasedCount(now: number) {
  return sql`select count(*)::integer from (
      select l.locked_until from deliveries l
      where l.destination_id = t.id and l.status = 'pending' and l.next_attempt_at <= ${now} and l.event_seq is not null
      order by l.next_attempt_at, l.event_seq
      limit t.max_concurrency * 4 + 1000) w
    where w.locked_until > ${now}`;
}

/**
 * $1 destination, $2 interval (ms), $3 slots asked, $4 the longest wait, $5 the burst: the bucket as it was
 * (its row locked by the inner select, read after any reservation that held it) and the database's now, with
 * the slots within the wait reserved (at least up to now less the burst: an idle bucket saves no more).
 */
const paceStatement = `
  update destinations d set pace_next_at = o.first + o.fit * $2::float8
  from (
    select p.next, p.t, p.first, least($3::integer, greatest(0, floor((p.t + $4::float8 - p.first) / $2::float8 + 1e-9) + 1))::integer as fit
    from (
      select c.pace_next_at as next, c.t, greatest(coalesce(c.pace_next_at, '-infinity'::float8), c.t - $5::float8 + $2::float8) as first
      from (select pace_next_at, (extract(epoch from clock_timestamp()) * 1000)::float8 as t from destinations where id = $1 for update) c) p) o
  where d.id = $1
  returning o.next, o.t`;

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
