import type { Kysely, Selectable, Transaction } from 'kysely';
import type { CallState } from '../../domain/call.js';
import type { EventId, SourceId } from '../../domain/ids.js';
import type { AppendResult, EventFilter, EventLog, EventStatus, NewEvent, StoredEvent } from '../ports.js';
import type { Database, EventsTable } from '../schema.js';
import { callKeysToLoad, callKey, eventKey, finish, hashesToCheck, mergeCalls, planInserts, recordInserted, type Stored } from './append-plan.js';
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
  const plan = planInserts(batch, await storedEvents(trx, hashesToCheck(batch)));
  const seqs: number[] = [];
  for (const part of chunks(plan.fresh)) {
    const rows = await trx.insertInto('events').values(part.map(({ event }) => toRow(event))).returning(['id', 'seq']).execute();
    const seqById = new Map(rows.map((r) => [r.id, Number(r.seq)]));
    seqs.push(...part.map(({ event }) => seqById.get(event.id)!));
  }
  recordInserted(plan, seqs);
  const touched = mergeCalls(plan, await storedCalls(trx, callKeysToLoad(plan)));
  for (const part of chunks(touched)) {
    await trx
      .insertInto('calls')
      .values(part.map(callToRow))
      .onConflict((oc) => oc.columns(['call_id', 'source_id']).doUpdateSet((eb) => Object.fromEntries(callColumns.map((c) => [c, eb.ref(`excluded.${c}`)]))))
      .execute();
  }
  return finish(plan);
}

async function storedEvents(trx: Transaction<Database>, hashes: string[]): Promise<Map<string, Stored>> {
  const found = new Map<string, Stored>();
  for (const part of chunks(hashes)) {
    const rows = await trx.selectFrom('events').select(['id', 'seq', 'source_id', 'body_hash']).where('body_hash', 'in', part).execute();
    for (const r of rows) found.set(eventKey(r.source_id, r.body_hash), { id: r.id as EventId, seq: Number(r.seq) });
  }
  return found;
}

async function storedCalls(trx: Transaction<Database>, keys: Array<{ sourceId: string; callId: string }>): Promise<Map<string, CallState>> {
  const found = new Map<string, CallState>();
  const wanted = new Set(keys.map((k) => callKey(k.sourceId, k.callId)));
  for (const part of chunks([...new Set(keys.map((k) => k.callId))])) {
    const rows = await trx.selectFrom('calls').selectAll().where('call_id', 'in', part).execute();
    for (const r of rows) if (wanted.has(callKey(r.source_id, r.call_id))) found.set(callKey(r.source_id, r.call_id), rowToCall(r));
  }
  return found;
}

export function toRow(e: NewEvent) {
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
