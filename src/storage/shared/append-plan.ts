import type { Insertable } from 'kysely';
import { boundCallJson, defaultCallObjectMaxBytes } from '../../domain/call-bounds.js';
import { callEventOf, inProgress, mergeCall, stale, type CallEvent, type CallState } from '../../domain/call.js';
import { isKnownEventType, type KnownEventType } from '../../domain/convolo.js';
import { matchesDestination, type DestinationFilters } from '../../domain/destination.js';
import { matchInputOf, systemTypes } from '../../domain/envelope.js';
import { newId, type EventId } from '../../domain/ids.js';
import { acceptedPayload } from '../../domain/parse-body.js';
import type { AppendResult, NewEvent, StoredEvent } from '../ports.js';
import type { CallsTable, DeliveriesTable } from '../schema.js';
import { callJson, callToRow, type CallJson, type ObjectsJson, type RecordForm } from './call-rows.js';

/**
 * The logic of appending a batch, apart from the I/O, so that each backend only supplies the reads and
 * writes (SQLite synchronously with prepared statements, PostgreSQL asynchronously):
 *   1. read what the batch depends on: which accepted bodies are already stored (`duplicateCandidates`),
 *      the calls it touches (`callKeysToLoad`) and the enabled destinations,
 *   2. plan (`planAppend`): drop duplicates, merge each fresh event into its call in arrival order,
 *   3. insert the fresh events with the call record after each (`eventRowsOf`) and learn their seq
 *      (`recordInserted`),
 *   4. upsert each touched call once (`plan.touched`) and insert one delivery per event and matching
 *      destination (`queueOutbox`): the outbox, in the same transaction as the events.
 */
export type Stored = { id: EventId; seq: number };
export const eventKey = (sourceId: string, bodyHash: string | null) => `${sourceId} ${bodyHash}`;
export const callKey = (sourceId: string, callId: string) => `${sourceId} ${callId}`;

export interface Candidate {
  callId: string;
  sourceId: string;
  bodyHash: string;
  /** Whether the event writes its call (start_call, end_call): SQLite finds those by their call's row. */
  writesCall: boolean;
}

export interface AppendPlan {
  batch: readonly NewEvent[];
  results: Array<AppendResult | undefined>;
  /** Events to insert, with their index in the batch and the call record right after them. */
  fresh: Array<{ index: number; event: NewEvent; callAfter: CallState | null }>;
  /** Index in the batch of the first event with each key, for duplicates within the batch. */
  firstInBatch: Map<string, number>;
  /** Each call the fresh events changed, once, as it stands after the batch. */
  touched: CallState[];
  /** The JSON of each merged record's lead and agent, made by its size bound (callText stores it). */
  objectsJson: Map<CallState, ObjectsJson>;
}

/**
 * The accepted events that could repeat a stored one, without repeats (same body ⇒ same call_id).
 *
 * With `storedCalls` (callKey → the stored call, as loaded for the batch), a start_call or end_call whose
 * call is not stored is left out: once stored, such an event always has its call's row, written in the same
 * transaction (`planAppend`), and retention deletes a call only after every event merged into it (its
 * `last_event_at` is the latest of their arrival times). So its body cannot be stored yet, and a new call's
 * first event is spared a lookup on the dedupe index, whose pages follow call_id: random in production
 * (docs/benchmarks.md, issue 15). Other types do not write their call: they are always looked up.
 */
export function duplicateCandidates(batch: readonly NewEvent[], storedCalls?: ReadonlyMap<string, unknown>): Candidate[] {
  const candidates = new Map<string, Candidate>();
  for (const e of batch) {
    if (e.status !== 'ok' || e.bodyHash === null || e.callId === null) continue;
    const writesCall = updatesCall(e);
    if (storedCalls && writesCall && !storedCalls.has(callKey(e.sourceId, e.callId))) continue;
    candidates.set(eventKey(e.sourceId, e.bodyHash), { callId: e.callId, sourceId: e.sourceId, bodyHash: e.bodyHash, writesCall });
  }
  return [...candidates.values()];
}

/** The calls the batch's events belong to, as (sourceId, callId) pairs without repeats. */
export function callKeysToLoad(batch: readonly NewEvent[]): Array<{ sourceId: string; callId: string }> {
  const keys = new Map<string, { sourceId: string; callId: string }>();
  for (const event of batch) {
    if (event.status !== 'quarantined' && event.callId !== null) keys.set(callKey(event.sourceId, event.callId), { sourceId: event.sourceId, callId: event.callId });
  }
  return [...keys.values()];
}

/**
 * Splits the batch into fresh events and duplicates of stored ones (`known`: eventKey → stored), and merges
 * the fresh ones into their calls (`existing`: callKey → stored record) in arrival order, each record's
 * lead and agent kept within `callObjectMaxBytes` (domain/call-bounds.ts).
 */
export function planAppend(batch: readonly NewEvent[], known: Map<string, Stored>, existing: Map<string, CallState>, callObjectMaxBytes = defaultCallObjectMaxBytes): AppendPlan {
  const plan: AppendPlan = { batch, results: new Array(batch.length), fresh: [], firstInBatch: new Map(), touched: [], objectsJson: new Map() };
  const touched = new Map<string, CallState>();
  batch.forEach((event, index) => {
    if (event.status === 'ok' && event.bodyHash !== null) {
      const key = eventKey(event.sourceId, event.bodyHash);
      const stored = known.get(key);
      if (stored) return (plan.results[index] = { ...stored, duplicate: true, call: null });
      if (plan.firstInBatch.has(key)) return;
      plan.firstInBatch.set(key, index);
    }
    if (event.status === 'quarantined' || event.callId === null) return plan.fresh.push({ index, event, callAfter: null });
    const key = callKey(event.sourceId, event.callId);
    const current = touched.get(key) ?? existing.get(key) ?? null;
    const next = nextCallState(current, event as NewEvent & { callId: string }, callObjectMaxBytes, plan.objectsJson);
    if (next === 'skip') return (plan.results[index] = { id: event.id, seq: 0, duplicate: false, call: current, skipped: true });
    if (next !== current && next !== null) touched.set(key, next);
    plan.fresh.push({ index, event, callAfter: next });
  });
  plan.touched = [...touched.values()];
  return plan;
}

/** The call after `event`: merged for start_call/end_call, stale for call.stale, unchanged otherwise. */
function nextCallState(
  current: CallState | null, event: NewEvent & { callId: string }, callObjectMaxBytes: number, objectsJson: Map<CallState, ObjectsJson>,
): CallState | null | 'skip' {
  if (event.status === 'system' && event.type === systemTypes.callStale) {
    // The sweep chose this call a moment ago; an end_call committed since then wins (whatever its call_status).
    return current?.status === inProgress && current.merge_rank < 2 ? { ...current, status: stale } : 'skip';
  }
  if (!updatesCall(event)) return current;
  // A call the reconciler fetched is added only while its end_call is missing: checked here, inside the
  // commit, so a webhook that arrived meanwhile (or another node's run) wins and no copy revises the call.
  if (event.origin === 'reconcile' && (current?.merge_rank ?? 0) >= 2) return 'skip';
  const { call, lead, agent } = boundCallJson(mergeCall(current, event.sourceId, event.callId, callEventOfStored(event)), callObjectMaxBytes);
  objectsJson.set(call, { lead, agent });
  return call;
}

/** Records the seq of each inserted event (in `fresh` order) and resolves duplicates within the batch. */
export function recordInserted(plan: AppendPlan, seqs: number[]): AppendResult[] {
  plan.fresh.forEach(({ index, event, callAfter }, i) => {
    plan.results[index] = { id: event.id, seq: seqs[i]!, duplicate: false, call: callAfter };
  });
  plan.batch.forEach((event, index) => {
    if (plan.results[index] !== undefined) return;
    const first = plan.results[plan.firstInBatch.get(eventKey(event.sourceId, event.bodyHash))!]!;
    plan.results[index] = { id: first.id, seq: first.seq, duplicate: true, call: null };
  });
  return plan.results as AppendResult[];
}

/**
 * What an append stores of its calls: the record beside each fresh event (`callAfter`, `fresh` order, in the
 * backend's `form`) and the row of a touched call (`callRow`), each record serialised once (callJson) — a
 * touched call's row is the record its last fresh event carries.
 */
export function callText(plan: AppendPlan, form: RecordForm): { callAfter: Array<string | null>; callRow: (call: CallState) => Insertable<CallsTable> } {
  const made = new Map<CallState, CallJson>();
  const jsonOf = (call: CallState): CallJson => {
    let json = made.get(call);
    if (json === undefined) made.set(call, (json = callJson(call, plan.objectsJson.get(call), form)));
    return json;
  };
  return {
    callAfter: plan.fresh.map((f) => (f.callAfter ? jsonOf(f.callAfter).record : null)),
    callRow: (call) => callToRow(call, jsonOf(call)),
  };
}

/** What the outbox matches a destination's filters on and what a delivery row points to. */
export type OutboxEvent = Pick<StoredEvent, 'id' | 'seq' | 'sourceId' | 'callId' | 'type' | 'status' | 'body' | 'receivedAt' | 'callAfter'>;

/**
 * One pending delivery per relayed event and matching destination, due at the event's arrival, ordered by
 * its call (or alone when it has none): the outbox of an append, and the rows a replay queues again.
 */
export function outboxRows(events: readonly OutboxEvent[], destinations: readonly DestinationFilters[]): DeliveriesTable[] {
  const rows: DeliveriesTable[] = [];
  if (destinations.length === 0) return rows;
  for (const event of events) {
    if (event.status === 'quarantined') continue;
    const match = matchInputOf(event);
    for (const d of destinations) {
      if (!matchesDestination(d, match)) continue;
      rows.push({
        id: newId('dlv'),
        destination_id: d.id,
        event_seq: event.seq,
        event_id: event.id,
        order_key: event.callId === null ? `event ${event.id}` : `call ${callKey(event.sourceId, event.callId)}`,
        status: 'pending',
        attempts: 0,
        schedule_start: 0,
        next_attempt_at: event.receivedAt,
        locked_until: null,
        last_status: null,
        last_error: null,
        created_at: event.receivedAt,
        updated_at: event.receivedAt,
        finished_at: null,
      });
    }
  }
  return rows;
}

/** The outbox of the plan's fresh events (given their seqs); each result counts the deliveries it queued. */
export function queueOutbox(plan: AppendPlan, seqs: number[], destinations: readonly DestinationFilters[]): DeliveriesTable[] {
  if (destinations.length === 0) return [];
  // seq and callAfter before the spread: keys added after one cost V8 a new map each (call-rows.ts).
  const rows = outboxRows(plan.fresh.map(({ event, callAfter }, i) => ({ seq: seqs[i]!, callAfter, ...event })), destinations);
  const resultOf = new Map(plan.fresh.map(({ event, index }) => [event.id as string, plan.results[index]]));
  for (const row of rows) {
    const result = resultOf.get(row.event_id);
    if (result) result.queued = (result.queued ?? 0) + 1;
  }
  return rows;
}

/** Whether the event is merged into its call's row: an accepted start_call or end_call. */
export function updatesCall(event: NewEvent): event is NewEvent & { callId: string; type: KnownEventType; body: Buffer } {
  return event.status === 'ok' && event.callId !== null && event.type !== null && isKnownEventType(event.type) && event.body !== null;
}

/**
 * What the event says about its call, read again from the stored bytes. Reading them here rather than
 * carrying the parsed payload along keeps the SQLite writer thread's messages small (bytes clone fast,
 * object graphs do not) and moves this work off the thread that serves HTTP. The bytes parsed once already
 * (that is how the event was accepted), so they parse the same way again.
 */
function callEventOfStored(event: NewEvent & { type: KnownEventType; body: Buffer }): CallEvent {
  const payload = acceptedPayload(event.body, event.contentType ?? undefined);
  if (payload === null) throw new Error(`event ${event.id} no longer parses`);
  return callEventOf(event.type, payload, event.receivedAt);
}
