import { sql, type Kysely, type Transaction } from 'kysely';
import type { CallState } from '../../domain/call.js';
import type { DestinationFilters } from '../../domain/destination.js';
import type { EventId } from '../../domain/ids.js';
import type { AppendResult, NewEvent } from '../ports.js';
import type { CallsTable, Database, DestinationsTable } from '../schema.js';
import {
  callAfterJson, callKey, callKeysToLoad, duplicateCandidates, eventKey, planAppend, queueOutbox, recordInserted, type Candidate, type Stored,
} from '../shared/append-plan.js';
import { callColumns, callToRow, rowToCall } from '../shared/call-rows.js';
import { deliveryColumns, rowToFilters } from '../shared/destination-rows.js';
import { eventColumns, toRow } from '../shared/event-rows.js';

/**
 * The ingest hot path on PostgreSQL: the shared plan (shared/append-plan.ts) in a fixed number of
 * statements whatever the batch size. Lookups and the bulk writes pass one array per column through
 * `unnest` (a fixed number of parameters, where a multi-row VALUES list grows with the batch and must be
 * built, sent and planned); the events themselves go as a VALUES list so that their bodies travel as
 * binary parameters. Building multi-row statements through Kysely instead would compile, send and plan a
 * new statement for every batch size, on the path every append waits for.
 *
 * Appends from every node run at once (issue 14): no global lock, no NOTIFY. What keeps them apart is a
 * transaction-level advisory lock per call the batch touches, taken first, in one statement, in the order
 * of the keys' hashes (so two batches touching the same calls in opposite orders cannot deadlock):
 *   - deduplication and the merge of one call never race: the second batch reads what the first committed;
 *   - the lock is taken before the transaction has an id (advisory locks do not assign one; a row lock,
 *     SELECT … FOR UPDATE, would), and the id is assigned at the first insert. So of two transactions
 *     merging events of one call, the later one always has the higher xid, and the sequencer, which gives
 *     seq in (xid, xid_ord, id) order (sequencer.ts), puts a call's events in the order they were merged.
 * Events are inserted with ON CONFLICT DO NOTHING on the deduplication key and their seq left null: the
 * sequencer gives it after commit, and sets the outbox rows' event_seq in the same transaction.
 * A deadlock or serialization failure (not expected: every lock is taken in one order) retries the whole
 * transaction. Nodes of the previous version take the global lock `legacyAppendLockKey` exclusively;
 * this version takes it shared, so during a rolling upgrade old and new appends still exclude each other.
 */
export const legacyAppendLockKey = 7_340_001;
const callLockClass = 7_340;
export const appendChannel = 'switchboard_log';
const retryableCodes = new Set(['40P01', '40001']);
/** For tests only: runs inside each append's transaction after its events are inserted (slow commits). */
export const appendTestHooks: { afterInsert: (() => Promise<void>) | null } = { afterInsert: null };
const maxAttempts = 5;

const text = 'text', int8 = 'bigint', int4 = 'integer', float = 'double precision';
const callTypes: Record<keyof CallsTable, string> = {
  source_id: text, call_id: text, user_id: text, widget_key: text, widget_name: text, status: text, timezone: text,
  is_delayed_call: int4, called_lead_phone: text, lead: text, agent: text, agent_id: text, started_at: int8,
  agent_answered_at: int8, lead_answered_at: int8, ended_at: int8, answer_duration_sec: float, lead_answer_duration_sec: float,
  talk_duration_sec: float, total_duration_sec: float, disconnected_by: text, recording_link: text, lead_created_at: int8,
  speed_to_lead_sec: int8, time_to_connect_sec: int8, first_event_at: int8, last_event_at: int8, event_count: int4, merge_rank: int4,
  lead_phone_digits: text, called_phone_digits: text,
};
const deliveryTypes: Record<(typeof deliveryColumns)[number], string> = {
  id: text, destination_id: text, event_seq: int8, event_id: text, order_key: text, status: text, attempts: int4, schedule_start: int4,
  next_attempt_at: int8, locked_until: int8, last_status: int4, last_error: text, created_at: int8, updated_at: int8, finished_at: int8,
};

/** `select * from unnest($1::text[], $2::bigint[], …) as t(a, b, …)` over the columns of `rows`. */
export function unnest<T extends object>(rows: T[], types: Record<string, string>) {
  const columns = Object.keys(types);
  const arrays = columns.map((c) => sql`${rows.map((r) => (r as Record<string, unknown>)[c] ?? null)}::${sql.raw(types[c]!)}[]`);
  return { columns: sql.raw(columns.join(', ')), source: sql`unnest(${sql.join(arrays)}) as t(${sql.raw(columns.join(', '))})` };
}

export function createPostgresAppend(db: Kysely<Database>, callObjectMaxBytes?: number) {
  return (batch: readonly NewEvent[]): Promise<AppendResult[]> => retryTransaction(db, (trx) => appendIn(trx, batch, callObjectMaxBytes));
}

/** Runs `work` in a transaction, again (up to 5 times, after a short random wait) when it fails with a deadlock or serialization failure. */
export async function retryTransaction<T>(db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= maxAttempts || code === undefined || !retryableCodes.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

class ConcurrentInsert extends Error {
  readonly code = '40001';
}

/** The append inside a transaction the caller owns (the delivery worker appends its events with its outcomes). */
export async function appendIn(trx: Transaction<Database>, batch: readonly NewEvent[], callObjectMaxBytes?: number): Promise<AppendResult[]> {
  const destinations = await lockCallsAndReadDestinations(trx, callKeysToLoad(batch).map((k) => callKey(k.sourceId, k.callId)));
  const plan = planAppend(batch, await storedEvents(trx, duplicateCandidates(batch)), await storedCalls(trx, callKeysToLoad(batch)), callObjectMaxBytes);
  const callAfter = callAfterJson(plan);
  const rows = plan.fresh.map(({ event }, i) => toRow(event, callAfter[i]!));
  // A VALUES list here, not unnest: node-postgres sends Buffer parameters in binary, while a bytea[]
  // array would travel as hex text, to be escaped here and decoded by the server.
  // xid_ord: the place in the batch, which the sequencer orders a transaction's events by (their merge order).
  const values = sql.join(rows.map((r, i) => sql`(${sql.join(eventColumns.map((c) => r[c]))}, ${i})`));
  if (rows.length > 0) {
    const inserted = await sql<{ id: string }>`
      insert into events (${sql.raw(eventColumns.join(', '))}, xid_ord) values ${values}
      on conflict (call_id, source_id, body_hash) do nothing returning id`.execute(trx);
    // Cannot happen while the call locks hold (the same body carries the same call_id, so a concurrent
    // copy waits for our lock and then reads ours); if it ever did, the batch is planned again.
    if (inserted.rows.length !== rows.length) throw new ConcurrentInsert('an event of the batch was stored concurrently');
    await appendTestHooks.afterInsert?.();
  }
  // Not sequenced yet: the answer does not carry seq (SPEC), and readers see the event once it has one.
  const unsequenced = rows.map(() => 0);
  const results = recordInserted(plan, unsequenced);
  if (plan.touched.length > 0) {
    const touched = [...plan.touched].sort((a, b) => compareKeys(callKey(a.source_id, a.call_id), callKey(b.source_id, b.call_id)));
    const calls = unnest(touched.map(callToRow), callTypes);
    await sql`insert into calls (${calls.columns}) select ${calls.columns} from ${calls.source}
      on conflict (call_id, source_id) do update set ${sql.raw(callColumns.map((c) => `${c} = excluded.${c}`).join(', '))}`.execute(trx);
  }
  const outbox = queueOutbox(plan, unsequenced, destinations).map((d) => ({ ...d, event_seq: null }));
  if (outbox.length > 0) {
    const deliveries = unnest(outbox, deliveryTypes);
    await sql`insert into deliveries (${deliveries.columns}) select ${deliveries.columns} from ${deliveries.source}`.execute(trx);
  }
  return results;
}

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One statement: the rolling-upgrade lock shared, one advisory lock per call in the order of their hashes (a
 * collision only makes two calls wait for each other; none of these gives the transaction an xid), then
 * the enabled destinations for the outbox.
 */
async function lockCallsAndReadDestinations(trx: Transaction<Database>, keys: string[]): Promise<DestinationFilters[]> {
  const { rows } = await sql<{ destinations: Array<Pick<DestinationsTable, 'id' | 'event_types' | 'widget_keys' | 'call_statuses'>> }>`
    select pg_advisory_xact_lock_shared(${legacyAppendLockKey})::text as upgrade,
      (select count(l) from (
         select pg_advisory_xact_lock(${callLockClass}, h)::text as l
         from (select distinct hashtext(k) as h from unnest(${keys}::text[]) as k order by h offset 0) as ordered) as locks) as locked,
      (select coalesce(json_agg(json_build_object('id', id, 'event_types', event_types, 'widget_keys', widget_keys,
         'call_statuses', call_statuses)), '[]'::json)
       from destinations where deleted_at is null and disabled_at is null) as destinations`.execute(trx);
  return rows[0]!.destinations.map(rowToFilters);
}

async function storedEvents(trx: Transaction<Database>, candidates: Candidate[]): Promise<Map<string, Stored>> {
  const found = new Map<string, Stored>();
  if (candidates.length === 0) return found;
  const { rows } = await sql<{ id: string; seq: number; source_id: string; body_hash: string }>`
    select e.id, e.seq, e.source_id, e.body_hash
    from unnest(${candidates.map((c) => c.callId)}::text[], ${candidates.map((c) => c.sourceId)}::text[], ${candidates.map((c) => c.bodyHash)}::text[])
      as c(call_id, source_id, body_hash)
    join events e on e.call_id = c.call_id and e.source_id = c.source_id and e.body_hash = c.body_hash`.execute(trx);
  for (const r of rows) found.set(eventKey(r.source_id, r.body_hash), { id: r.id as EventId, seq: Number(r.seq) });
  return found;
}

async function storedCalls(trx: Transaction<Database>, keys: Array<{ sourceId: string; callId: string }>): Promise<Map<string, CallState>> {
  const found = new Map<string, CallState>();
  if (keys.length === 0) return found;
  const wanted = new Set(keys.map((k) => callKey(k.sourceId, k.callId)));
  const { rows } = await sql<CallsTable>`select * from calls where call_id = any(${keys.map((k) => k.callId)}::text[])`.execute(trx);
  for (const r of rows) if (wanted.has(callKey(r.source_id, r.call_id))) found.set(callKey(r.source_id, r.call_id), rowToCall(r));
  return found;
}
