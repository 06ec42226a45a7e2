import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { CallState } from '../../domain/call.js';
import type { EventId } from '../../domain/ids.js';
import type { AppendResult, NewEvent } from '../ports.js';
import type { CallsTable } from '../schema.js';
import { callKeysToLoad, callKey, eventKey, finish, duplicateCandidates, mergeCalls, planInserts, recordInserted, type Stored } from '../shared/append-plan.js';
import { callColumns, callToRow, rowToCall } from '../shared/call-rows.js';
import { eventColumns, toRow } from '../shared/event-rows.js';

/**
 * The ingest hot path on SQLite: the shared plan (shared/append-plan.ts) run as one synchronous
 * better-sqlite3 transaction over statements prepared once (it runs on the writer thread, writer.ts).
 * Building and compiling multi-row statements through Kysely for every batch measured 121 µs per event
 * against 93 µs for this, on this machine.
 */
export function createSqliteAppend(db: SqliteDatabase): (batch: readonly NewEvent[]) => AppendResult[] {
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

  return db.transaction((batch: readonly NewEvent[]): AppendResult[] => {
    const known = new Map<string, Stored>();
    for (const c of duplicateCandidates(batch)) {
      const r = findEvent.get(c.callId, c.sourceId, c.bodyHash);
      if (r) known.set(eventKey(c.sourceId, c.bodyHash), { id: r.id as EventId, seq: r.seq });
    }
    const plan = planInserts(batch, known);
    recordInserted(plan, plan.fresh.map(({ event }) => Number(insertEvent.run(toRow(event)).lastInsertRowid)));
    const existing = new Map<string, CallState>();
    for (const { sourceId, callId } of callKeysToLoad(plan)) {
      const row = findCall.get(callId, sourceId);
      if (row) existing.set(callKey(sourceId, callId), rowToCall(row));
    }
    for (const call of mergeCalls(plan, existing)) upsertCall.run(callToRow(call));
    return finish(plan);
  });
}
