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
 * Appends from every node take one transaction lock first, so seq values become visible in the order they
 * were assigned (a stream reader that has seen seq N can never later find a smaller one committed), and
 * deduplication and merges never race between nodes. The same statement notifies the other nodes' streams
 * (NOTIFY is delivered at commit) and reads the enabled destinations for the outbox.
 */
const appendLockKey = 7_340_001;
export const appendChannel = 'switchboard_log';

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
  return (batch: readonly NewEvent[]): Promise<AppendResult[]> => db.transaction().execute((trx) => appendIn(trx, batch, callObjectMaxBytes));
}

/** The append inside a transaction the caller owns (the delivery worker appends its events with its outcomes). */
export async function appendIn(trx: Transaction<Database>, batch: readonly NewEvent[], callObjectMaxBytes?: number): Promise<AppendResult[]> {
  const destinations = await lockAndReadDestinations(trx);
  const plan = planAppend(batch, await storedEvents(trx, duplicateCandidates(batch)), await storedCalls(trx, callKeysToLoad(batch)), callObjectMaxBytes);
  const callAfter = callAfterJson(plan);
  const rows = plan.fresh.map(({ event }, i) => toRow(event, callAfter[i]!));
  // A VALUES list here, not unnest: node-postgres sends Buffer parameters in binary, while a bytea[]
  // array would travel as hex text, to be escaped here and decoded by the server.
  const values = sql.join(rows.map((r) => sql`(${sql.join(eventColumns.map((c) => r[c]))})`));
  const inserted = rows.length === 0 ? [] : (await sql<{ id: string; seq: number }>`
    insert into events (${sql.raw(eventColumns.join(', '))}) values ${values} returning id, seq`.execute(trx)).rows;
  const seqById = new Map(inserted.map((r) => [r.id, Number(r.seq)]));
  const seqs = rows.map((r) => seqById.get(r.id)!);
  const results = recordInserted(plan, seqs);
  if (plan.touched.length > 0) {
    const calls = unnest(plan.touched.map(callToRow), callTypes);
    await sql`insert into calls (${calls.columns}) select ${calls.columns} from ${calls.source}
      on conflict (call_id, source_id) do update set ${sql.raw(callColumns.map((c) => `${c} = excluded.${c}`).join(', '))}`.execute(trx);
  }
  const outbox = queueOutbox(plan, seqs, destinations);
  if (outbox.length > 0) {
    const deliveries = unnest(outbox, deliveryTypes);
    await sql`insert into deliveries (${deliveries.columns}) select ${deliveries.columns} from ${deliveries.source}`.execute(trx);
  }
  return results;
}

async function lockAndReadDestinations(trx: Transaction<Database>): Promise<DestinationFilters[]> {
  const { rows } = await sql<{ destinations: Array<Pick<DestinationsTable, 'id' | 'event_types' | 'widget_keys' | 'call_statuses'>> }>`
    select pg_advisory_xact_lock(${appendLockKey}), pg_notify(${appendChannel}, ''),
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
