import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { CallState } from '../../domain/call.js';
import type { DestinationFilters } from '../../domain/destination.js';
import type { EventId } from '../../domain/ids.js';
import type { AppendResult, NewEvent, OverlapRule } from '../ports.js';
import type { CallsTable, DestinationsTable } from '../schema.js';
import {
  callKey, callKeysToLoad, callText, duplicateCandidates, eventKey, planAppend, queueOutbox, recordInserted, type AppendPlan, type Stored,
} from '../shared/append-plan.js';
import { callColumns, callRowColumns, rowToCall, type RecordForm } from '../shared/call-rows.js';
import { rowToFilters } from '../shared/destination-rows.js';
import { eventColumns, toRow } from '../shared/event-rows.js';
import { notPrepared, noticeUnprepared, preparedStatements, preparing } from './prepared.js';

/**
 * The ingest hot path on PostgreSQL: the shared plan (shared/append-plan.ts) in three round trips whatever
 * the batch size (BEGIN with the locks and the reads; the writes; COMMIT: see appendWith). Each round trip
 * costs the node a socket write and a wake-up of its own, which on loopback also runs the receiving side's
 * TCP work: with eight of them per batch, the pg driver's socket writes were ~10 % of the main thread's busy time.
 * The bulk writes pass one array per column through `unnest` (a fixed number of parameters, where a
 * multi-row VALUES list grows with the batch); the events themselves go as a VALUES list so that their
 * bodies travel as binary parameters. The statements are built as text here, not through Kysely (whose
 * compilation of every statement of every append was itself ~4 % of it).
 *
 * Appends from every node run at once (issue 14): no global lock, no NOTIFY. What keeps them apart is a
 * transaction-level advisory lock per call the batch touches, taken first, in one statement, in the order
 * of the keys' hashes (so two batches touching the same calls in opposite orders cannot deadlock):
 *   - deduplication and the merge of one call never race: the second batch reads what the first committed;
 *   - the lock is taken before the transaction has an id (advisory locks do not assign one; a row lock,
 *     SELECT … FOR UPDATE, would), and the id is assigned at the first insert. So of two transactions
 *     merging events of one call, the later one always has the higher xid, and the sequencer, which gives
 *     seq in (xid, xid_ord, id) order (sequencer.ts), puts a call's events in the order they were merged.
 * Events are inserted into `event_rows` with ON CONFLICT DO NOTHING on the deduplication key, and each gets a
 * row of `event_queue` (migrations 0018, 0019) that carries its outbox rows: the sequencer gives their seq
 * after commit, in `event_seqs`, and inserts the outbox rows with it in the same transaction.
 * A deadlock or serialization failure (not expected: every lock is taken in one order) retries the whole
 * transaction. Nodes of the previous version take the global lock `legacyAppendLockKey` exclusively;
 * this version takes it shared, so during a rolling upgrade old and new appends still exclude each other.
 */
export const legacyAppendLockKey = 7_340_001;
const callLockClass = 7_340;
export const appendChannel = 'switchboard_log';
// 26000: a statement prepared on the connection was not there (a pooler in transaction mode): inTransaction
// has turned preparing off, and the next attempt sends the statements whole (prepared.ts).
const retryableCodes = new Set(['40P01', '40001', notPrepared]);
/** For tests only: runs inside each append's transaction after its events are inserted (slow commits). */
export const appendTestHooks: { afterInsert: ((client: pg.PoolClient) => Promise<void>) | null } = { afterInsert: null };
const maxAttempts = 5;
/** The step-1 statements, prepared once per connection (see appendWith), planned again every 10 s. */
const prepared = preparedStatements(10_000);

const text = 'text', int8 = 'bigint', int4 = 'integer', float = 'double precision';
const callTypes: Record<keyof CallsTable, string> = {
  source_id: text, call_id: text, user_id: text, widget_key: text, widget_name: text, status: text, timezone: text,
  is_delayed_call: int4, called_lead_phone: text, lead: text, agent: text, agent_id: text, started_at: int8,
  agent_answered_at: int8, lead_answered_at: int8, ended_at: int8, answer_duration_sec: float, lead_answer_duration_sec: float,
  talk_duration_sec: float, total_duration_sec: float, disconnected_by: text, recording_link: text, lead_created_at: int8,
  speed_to_lead_sec: int8, time_to_connect_sec: int8, first_event_at: int8, last_event_at: int8, event_count: int4, merge_rank: int4,
  lead_phone_digits: text, called_phone_digits: text,
};
const eventTypes: Record<(typeof eventColumns)[number], string> = {
  id: text, source_id: text, call_id: text, type: text, status: text, error_code: text, error_detail: text, content_type: text,
  body: 'bytea', body_hash: text, body_size: int8, body_truncated: int4, received_at: int8, call_after: text, origin: text,
};
/**
 * The largest padded batch whose write is a named (prepared) statement (see writePlan). The statement of 64
 * rows keeps ~1 MB of PostgreSQL's memory on its connection (parsed, and planned); all sizes together, a few
 * MB per ingest connection. Larger batches (at 256 connections they hold 50–70 events) spread their plan's
 * cost over as many events: prepared up to 128 rows, the PostgreSQL CPU per event there did not move
 * beyond the noise (docs/benchmarks.md, 2026-12-04).
 */
const namedRowsMax = 64;
/**
 * The most events one write takes: its rows are padded to a power of two, each row a parameter per event
 * column, and a statement's parameters are counted in 16 bits (65,535 at most; a batch of 4,400 events — 8,192
 * rows — failed every time with "bind message has 57375 parameter formats but 0 parameters"). 4,096 rows leave
 * room for the outbox's and the calls' arrays (a parameter per column). A larger batch (SWITCHBOARD_COMMIT_MAX_BATCH
 * above it) is appended in slices of this size.
 */
export const maxWriteRows = 2 ** Math.floor(Math.log2((65_535 - 64) / eventColumns.length));
/**
 * What the queue keeps of each outbox row until the tick inserts it with its event's seq (0019): the rest of
 * a new delivery is the same for all (pending, never tried, due and created at its event's arrival).
 */
const queuedDeliveryTypes: Record<'id' | 'destination_id' | 'event_id' | 'order_key' | 'created_at', string> = {
  id: text, destination_id: text, event_id: text, order_key: text, created_at: int8,
};

/**
 * The ingest's group commit hands the append a batch beside one still committing only once this many events
 * wait (EventWriter.commitOverlap); fewer wait for it and go as one batch. An append costs about the same
 * whatever its size up to here — three round trips and a WAL flush, ~390 µs of PostgreSQL's CPU and ~550 µs
 * of the node's — so under light load two small appends side by side cost nearly twice one of both: at 16
 * connections, 5.6 → 8 events per append, PostgreSQL's CPU per event −25 %, req/s +15 %; the same within the
 * noise at 50 and 256 (docs/benchmarks.md, 2026-12-05).
 */
export const commitOverlap: OverlapRule = { kind: 'fixed', waiting: 32 };

/**
 * The ingest's append: the transaction on a client of the ingest pool, driven by hand rather than through
 * Kysely, so that BEGIN travels with the lock and the reads (three round trips in all, see appendWith).
 * A deadlock or serialization failure retries the whole transaction (up to 5 times, after a short random
 * wait).
 */
export function createPostgresAppend(pool: pg.Pool, callObjectMaxBytes?: number) {
  const appendRetrying = async (batch: readonly NewEvent[]): Promise<AppendResult[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await appendOnce(pool, batch, callObjectMaxBytes);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= maxAttempts || code === undefined || !retryableCodes.has(code)) throw error;
        await sleep(Math.random() * 5 * attempt);
      }
    }
  };
  return async (batch: readonly NewEvent[]): Promise<AppendResult[]> => {
    if (batch.length <= maxWriteRows) return appendRetrying(batch);
    // One transaction per slice, one after the other: as if the group commit had made smaller batches. A
    // slice's duplicate of an event in an earlier one is answered with that one's id (it reads it as stored),
    // and its events come after the earlier slice's in the log (a later transaction, a higher xid).
    const results: AppendResult[] = [];
    for (let at = 0; at < batch.length; at += maxWriteRows) results.push(...(await appendRetrying(batch.slice(at, at + maxWriteRows))));
    return results;
  };
}

function appendOnce(pool: pg.Pool, batch: readonly NewEvent[], callObjectMaxBytes?: number): Promise<AppendResult[]> {
  return inTransaction(pool, (client) => appendWith(client, batch, callObjectMaxBytes, true));
}

/** node-postgres' error for a statement past the pool's query_timeout. */
const queryReadTimeout = 'Query read timeout';

/**
 * Runs `work` on a client of `pool` in a transaction that `work` opens itself (its first message starts
 * with BEGIN, so that the BEGIN costs no round trip of its own), then COMMIT; ROLLBACK when it fails (a
 * client whose rollback fails too — a lost connection, a failed COMMIT — is thrown away). `commits`: `work`
 * ends its last message with the COMMIT itself (one round trip less), so none is sent after it.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, commits = false): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const result = await work(client);
    if (!commits) await client.query('commit');
    return result;
  } catch (error) {
    noticeUnprepared(error);
    // A statement that was not answered in time (query_timeout): the connection is not answering, and a
    // rollback would only wait as long again behind it. Thrown away, the server rolls back when it notices.
    if ((error as Error).message === queryReadTimeout) broken = error as Error;
    else {
      await client.query('rollback').catch((e: Error) => {
        broken = e;
      });
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Several statements without parameters in one message: one result per statement. */
export async function queryAll(client: pg.PoolClient, texts: string[]): Promise<Array<Array<Record<string, unknown>>>> {
  const result = (await client.query(texts.join(';\n'))) as pg.QueryResult | pg.QueryResult[];
  return (Array.isArray(result) ? result : [result]).map((r) => r.rows);
}

class ConcurrentInsert extends Error {
  readonly code = '40001';
}

/** The append inside a transaction the caller owns on `client` (the delivery worker appends its events with its outcomes). */
export function appendIn(client: pg.PoolClient, batch: readonly NewEvent[], callObjectMaxBytes?: number): Promise<AppendResult[]> {
  return appendWith(client, batch, callObjectMaxBytes, false);
}

/**
 * The append in two steps, whatever the batch size:
 *  1. the locks and the reads, each a statement of its own so that the reads' snapshot is taken after the
 *     locks were granted (a statement's snapshot is taken when it starts, so a read in the lock statement
 *     could miss what the previous holder of a lock committed while this one waited): the rolling-upgrade
 *     lock and the calls' locks with the enabled destinations, then the stored copies of the batch's
 *     events (duplicates), then the batch's calls. Each is prepared once per connection (prepared.ts) and
 *     run as `EXECUTE name(…)` with its few values (keys, hashes) inlined, escaped, so that all of them,
 *     with the BEGIN (`begin`), travel in one message: one round trip, and no planning.
 *  2. the writes, one statement: the events (ON CONFLICT DO NOTHING on the deduplication key), the calls
 *     (upserted in key order) and the outbox rows, as data-modifying CTEs. If fewer events were inserted
 *     than planned, a concurrent transaction stored one meanwhile (it cannot while the call locks hold):
 *     the transaction is retried, so the duplicate is re-read by step 1's separate statement.
 * With the COMMIT, three round trips where there were eight.
 */
async function appendWith(client: pg.PoolClient, batch: readonly NewEvent[], callObjectMaxBytes: number | undefined, begin: boolean): Promise<AppendResult[]> {
  const keys = callKeysToLoad(batch);
  const candidates = duplicateCandidates(batch);
  const statements = begin ? ['begin'] : [];
  // Prepared once per connection (prepared.ts), before the message; planned again now and then only
  // outside a transaction of the caller's (`begin`: this one opens it).
  const execute = async (text: string, args: string[]) => statements.push(await prepared(client, text, args, begin)) - 1;
  const lockAt = await execute(lockCallsAndReadDestinations, [textArray(keys.map((k) => callKey(k.sourceId, k.callId)))]);
  const eventsAt = candidates.length > 0
    ? await execute(storedEventsQuery, [textArray(candidates.map((c) => c.callId)), textArray(candidates.map((c) => c.sourceId)), textArray(candidates.map((c) => c.bodyHash))])
    : -1;
  const callsAt = keys.length > 0 ? await execute(storedCallsQuery, [textArray(keys.map((k) => k.callId))]) : -1;
  const results = await queryAll(client, statements);
  const { destinations, record_form: form } = results[lockAt]![0] as {
    destinations: Array<Pick<DestinationsTable, 'id' | 'event_types' | 'widget_keys' | 'call_statuses'>>;
    record_form: RecordForm;
  };
  const plan = planAppend(
    batch,
    storedEvents(eventsAt < 0 ? [] : (results[eventsAt] as StoredEventRow[])),
    storedCalls(keys, callsAt < 0 ? [] : (results[callsAt] as unknown as CallsTable[])),
    callObjectMaxBytes,
  );
  return writePlan(client, plan, destinations.map(rowToFilters), form);
}

/**
 * Step 2: one statement for every write (see appendWith); the results, which do not carry seq yet. `form`: how
 * the call records are stored, as the database says (migration 0016), read with the destinations.
 */
async function writePlan(client: pg.PoolClient, plan: AppendPlan, destinations: DestinationFilters[], form: RecordForm): Promise<AppendResult[]> {
  const { callAfter, callRow } = callText(plan, form);
  const rows = plan.fresh.map(({ event }, i) => toRow(event, callAfter[i]!));
  // Not sequenced yet: the answer does not carry seq (SPEC), and readers see the event once it has one.
  const unsequenced = rows.map(() => 0);
  const results = recordInserted(plan, unsequenced);
  const outbox = queueOutbox(plan, unsequenced, destinations).map((d) => ({ ...d, event_seq: null }));
  // The rows padded with empty ones up to a power of two, which the insert leaves out: a batch size then
  // takes one of a few statements' texts (writeStatement), each prepared once per connection (see below).
  const padded = rows.length > 0 ? 2 ** Math.ceil(Math.log2(rows.length)) : 0;
  const withCalls = plan.touched.length > 0;
  const withOutbox = outbox.length > 0;
  if (padded === 0 && !withCalls && !withOutbox) return results;
  // The values in the order of writeStatement's parameters: each event's columns, then one array per column
  // of the outbox rows (queued with the events) and of the calls.
  const values: unknown[] = [];
  for (let i = 0; i < padded; i++) {
    const row = rows[i];
    for (const c of eventColumns) values.push(row?.[c] ?? null);
  }
  if (withOutbox) values.push(...columnArrays(outbox, queuedDeliveryTypes));
  if (withCalls) {
    // In key order: two batches upserting the same calls in opposite orders could deadlock.
    const touched = [...plan.touched].sort((a, b) => compareKeys(callKey(a.source_id, a.call_id), callKey(b.source_id, b.call_id))).map(callRow);
    values.push(...columnArrays(touched, callTypes));
  }
  const shape = `${padded}${withCalls ? 'c' : ''}${withOutbox ? 'o' : ''}`;
  // Named, the driver prepares it once per connection and then sends only its values: PostgreSQL no longer
  // plans it at every append (under load, ~30 µs of its CPU per event: docs/benchmarks.md, 2026-12-04). Its
  // plan does not depend on the tables' statistics (inserts, and upserts on their keys). Batches larger than
  // `namedRowsMax` are rare and plan theirs, so that a connection holds a few plans of bounded size; and
  // all do behind a pooler in transaction mode (prepared.ts).
  const name = preparing.on && padded <= namedRowsMax ? `switchboard_write_${shape}` : undefined;
  const statement = writeStatement(shape, padded, withCalls, withOutbox);
  const { rows: written } = await client.query({ name, text: statement, values });
  // Cannot happen while the call locks hold (the same body carries the same call_id, so a concurrent
  // copy waits for our lock and then reads ours); if it ever did, the batch is planned again.
  if ((written[0] as { inserted: number }).inserted !== rows.length) throw new ConcurrentInsert('an event of the batch was stored concurrently');
  if (rows.length > 0) await appendTestHooks.afterInsert?.(client);
  return results;
}

const writeStatements = new Map<string, string>();

/**
 * The text of step 2 for a shape of batch (`shape`: its name's suffix), made once: it depends only on the
 * padded number of events and on whether calls and outbox rows are written, not on the values.
 */
function writeStatement(shape: string, padded: number, withCalls: boolean, withOutbox: boolean): string {
  let statement = writeStatements.get(shape);
  if (statement !== undefined) return statement;
  const p = new Parameters();
  const writes: string[] = [];
  if (padded > 0) {
    // A VALUES list here, not unnest: node-postgres sends Buffer parameters in binary, while a bytea[]
    // array would travel as hex text, to be escaped here and decoded by the server. Its values are cast:
    // inside a SELECT, PostgreSQL cannot infer their types from the columns.
    // xid_ord: the place in the batch, which the sequencer orders a transaction's events by (their merge order).
    // Each event gets its row of event_queue (the sequencer's queue, its xid by the column's default) without
    // looking at whether the insert stored it: a batch that stored fewer events than it holds is rolled back.
    // Its outbox rows wait in that row (0019: the ids of the deliveries and of their destinations, one pair
    // each, their order key and time) until the tick inserts them with the event's seq. (array_agg feeds
    // every aggregate of a group its rows in one order, so the pairs stay paired.)
    const values = Array.from({ length: padded }, (_, i) => `(${eventColumns.map((c) => `${p.add(null)}::${eventTypes[c]}`).join(', ')}, ${i})`).join(', ');
    writes.push(`batch (${eventColumns.join(', ')}, xid_ord) as (values ${values})`);
    writes.push(`inserted as (insert into event_rows (${eventColumns.join(', ')})
      select ${eventColumns.join(', ')} from batch where id is not null
      on conflict (call_id, source_id, body_hash) do nothing returning 1)`);
    if (withOutbox) {
      const outbox = p.unnest([], queuedDeliveryTypes);
      writes.push(`outbox as (select event_id, array_agg(id) as delivery_ids, array_agg(destination_id) as destination_ids,
        min(order_key) as order_key, min(created_at) as queued_at from ${outbox.source} group by event_id)`);
      writes.push(`pending as (insert into event_queue (xid_ord, id, delivery_ids, destination_ids, order_key, queued_at)
        select b.xid_ord, b.id, o.delivery_ids, o.destination_ids, o.order_key, o.queued_at
        from batch b left join outbox o on o.event_id = b.id where b.id is not null)`);
    } else {
      writes.push(`pending as (insert into event_queue (xid_ord, id) select xid_ord, id from batch where id is not null)`);
    }
  }
  if (withCalls) {
    const calls = p.unnest([], callTypes);
    writes.push(`calls_upserted as (insert into calls (${calls.columns}) select ${calls.columns} from ${calls.source}
      on conflict (call_id, source_id) do update set ${callColumns.map((c) => `${c} = excluded.${c}`).join(', ')})`);
  }
  // Every data-modifying CTE runs to its end whether or not the outer query reads it.
  statement = `with ${writes.join(',\n')} select ${padded > 0 ? '(select count(*) from inserted)::int' : '0'} as inserted`;
  writeStatements.set(shape, statement);
  return statement;
}

/** A statement's values as it is built as text: `add` gives the text that stands for one value. */
abstract class StatementValues {
  abstract add(value: string | number | null): string;
  /** `unnest(<array>::text[], <array>::bigint[], …) as t(a, b, …)` over the columns of `rows` (`types`' keys), one array value per column. */
  unnest<T extends object>(rows: T[], types: Record<string, string>): { columns: string; source: string } {
    const columns = Object.keys(types).join(', ');
    const values = columnArrays(rows, types);
    const arrays = Object.keys(types).map((c, i) => `${this.add(values[i]!)}::${types[c]}[]`);
    return { columns, source: `unnest(${arrays.join(', ')}) as t(${columns})` };
  }
}

/** Numbered parameters ($1, $2, …) for a statement built as text. */
export class Parameters extends StatementValues {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value ?? null);
    return `$${this.values.length}`;
  }
}

/**
 * The same statements' values inlined as escaped literals instead of numbered parameters, so that the statement
 * can travel with others (its BEGIN) in one message (queryAll): one round trip fewer.
 */
export class InlineValues extends StatementValues {
  add(value: string | number | null): string {
    if (value === null) return 'null';
    return typeof value === 'number' ? integer(value) : literal(value);
  }
}

/** An integer inlined in a statement's text (epoch milliseconds, a count). */
function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}

/** The values of `unnest`'s parameters: one array literal per column of `types`, in its keys' order. */
function columnArrays(rows: readonly object[], types: Record<string, string>): string[] {
  return Object.keys(types).map((c) => arrayLiteral(rows.map((r) => (r as Record<string, unknown>)[c])));
}

/**
 * An array parameter as PostgreSQL's array literal (`{"a","b \"quoted\"",NULL,42}`): the text
 * node-postgres makes of a JS array, made here without its two regular-expression replaces per element (and a
 * new string per step), which were ~20 % of the bytes the main thread allocated under load. Elements are
 * strings (quoted, and escaped only when they hold `"` or `\`), numbers, or null and undefined (NULL);
 * anything else is refused rather than written as node-postgres would convert it.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (typeof v === 'string') parts[i] = needsArrayEscape.test(v) ? `"${v.replace(arrayEscapes, '\\$&')}"` : `"${v}"`;
    else if (typeof v === 'number' || typeof v === 'bigint') parts[i] = String(v);
    else throw new TypeError(`an array parameter holds a ${typeof v}`);
  }
  return `{${parts.join(',')}}`;
}
const needsArrayEscape = /["\\]/;
const arrayEscapes = /["\\]/g;

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/**
 * A text literal, escaped (for the statements of step 1 and InlineValues, which travel without parameters).
 * What they inline never holds NUL, which a query's text cannot carry (parse-body.ts refuses control characters
 * in call ids; relay/send.ts turns an answer's NUL into U+FFFD); checked anyway.
 */
function literal(value: string): string {
  // With PostgreSQL's own code for NUL in text (a data exception: relay/outcome-recorder.ts writes such a batch
  // again without the attempts' text).
  if (value.includes('\0')) throw Object.assign(new Error('a value inlined in a statement holds NUL'), { code: '22021' });
  // pg.escapeLiteral builds its answer a character at a time (a new string per character: ~11 % of the bytes
  // the main thread allocated under load); a key without a quote or a backslash, nearly every one, needs none.
  return plainLiteral.test(value) ? `'${value}'` : pg.escapeLiteral(value);
}
const plainLiteral = /^[^'\\]*$/;
export const textArray = (values: string[]) => `array[${values.map(literal).join(', ')}]::text[]`;

/**
 * The rolling-upgrade lock shared, one advisory lock per call in the order of their hashes (a collision
 * only makes two calls wait for each other; none of these gives the transaction an xid), then the enabled
 * destinations for the outbox and the form the call records are stored in (0016). $1: the calls' keys.
 */
const lockCallsAndReadDestinations = `select pg_advisory_xact_lock_shared(${legacyAppendLockKey})::text as upgrade,
    (select count(l) from (
       select pg_advisory_xact_lock(${callLockClass}, h)::text as l
       from (select distinct hashtext(k) as h from unnest($1::text[]) as k order by h offset 0) as ordered) as locks) as locked,
    (select coalesce(json_agg(json_build_object('id', id, 'event_types', event_types, 'widget_keys', widget_keys,
       'call_statuses', call_statuses)), '[]'::json)
     from destinations where deleted_at is null and disabled_at is null) as destinations,
    (select form from switchboard_record_form where id = 1) as record_form`;

type StoredEventRow = { id: string; seq: number; source_id: string; body_hash: string };

/** The stored copies of the batch's events: $1, $2, $3 their call ids, sources and body hashes. */
const storedEventsQuery = `select e.id, s.seq, e.source_id, e.body_hash
  from unnest($1::text[], $2::text[], $3::text[]) as c(call_id, source_id, body_hash)
  join event_rows e on e.call_id = c.call_id and e.source_id = c.source_id and e.body_hash = c.body_hash
  left join event_seqs s on s.id = e.id`;

function storedEvents(rows: StoredEventRow[]): Map<string, Stored> {
  const found = new Map<string, Stored>();
  for (const r of rows) found.set(eventKey(r.source_id, r.body_hash), { id: r.id as EventId, seq: Number(r.seq) });
  return found;
}

/**
 * The batch's stored calls, $1 their call ids. Its columns named, not `*`: a prepared statement whose
 * columns change (a migration adding one, while this node runs) fails every run after.
 */
const storedCallsQuery = `select ${callRowColumns.join(', ')} from calls where call_id = any($1::text[])`;

function storedCalls(keys: Array<{ sourceId: string; callId: string }>, rows: CallsTable[]): Map<string, CallState> {
  const wanted = new Set(keys.map((k) => callKey(k.sourceId, k.callId)));
  const found = new Map<string, CallState>();
  for (const r of rows) if (wanted.has(callKey(r.source_id, r.call_id))) found.set(callKey(r.source_id, r.call_id), rowToCall(r));
  return found;
}
