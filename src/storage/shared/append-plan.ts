import { callEventOf, mergeCall, type CallEvent, type CallState } from '../../domain/call.js';
import { isKnownEventType, type KnownEventType } from '../../domain/convolo.js';
import { parseIngestBody } from '../../domain/parse-body.js';
import type { EventId } from '../../domain/ids.js';
import type { AppendResult, NewEvent } from '../ports.js';

/**
 * The logic of appending a batch, apart from the I/O, so that each backend only supplies the reads and
 * writes (SQLite synchronously with prepared statements, PostgreSQL asynchronously through Kysely):
 *   1. look up which accepted bodies are already stored (`duplicateCandidates` → `planInserts`),
 *   2. insert the fresh events and learn their seq (`recordInserted`),
 *   3. load the calls they touch (`callKeysToLoad`) and merge them in arrival order (`mergeCalls`),
 *   4. upsert each touched call once.
 */
export type Stored = { id: EventId; seq: number };
export const eventKey = (sourceId: string, bodyHash: string | null) => `${sourceId} ${bodyHash}`;
export const callKey = (sourceId: string, callId: string) => `${sourceId} ${callId}`;

export interface AppendPlan {
  batch: readonly NewEvent[];
  results: Array<AppendResult | undefined>;
  /** Events to insert, with their index in the batch. */
  fresh: Array<{ index: number; event: NewEvent }>;
  /** Index in the batch of the first event with each key, for duplicates within the batch. */
  firstInBatch: Map<string, number>;
}

export interface Candidate {
  callId: string;
  sourceId: string;
  bodyHash: string;
}

/** The accepted events that could repeat a stored one, without repeats (same body ⇒ same call_id). */
export function duplicateCandidates(batch: readonly NewEvent[]): Candidate[] {
  const candidates = new Map<string, Candidate>();
  for (const e of batch) {
    if (e.status !== 'ok' || e.bodyHash === null || e.callId === null) continue;
    candidates.set(eventKey(e.sourceId, e.bodyHash), { callId: e.callId, sourceId: e.sourceId, bodyHash: e.bodyHash });
  }
  return [...candidates.values()];
}

/** Splits the batch into fresh events and duplicates of stored ones (`known`: eventKey → stored). */
export function planInserts(batch: readonly NewEvent[], known: Map<string, Stored>): AppendPlan {
  const plan: AppendPlan = { batch, results: new Array(batch.length), fresh: [], firstInBatch: new Map() };
  batch.forEach((event, index) => {
    if (event.status !== 'ok' || event.bodyHash === null) return plan.fresh.push({ index, event });
    const key = eventKey(event.sourceId, event.bodyHash);
    const stored = known.get(key);
    if (stored) plan.results[index] = { ...stored, duplicate: true, call: null };
    else if (!plan.firstInBatch.has(key)) {
      plan.firstInBatch.set(key, index);
      plan.fresh.push({ index, event });
    }
  });
  return plan;
}

/** Records the seq of each inserted event (in `fresh` order) and resolves duplicates within the batch. */
export function recordInserted(plan: AppendPlan, seqs: number[]): void {
  plan.fresh.forEach(({ index, event }, i) => {
    plan.results[index] = { id: event.id, seq: seqs[i]!, duplicate: false, call: null };
  });
  plan.batch.forEach((event, index) => {
    if (plan.results[index] !== undefined) return;
    const first = plan.results[plan.firstInBatch.get(eventKey(event.sourceId, event.bodyHash))!]!;
    plan.results[index] = { id: first.id, seq: first.seq, duplicate: true, call: null };
  });
}

/** The calls the fresh events update, as (sourceId, callId) pairs without repeats. */
export function callKeysToLoad(plan: AppendPlan): Array<{ sourceId: string; callId: string }> {
  const keys = new Map<string, { sourceId: string; callId: string }>();
  for (const { event } of plan.fresh) {
    if (updatesCall(event)) keys.set(callKey(event.sourceId, event.callId), { sourceId: event.sourceId, callId: event.callId });
  }
  return [...keys.values()];
}

/** Merges the fresh events into their calls in arrival order; returns each touched call once. */
export function mergeCalls(plan: AppendPlan, existing: Map<string, CallState>): CallState[] {
  const touched = new Map<string, CallState>();
  for (const { index, event } of plan.fresh) {
    if (!updatesCall(event)) continue;
    const key = callKey(event.sourceId, event.callId);
    const merged = mergeCall(touched.get(key) ?? existing.get(key) ?? null, event.sourceId, event.callId, callEventOfStored(event));
    touched.set(key, merged);
    plan.results[index]!.call = merged;
  }
  return [...touched.values()];
}

function updatesCall(event: NewEvent): event is NewEvent & { callId: string; type: KnownEventType; body: Buffer } {
  return event.status === 'ok' && event.callId !== null && event.type !== null && isKnownEventType(event.type) && event.body !== null;
}

/**
 * What the event says about its call, read again from the stored bytes. Reading them here rather than
 * carrying the parsed payload along keeps the SQLite writer thread's messages small (bytes clone fast,
 * object graphs do not) and moves this work off the thread that serves HTTP. The bytes parsed once already
 * (that is how the event was accepted), so they parse the same way again.
 */
function callEventOfStored(event: NewEvent & { type: KnownEventType; body: Buffer }): CallEvent {
  const outcome = parseIngestBody(event.body, event.contentType ?? undefined);
  if (outcome.kind !== 'event') throw new Error(`event ${event.id} no longer parses (${outcome.kind})`);
  return callEventOf(event.type, outcome.payload, event.receivedAt);
}

export function finish(plan: AppendPlan): AppendResult[] {
  return plan.results as AppendResult[];
}
