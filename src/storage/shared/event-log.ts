import type { Kysely, Selectable, Transaction } from 'kysely';
import { mergeCall, type CallState } from '../../domain/call.js';
import type { EventId, SourceId } from '../../domain/ids.js';
import type { AppendResult, EventFilter, EventLog, EventStatus, NewEvent, StoredEvent } from '../ports.js';
import type { Database, EventsTable } from '../schema.js';
import { callColumns, callToRow, rowToCall } from './call-rows.js';

/** Rows per multi-row statement: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const chunkSize = 400;

export interface AppendHooks {
  /** Runs first inside the append transaction (PostgreSQL: serialise appends across nodes). */
  beforeAppend?: (trx: Transaction<Database>) => Promise<void>;
}

export function createEventLog(db: Kysely<Database>, hooks: AppendHooks = {}): EventLog {
  return {
    append: (batch) => db.transaction().execute((trx) => appendInTransaction(trx, batch, hooks)),

    async get(id) {
      const row = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toStoredEvent(row) : null;
    },

    async list(filter: EventFilter) {
      let query = db.selectFrom('events').selectAll().orderBy('seq', 'desc').limit(filter.limit);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.type) query = query.where('type', '=', filter.type);
      if (filter.callId) query = query.where('call_id', '=', filter.callId);
      if (filter.sourceId) query = query.where('source_id', '=', filter.sourceId);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      return (await query.execute()).map(toStoredEvent);
    },
  };
}

async function appendInTransaction(trx: Transaction<Database>, batch: readonly NewEvent[], hooks: AppendHooks): Promise<AppendResult[]> {
  await hooks.beforeAppend?.(trx);
  const results = new Array<AppendResult | undefined>(batch.length);

  // 1. Deduplicate accepted events against the log and within the batch: (source, body hash) → first id.
  const dedupeKey = (e: NewEvent) => `${e.sourceId} ${e.bodyHash}`;
  const known = await existingEvents(trx, batch.filter((e) => e.status === 'ok' && e.bodyHash !== null));
  const fresh: Array<{ index: number; event: NewEvent }> = [];
  const firstInBatch = new Map<string, number>();
  batch.forEach((event, index) => {
    if (event.status !== 'ok') return fresh.push({ index, event });
    const key = dedupeKey(event);
    const stored = known.get(key);
    if (stored) results[index] = { id: stored.id, seq: stored.seq, duplicate: true, call: null };
    else if (firstInBatch.has(key)) results[index] = undefined; // resolved after the insert below
    else {
      firstInBatch.set(key, index);
      fresh.push({ index, event });
    }
  });

  // 2. Insert the new events; seq comes from the database.
  for (const part of chunks(fresh)) {
    const rows = await trx
      .insertInto('events')
      .values(part.map(({ event }) => toRow(event)))
      .returning(['id', 'seq'])
      .execute();
    const seqById = new Map(rows.map((r) => [r.id, Number(r.seq)]));
    for (const { index, event } of part) results[index] = { id: event.id, seq: seqById.get(event.id)!, duplicate: false, call: null };
  }
  batch.forEach((event, index) => {
    if (results[index] !== undefined) return;
    const first = results[firstInBatch.get(dedupeKey(event))!]!;
    results[index] = { id: first.id, seq: first.seq, duplicate: true, call: null };
  });

  // 3. Merge the new events into their calls, in arrival order, and write each touched call once.
  const merging = fresh.filter(({ event }) => event.call !== null && event.callId !== null);
  if (merging.length > 0) {
    const calls = await existingCalls(trx, merging.map(({ event }) => event.callId!));
    const touched = new Map<string, CallState>();
    for (const { index, event } of merging) {
      const key = `${event.sourceId} ${event.callId}`;
      const merged = mergeCall(touched.get(key) ?? calls.get(key) ?? null, event.sourceId, event.callId!, event.call!);
      touched.set(key, merged);
      results[index]!.call = merged;
    }
    for (const part of chunks([...touched.values()])) {
      await trx
        .insertInto('calls')
        .values(part.map(callToRow))
        .onConflict((oc) =>
          oc.columns(['source_id', 'call_id']).doUpdateSet((eb) => Object.fromEntries(callColumns.map((c) => [c, eb.ref(`excluded.${c}`)]))),
        )
        .execute();
    }
  }
  return results as AppendResult[];
}

async function existingEvents(trx: Transaction<Database>, events: NewEvent[]): Promise<Map<string, { id: EventId; seq: number }>> {
  const found = new Map<string, { id: EventId; seq: number }>();
  const hashes = [...new Set(events.map((e) => e.bodyHash!))];
  for (const part of chunks(hashes)) {
    const rows = await trx
      .selectFrom('events')
      .select(['id', 'seq', 'source_id', 'body_hash'])
      .where('status', '=', 'ok')
      .where('body_hash', 'in', part)
      .execute();
    for (const r of rows) found.set(`${r.source_id} ${r.body_hash}`, { id: r.id as EventId, seq: Number(r.seq) });
  }
  return found;
}

async function existingCalls(trx: Transaction<Database>, callIds: string[]): Promise<Map<string, CallState>> {
  const found = new Map<string, CallState>();
  for (const part of chunks([...new Set(callIds)])) {
    const rows = await trx.selectFrom('calls').selectAll().where('call_id', 'in', part).execute();
    for (const r of rows) found.set(`${r.source_id} ${r.call_id}`, rowToCall(r));
  }
  return found;
}

function toRow(e: NewEvent) {
  return {
    id: e.id,
    source_id: e.sourceId,
    call_id: e.callId,
    type: e.type,
    status: e.status,
    error_code: e.errorCode,
    error_detail: e.errorDetail,
    content_type: e.contentType,
    body: e.body,
    body_hash: e.bodyHash,
    body_size: e.bodySize,
    body_truncated: e.bodyTruncated ? 1 : 0,
    received_at: e.receivedAt,
  };
}

function toStoredEvent(r: Selectable<EventsTable>): StoredEvent {
  return {
    seq: Number(r.seq),
    id: r.id as EventId,
    sourceId: r.source_id as SourceId,
    callId: r.call_id,
    type: r.type,
    status: r.status as EventStatus,
    errorCode: r.error_code,
    errorDetail: r.error_detail,
    contentType: r.content_type,
    body: r.body === null ? null : Buffer.from(r.body),
    bodySize: r.body_size,
    bodyTruncated: r.body_truncated === 1,
    receivedAt: Number(r.received_at),
  };
}

function* chunks<T>(items: T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += chunkSize) yield items.slice(i, i + chunkSize);
}
