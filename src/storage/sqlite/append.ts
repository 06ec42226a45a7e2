import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { CallState } from '../../domain/call.js';
import type { EventId } from '../../domain/ids.js';
import type { AppendResult, NewEvent, StorageOptions } from '../ports.js';
import type { CallsTable, DestinationsTable } from '../schema.js';
import {
  callKey, callKeysToLoad, callText, duplicateCandidates, eventKey, planAppend, queueOutbox, recordInserted, type Stored,
} from '../shared/append-plan.js';
import { callColumns, rowToCall } from '../shared/call-rows.js';
import { deliveryColumns, rowToFilters } from '../shared/destination-rows.js';
import { eventColumns, toRow } from '../shared/event-rows.js';

/** The ingest's append on SQLite: one synchronous better-sqlite3 transaction, run on the writer thread. */
export type SqliteAppend = (batch: readonly NewEvent[]) => AppendResult[];

/**
 * The ingest hot path on SQLite: the shared plan (shared/append-plan.ts) over statements prepared once, on
 * the writer thread (writer.ts), the one connection that writes. Prepared statements rather than Kysely:
 * a batch's multi-row statements would otherwise be built and compiled again for every batch, on the
 * thread every append waits for.
 */
export function createSqliteAppend(db: SqliteDatabase, options: StorageOptions = {}): SqliteAppend {
  const insertEvent = db.prepare(`insert into events (${eventColumns.join(', ')}) values (${eventColumns.map((c) => `@${c}`).join(', ')})`);
  const findEvent = db.prepare<[string, string, string], { id: string; seq: number }>(
    'select id, seq from events where call_id = ? and source_id = ? and body_hash = ?',
  );
  const findCall = db.prepare<[string, string], CallsTable>('select * from calls where call_id = ? and source_id = ?');
  const allCallColumns = ['source_id', 'call_id', ...callColumns];
  const upsertCall = db.prepare(
    `insert into calls (${allCallColumns.join(', ')}) values (${allCallColumns.map((c) => `@${c}`).join(', ')})
     on conflict (call_id, source_id) do update set ${callColumns.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  );
  const activeDestinations = db.prepare<[], DestinationsTable>('select * from destinations where deleted_at is null and disabled_at is null');
  const insertDelivery = db.prepare(`insert into deliveries (${deliveryColumns.join(', ')}) values (${deliveryColumns.map((c) => `@${c}`).join(', ')})`);

  const append = db.transaction((batch: readonly NewEvent[]): AppendResult[] => {
    const known = new Map<string, Stored>();
    for (const c of duplicateCandidates(batch)) {
      const r = findEvent.get(c.callId, c.sourceId, c.bodyHash);
      if (r) known.set(eventKey(c.sourceId, c.bodyHash), { id: r.id as EventId, seq: r.seq });
    }
    const existing = new Map<string, CallState>();
    for (const { sourceId, callId } of callKeysToLoad(batch)) {
      const row = findCall.get(callId, sourceId);
      if (row) existing.set(callKey(sourceId, callId), rowToCall(row));
    }
    const plan = planAppend(batch, known, existing, options.callObjectMaxBytes);
    const { callAfter, callRow } = callText(plan);
    const seqs = plan.fresh.map(({ event }, i) => Number(insertEvent.run(toRow(event, callAfter[i]!)).lastInsertRowid));
    const results = recordInserted(plan, seqs);
    for (const call of plan.touched) upsertCall.run(callRow(call));
    for (const row of queueOutbox(plan, seqs, activeDestinations.all().map(rowToFilters))) insertDelivery.run(row);
    return results;
  });

  // BEGIN IMMEDIATE: the write lock is taken first, so a transaction that reads and then writes waits for
  // another connection's write (busy_timeout) instead of failing with "database is locked" when that write
  // committed after its read began (SQLite cannot upgrade a stale read snapshot). The admin writer thread now
  // writes beside this one (keys' last use), so the two meet. Nested in another transaction it is a savepoint.
  return append.immediate;
}
