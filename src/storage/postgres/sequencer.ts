import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import type { Sequenced, SequencerOptions, SequencerStatus } from '../ports.js';
import type { Database } from '../schema.js';
import pg from 'pg';
import { appendChannel, inTransaction, queryAll } from './append.js';
import { preparedStatements } from './prepared.js';
import { eventColumns } from '../shared/event-rows.js';
import { toStoredEvent } from '../shared/event-log.js';

/**
 * The NOTIFY's payload is the last seq given, followed by this when none of the events sequenced queued a
 * delivery: the workers that hear it need not look for work (a payload without it, as from an older node,
 * wakes them).
 */
export const noDeliveries = ' no-deliveries';

/**
 * The sequencer (issue 14): gives committed events their dense `seq`, once, in one order every node reads.
 *
 * One node at a time holds the role: the row of switchboard_sequencer names it and a lease in the
 * database's clock (`leaseMs`); the others try to take it over every `takeoverCheckMs` and succeed once
 * the lease ran out (a node killed with -9 is replaced within about a lease). Correctness does not depend
 * on the lease: every tick locks that row first (SELECT … FOR UPDATE SKIP LOCKED) and reads the last seq
 * under the lock, in a statement of its own, so two ticks never overlap and the next one's snapshot
 * sees what the previous one committed.
 *
 * A tick takes the rows of `event_queue` (the appends' events without seq, migrations 0018 and 0019) whose
 * transaction is below the watermark, `xid < pg_snapshot_xmin(pg_current_snapshot())`: every transaction below
 * it has committed or aborted, so no row can appear there later. They get last_seq + 1, + 2, … in
 * (xid, xid_ord, id) order — a transaction's events in the order of its batch, which is the order their calls
 * were merged in — as rows of `event_seqs`, and leave `event_queue`; the deliveries they queued are inserted
 * with that event_seq (0019); the state row the new last seq; and one NOTIFY carries it to every node (delivered at commit).
 * The event's own row is not written again (before 0018 it was: a second copy of it, body and all). A transaction that stays open anywhere in the cluster holds the watermark — and so every
 * later event — back until it ends; the guards are the connections' timeouts and `status()`'s lag.
 */
export interface Sequencer {
  /** Asks for a tick soon (a local commit: the events may be ready). */
  wake(): void;
  /** The latest view of the log's lag (for metrics and the warning); refreshed every `statusEveryMs`. */
  status(): SequencerStatus;
  stop(): Promise<void>;
}

/** For tests only: drops the watermark condition (the property test shows what it protects). */
export const sequencerTestHooks = { ignoreWatermark: false };

/**
 * The tick's COMMIT returns without waiting for its WAL to reach the disk: the stream's events are sent one
 * fsync sooner. Nothing is lost. What a tick writes is a function of what was already durable: every row
 * below the watermark belongs to a transaction that committed before the tick read it — durably, as appends
 * commit with the server's synchronous_commit (on by default) — and those rows come first in
 * (xid, xid_ord, id) order, ahead of any row committed later. If
 * PostgreSQL crashes before the tick's WAL is flushed, the next tick therefore gives the same rows the same
 * seqs, and a reader that saw them sees them again unchanged. And every write that acts on a seq (a claim of
 * a delivery, an outcome) commits synchronously later in the same WAL, which flushes the tick's commit first.
 */
const asynchronousCommit = 'set local synchronous_commit to off';

/** Looks in a row that find no event before the wait between looks starts to grow (see next()). */
const fastIdleLooks = 10;
/** Whether any event is without seq: committed and waiting, whether below the watermark yet or not. */
const anyUnsequenced = 'exists (select 1 from event_queue)';

/** The setting the claim marks its transaction with; local to the transaction, so a pooled connection never keeps it. */
const tickMark = 'switchboard.sequencer_tick';
/** In the tick's statement: its transaction's claim found the role this node's. A condition on no row: PostgreSQL tests it once. */
const claimed = `current_setting(${pg.escapeLiteral(tickMark)}, true) = 'yes'`;
/** The last seq before the tick, as its claim read it (empty when unclaimed: read as 0, also by the planner's estimates). */
const tickFrom = 'switchboard.sequencer_from';
/** The most events a tick hands to its node's stream (`handedEvents`); a larger tick's are read by the stream in pages. */
export const handMax = 64;
/**
 * After the numbering, in the same message: the events the tick gave seqs to, as the stream reads them (the
 * rows and columns of the event log's `readAfter`, shared/event-log.ts: every status but quarantined; its columns
 * named, as a prepared statement's must be), `handMax` + 1 at most, so a larger tick is told by its count.
 * Found through event_seqs' key: the seqs after the claim's last one.
 */
export const handedEvents = `select seq, ${eventColumns.join(', ')}, reprocessed_into from events e
  where ${claimed} and e.seq > coalesce(nullif(current_setting(${pg.escapeLiteral(tickFrom)}, true), ''), '0')::bigint
    and e.status <> 'quarantined'
  order by e.seq limit ${handMax + 1}`;

/**
 * The tick's claim: the state row locked (FOR UPDATE SKIP LOCKED: a tick of another node running now leaves
 * no row), its last seq, whether the role is this node's (or free), and if so the transaction marked as this
 * node's tick (a setting local to it, which `claimed` reads). The lock is taken in a materialized CTE, so the
 * mark is made only for a row actually locked (a locking SELECT's own columns are computed before the lock,
 * also for a row it then skips).
 */
export function claimStatement(nodeId: string): string {
  return `with state as materialized (
      select last_seq, (holder is not distinct from ${pg.escapeLiteral(nodeId)} or holder is null or lease_until < clock_timestamp()) as mine
      from switchboard_sequencer where id = 1 for update skip locked)
    select last_seq, mine, set_config(${pg.escapeLiteral(tickMark)}, case when mine then 'yes' else '' end, true) as marked,
      set_config(${pg.escapeLiteral(tickFrom)}, case when mine then last_seq::text else '' end, true) as since from state`;
}

/**
 * The tick's statement (see sequenceOnce): number the ready rows (`batch` at most) after the state row's last
 * seq, give them and their deliveries their seq, store the new last seq and the lease, notify, and fail if
 * fewer rows were stored or taken than numbered. Its values are the node's constants, inlined, so that it is
 * prepared once per connection and runs without being planned again (see `prepared`). The last seq is
 * read from the state row, which the tick has locked: every CTE sees the statement's one snapshot, so the
 * numbering and the update of the state row start from the same value. `watermark: false` is for tests only
 * (sequencerTestHooks). It numbers and writes nothing unless the claim (`claimStatement`), earlier in its
 * transaction, found the role this node's: both travel in one message, so the tick cannot wait for the
 * claim's answer before it sends the numbering.
 *
 * The numbered rows are inserted into `event_seqs` (unique on seq and on id: an event never gets two seqs)
 * and deleted from `event_queue` by its key; the deliveries each queued row carries (0019) are inserted with
 * its seq. Deliveries inserted without their seq — by a version before 0019, before the upgrade — get it from
 * an update, as before. That update finds its rows from the numbered ones,
 * by key, whatever the statistics say: they count almost no rows without seq (rightly, between ticks), and
 * PostgreSQL then found the rows to update by themselves and compared each with every numbered row —
 * quadratic (docs/benchmarks.md, 2026-12-03). The deliveries are found by event_id through deliveries_event. Their
 * guard (never a second seq) is written `coalesce(d.event_seq, n.seq) = n.seq`, not `d.event_seq is null`: a
 * condition on both tables, which PostgreSQL cannot apply while scanning deliveries alone, so a scan of the
 * table no longer looks like a cheap way to a few rows. And each event is known to have a few deliveries, not
 * all of them (migration 0015; statistics taken while the table held one event's deliveries said the
 * latter). Before, it scanned the table for the deliveries without event_seq and compared each with every
 * numbered event (an 800-event backlog: 12.8 million comparisons, 3.4 s; in the deliveries bench, 210 events ×
 * 4,200 deliveries: 877,800 comparisons, 280 ms).
 */
export function tickStatement(o: { nodeId: string; leaseMs: number; batch: number; watermark: boolean }): string {
  const ready = o.watermark ? 'e.xid < pg_snapshot_xmin(pg_current_snapshot())' : 'true';
  return `with ready as (
      select e.id, e.xid, e.xid_ord, e.delivery_ids, e.destination_ids, e.order_key, e.queued_at from event_queue e
      where ${claimed} and ${ready} order by e.xid, e.xid_ord, e.id limit ${o.batch}),
    numbered as (
      select id, xid, xid_ord, delivery_ids, destination_ids, order_key, queued_at,
        (select last_seq from switchboard_sequencer where id = 1) + row_number() over (order by xid, xid_ord, id) as seq from ready),
    sequenced as (
      insert into event_seqs (seq, id, xid, xid_ord) select seq, id, xid, xid_ord from numbered returning seq),
    taken as (
      delete from event_queue e using numbered n where e.xid = n.xid and e.xid_ord = n.xid_ord and e.id = n.id returning 1),
    queued as (
      insert into deliveries (id, destination_id, event_seq, event_id, order_key, status, attempts, schedule_start, next_attempt_at, created_at, updated_at)
      select d.id, d.destination_id, n.seq, n.id, n.order_key, 'pending', 0, 0, n.queued_at, n.queued_at, n.queued_at
      from numbered n cross join lateral unnest(n.delivery_ids, n.destination_ids) as d(id, destination_id) returning 1),
    outbox as (
      update deliveries d set event_seq = n.seq from numbered n where d.event_id = n.id and coalesce(d.event_seq, n.seq) = n.seq returning 1),
    deliveries_sequenced as (select (select count(*) from queued) + (select count(*) from outbox) as n),
    state as (
      update switchboard_sequencer set last_seq = coalesce((select max(seq) from sequenced), last_seq), holder = ${pg.escapeLiteral(o.nodeId)},
        lease_until = clock_timestamp() + ${pg.escapeLiteral(`${o.leaseMs} milliseconds`)}::interval where id = 1 and ${claimed})
    select count(*)::int as n, max(seq) as last, (select count(*) from numbered)::int as planned, (select n from deliveries_sequenced)::int as queued,
      ${anyUnsequenced} as pending,
      case when count(*) > 0 then pg_notify(${pg.escapeLiteral(appendChannel)}, max(seq)::text || case when (select n from deliveries_sequenced) = 0 then ${pg.escapeLiteral(noDeliveries)} else '' end) end as notified,
      case when count(*) <> (select count(*) from numbered) or (select count(*) from taken) <> (select count(*) from numbered) then
        cast('sequencer: numbered ' || (select count(*) from numbered) || ' rows but stored ' || count(*) || ' and took ' || (select count(*) from taken) as int) end as gap_check
    from sequenced`;
}

export function startSequencer(db: Kysely<Database>, pool: pg.Pool, options: SequencerOptions): Sequencer {
  const { nodeId, intervalMs = 5, leaseMs = 3000, takeoverCheckMs = 1000, batch = 5000, statusEveryMs = 1000, replanMs = 10_000, vacuumEveryMs = 1000 } = options;
  // Never longer than a third of the lease: the holder renews it at its looks.
  const idleIntervalMs = Math.max(intervalMs, Math.min(options.idleIntervalMs ?? 50, leaseMs / 3));
  let holder = false;
  let renewedAt = 0;
  let triedAt = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  let woken = false;
  let current: SequencerStatus = { holder: false, unsequenced: 0, oldestUnsequencedMs: 0, oldestTransactionMs: 0, lastSeq: 0 };
  /** The status query (pg_stat_activity, a count) and the queue's vacuum run beside the ticks, not between two of them. */
  const statusJob = besideTicks(statusEveryMs);
  const vacuumJob = besideTicks(vacuumEveryMs);
  /** Rows this node's ticks took out of event_queue since its last vacuum: their dead versions wait for one. */
  let taken = 0;
  /** Whether that vacuum left the table's empty pages in place (while events came: see vacuumQueue). */
  let untruncated = false;
  /** Whether this node's role may vacuum the queue: unknown until its first vacuum (see mayVacuum). */
  let vacuumAllowed: boolean | undefined;
  /** The looks in a row that found no event (see next()). */
  let idleLooks = 0;
  /**
   * The tick's statements, prepared once per connection (prepared.ts): their values are the node's constants,
   * so prepared statements without parameters, each run on one plan (made again every `replanMs`). No tick
   * pays for planning them any more: under load that was about as much of PostgreSQL's CPU as running them.
   */
  const prepared = preparedStatements(replanMs);
  /** The tick's text, made once (it is also its prepared statement's key); without the watermark for tests only. */
  const tickTexts = { guarded: tickStatement({ nodeId, leaseMs, batch, watermark: true }), unguarded: tickStatement({ nodeId, leaseMs, batch, watermark: false }) };
  /** The state row, locked, and whether the role is this node's (or free). Prepared as the tick is. */
  const claim = claimStatement(nodeId);

  /**
   * One tick: the number of rows it sequenced (-1: this node does not hold the role), and whether the log was
   * idle — no row without seq at all, where rows held back by the watermark (transactions still open) mean
   * events are coming.
   */
  async function tick(): Promise<{ n: number; idle: boolean }> {
    const now = Date.now();
    const wasWoken = woken;
    woken = false;
    if (!holder && now - triedAt < takeoverCheckMs) return { n: -1, idle: false };
    if (holder && !wasWoken && now - renewedAt < leaseMs / 3) {
      // The cheap look first: most timer ticks of an idle log find nothing and write nothing. (A tick woken
      // by a local commit knows there is something.)
      const { rows } = await sql<{ ready: boolean }>`select ${sql.raw(anyUnsequenced)} as ready`.execute(db);
      if (!rows[0]!.ready) return { n: 0, idle: true };
    }
    triedAt = now;
    const { n, queued, lastSeq, pending, sequenced } = await sequenceOnce(now);
    if (n > 0) {
      taken += n;
      options.onSequenced?.(lastSeq, queued, sequenced);
    }
    return { n, idle: !pending };
  }

  /**
   * The tick's transaction in one round trip: BEGIN, the claim (the state row's lock), and the statement that
   * numbers the ready rows, gives them and their deliveries their seq, stores the new last seq and the lease,
   * and notifies, then COMMIT, all in one message (each an EXECUTE of the statement prepared on this
   * connection: no plan per tick). The numbering is a statement of its own, after the claim: a statement's
   * snapshot is taken when it starts, so it sees what the previous tick committed before this one got the
   * lock. It does nothing unless the claim found the role this node's (`claimed`). It fails (and with it the
   * transaction, the COMMIT then skipped) if it stored fewer rows than it numbered. Its COMMIT does not wait
   * for the disk (`asynchronousCommit`). While this node's stream has clients (`wantsEvents`), the message also
   * reads back the events it numbered (`handedEvents`), handed on when there are at most `handMax` of them.
   */
  async function sequenceOnce(now: number): Promise<{ n: number; queued: number; lastSeq: number; pending: boolean; sequenced?: Sequenced }> {
    return inTransaction(pool, async (client) => {
      const claiming = await prepared(client, claim, [], true, now);
      const numbering = await prepared(client, sequencerTestHooks.ignoreWatermark ? tickTexts.unguarded : tickTexts.guarded, [], true, now);
      // The events too, when this node's stream wants them: no read of its own after the tick.
      const handing = options.wantsEvents?.() ? await prepared(client, handedEvents, [], true, now) : null;
      const results = await queryAll(client, ['begin', asynchronousCommit, claiming, numbering, ...(handing ? [handing] : []), 'commit']);
      const [, , locked, numberedRows] = results;
      const row = locked![0] as { last_seq: number; mine: boolean } | undefined;
      const { n, last: newLast, planned, queued, pending } = numberedRows![0] as { n: number; last: number | null; planned: number; queued: number; pending: boolean };
      if (!row || !row.mine) {
        // Its statement numbered nothing without the claim (`claimed`); this is a second look.
        if (planned !== 0) throw new Error(`sequencer: numbered ${planned} rows without the role`);
        holder = false;
        return { n: -1, queued: 0, lastSeq: 0, pending: false };
      }
      const last = Number(row.last_seq);
      // Never a gap: every row numbered must have been stored (it cannot be otherwise under the lock); the
      // statement's gap_check failed it (and the transaction) otherwise, this is a second look.
      if (n !== planned) throw new Error(`sequencer: numbered ${planned} rows but stored ${n}`);
      holder = true;
      renewedAt = now;
      current = { ...current, holder: true, lastSeq: n > 0 ? Number(newLast) : last };
      const sequenced: Sequenced | undefined = handing && n > 0 && n <= handMax
        ? { from: last + 1, upTo: current.lastSeq, events: (results[4] as Parameters<typeof toStoredEvent>[0][]).map(toStoredEvent) }
        : undefined;
      return { n, queued, lastSeq: current.lastSeq, pending, sequenced };
    }, true);
  }

  async function refreshStatus(): Promise<void> {
    const { rows } = await sql<{ unsequenced: number; oldest: number | null; oldest_xact: number | null; last_seq: number }>`
      select (select count(*) from event_queue)::int as unsequenced,
        (select ${Date.now()}::bigint - min(r.received_at) from event_queue p join event_rows r on r.id = p.id) as oldest,
        (select extract(epoch from clock_timestamp() - min(xact_start)) * 1000 from pg_stat_activity
          where backend_xid is not null or backend_xmin is not null) as oldest_xact,
        (select last_seq from switchboard_sequencer where id = 1) as last_seq`.execute(db);
    const r = rows[0]!;
    current = {
      holder,
      unsequenced: r.unsequenced,
      oldestUnsequencedMs: Math.max(0, Number(r.oldest ?? 0)),
      oldestTransactionMs: Math.max(0, Math.round(Number(r.oldest_xact ?? 0))),
      // It runs beside the ticks: one that committed after this read keeps its (higher) last seq.
      lastSeq: Math.max(Number(r.last_seq), current.lastSeq),
    };
    options.onStatus?.(current);
  }

  /**
   * VACUUM of the sequencer's queue, every `vacuumEveryMs` while this node's ticks take rows out of it. Each
   * event leaves a dead row in event_queue and a dead entry in its key, which autovacuum reaches only after
   * its nap (a minute, shared by every database of the cluster): meanwhile the tick's `pending` look and its
   * scan of the key walked over every dead one — at 8,000 events/s, ~3,000 pages per tick after 80 s
   * (docs/benchmarks.md, 2026-12-05). While events come, it leaves the empty pages where they are
   * (`truncate false`: giving them back takes the table's exclusive lock, which the appends' inserts would
   * wait for); once the log is idle, one more gives them back. `skip_locked`: never waits for another vacuum.
   */
  function vacuumQueue(idle: boolean): void {
    if (!holder || vacuumAllowed === false) return;
    const truncate = taken === 0;
    if (truncate && !(untruncated && idle)) return;
    vacuumJob.start(async () => {
      taken = 0;
      untruncated = !truncate;
      if (await mayVacuum()) await sql.raw(`vacuum (skip_locked${truncate ? '' : ', truncate false'}) event_queue`).execute(db);
    });
  }

  /**
   * A job run beside the ticks: at most one at a time, at most once every `everyMs` (`start` does nothing
   * otherwise); its errors go to onError, and stop() waits for it.
   */
  function besideTicks(everyMs: number) {
    let at = 0;
    let run: Promise<void> | null = null;
    return {
      start(job: () => Promise<unknown>): void {
        if (run || Date.now() - at < everyMs) return;
        at = Date.now();
        run = job()
          .then(() => undefined, (error: Error) => options.onError?.(error))
          .finally(() => (run = null));
      },
      finished: () => run,
    };
  }

  /**
   * Whether this node's role may VACUUM the queue, asked once: only the table's owner (or a member of its role,
   * or the database's owner, or a superuser) may. Another role's VACUUM does nothing but leave a WARNING in
   * PostgreSQL's log — every second — so the node does not try, and says once what to do.
   */
  async function mayVacuum(): Promise<boolean> {
    if (vacuumAllowed !== undefined) return vacuumAllowed;
    const { rows } = await sql<{ allowed: boolean }>`
      select pg_has_role(c.relowner, 'USAGE') or pg_has_role(d.datdba, 'USAGE') as allowed
      from pg_class c, pg_database d where c.oid = 'event_queue'::regclass and d.datname = current_database()`.execute(db);
    vacuumAllowed = rows[0]?.allowed === true;
    if (!vacuumAllowed) {
      options.onWarning?.('sequencer: this role does not own event_queue and cannot vacuum it; the queue waits for autovacuum, '
        + 'and every tick reads its dead rows until then. Run Switchboard as the owner of its tables, or see docs/scale-out.md');
    }
    return vacuumAllowed;
  }

  /**
   * The wait after a tick (-1: the role is another node's). While events come, every `intervalMs`: rows
   * without seq, whether below the watermark yet or not, are events coming. Past `fastIdleLooks` looks in a
   * row that found none, each doubles the wait, up to `idleIntervalMs`: an idle log costs a look every
   * `idleIntervalMs`, where a look every 5 ms cost 0.11 of a core on the node and 0.05 on PostgreSQL, doing
   * nothing (docs/benchmarks.md, 2026-12-03). Only events committed on other nodes wait for a look (this
   * node's commits wake it), and after a quiet spell at most `idleIntervalMs`; with less than
   * `fastIdleLooks` × `intervalMs` between them, no longer than before. A node without the role looks again
   * when its next takeover check is due.
   */
  function next({ n, idle }: { n: number; idle: boolean }): number {
    if (n < 0) return Math.max(intervalMs, takeoverCheckMs - (Date.now() - triedAt));
    idleLooks = idle ? idleLooks + 1 : 0;
    return Math.min(idleIntervalMs, intervalMs * 2 ** Math.max(0, idleLooks - fastIdleLooks));
  }

  async function loop(): Promise<number> {
    let wait = intervalMs;
    do {
      again = false;
      try {
        const looked = await tick();
        wait = next(looked);
        if (looked.n >= batch) again = true;
        statusJob.start(refreshStatus);
        vacuumQueue(looked.idle);
      } catch (error) {
        holder = false;
        wait = intervalMs;
        options.onError?.(error as Error);
      }
    } while (again && !stopped);
    return wait;
  }

  function schedule(waitMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (running) {
        again = true;
        return;
      }
      running = loop().catch(() => intervalMs).then((wait) => {
        running = null;
        schedule(wait);
      });
    }, waitMs);
  }

  schedule(0);
  return {
    wake() {
      woken = true;
      idleLooks = 0;
      if (running) again = true;
      else if (holder) schedule(0);
    },
    status: () => current,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await statusJob.finished();
      await vacuumJob.finished();
      // Hand the role over at once rather than after the lease: the next node's check takes it.
      if (holder) await sql`update switchboard_sequencer set lease_until = null, holder = null where id = 1 and holder = ${nodeId}`.execute(db).catch(() => {});
    },
  };
}

/**
 * Resolves once every event whose transaction ended before the call has its seq: the transactions below
 * the snapshot's xmax now, whatever commits later (so it ends under a steady load too): true; or after `timeoutMs`: false.
 */
export async function waitSequenced(db: Kysely<Database>, timeoutMs = 5000): Promise<boolean> {
  const { rows } = await sql<{ horizon: string }>`select pg_snapshot_xmax(pg_current_snapshot())::text as horizon`.execute(db);
  const horizon = rows[0]!.horizon;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows: pending } = await sql<{ waiting: boolean }>`
      select exists (select 1 from event_queue where xid < ${horizon}::xid8) as waiting`.execute(db);
    if (!pending[0]!.waiting) return true;
    if (Date.now() >= deadline) return false;
    await sleep(5);
  }
}
