import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { Insertable } from 'kysely';
import type { CallState } from '../../domain/call.js';
import type { EventId } from '../../domain/ids.js';
import type { AppendResult, NewEvent, StorageOptions } from '../ports.js';
import type { CallsTable, DestinationsTable } from '../schema.js';
import {
  callKey, callKeysToLoad, callText, duplicateCandidates, eventKey, planAppend, queueOutbox, recordInserted, updatesCall, type AppendPlan,
  type Stored,
} from '../shared/append-plan.js';
import { callColumns, rowToCall } from '../shared/call-rows.js';
import { deliveryColumns, rowToFilters } from '../shared/destination-rows.js';
import { eventColumns, toRow } from '../shared/event-rows.js';

/**
 * The ingest's append on SQLite: one synchronous better-sqlite3 transaction, run on the writer thread. Each
 * fresh event's result also holds the call record's text as stored beside it (`callText`), from which the
 * main thread can make the event as `readAfter` reads it (writer.ts) without reading it back.
 */
export type SqliteAppend = (batch: readonly NewEvent[]) => SqliteAppendResult[];
export type SqliteAppendResult = AppendResult & { callText?: string | null };

/**
 * The ingest hot path on SQLite: the shared plan (shared/append-plan.ts) over statements prepared once, on
 * the writer thread (writer.ts), the one connection that writes. Prepared statements rather than Kysely:
 * a batch's multi-row statements would otherwise be built and compiled again for every batch, on the
 * thread every append waits for.
 */
export function createSqliteAppend(db: SqliteDatabase, options: StorageOptions = {}): SqliteAppend {
  // Every statement of the append binds its values by position (`valuesOf`), not by name: better-sqlite3 binds an
  // object by asking SQLite each parameter's name (a walk of the statement's list of names) and looking it up
  // on the object, which was 13 % of the writer's CPU (docs/benchmarks.md, issue 15).
  const insertEvent = db.prepare(`insert into events (${eventColumns.join(', ')}, seq, call_seq) values (${placeholders(eventColumns.length + 2)})`);
  // The last seq ever given (AUTOINCREMENT's own record, or the log's end if that record was lost): the batch's
  // seqs are given explicitly, so that a new call's first event knows its own seq, its call's key.
  const lastSeq = db
    .prepare<[], number>(`select max(coalesce((select seq from sqlite_sequence where name = 'events'), 0), coalesce((select max(seq) from events), 0))`)
    .pluck();
  // A body is looked up where it was stored (migration 0017): by its call's row if it writes a call that has
  // one, by call_id otherwise. The same body always takes the same path.
  const findByCallRow = db.prepare<[number, string], { id: string; seq: number }>('select id, seq from events where call_seq = ? and body_hash = ?');
  const findByCallId = db.prepare<[string, string, string], { id: string; seq: number }>(
    'select id, seq from events where call_id = ? and source_id = ? and body_hash = ? and call_seq is null',
  );
  // With first_seq (migration 0017, SQLite only): the seq of the first event that wrote the call, its key in
  // events_call_seq; null for a call stored before 0017.
  const findCall = db.prepare<[string, string], CallsTable & { first_seq: number | null }>('select * from calls where call_id = ? and source_id = ?');
  const allCallColumns = ['source_id', 'call_id', ...callColumns] as const;
  const insertCall = db.prepare(`insert into calls (${allCallColumns.join(', ')}, first_seq) values (${placeholders(allCallColumns.length + 1)})`);
  const updateCall = changedColumnsUpdate(db);
  const activeDestinations = db.prepare<[], DestinationsTable>('select * from destinations where deleted_at is null and disabled_at is null');
  const insertDelivery = db.prepare(`insert into deliveries (${deliveryColumns.join(', ')}) values (${placeholders(deliveryColumns.length)})`);

  const append = db.transaction((batch: readonly NewEvent[]): AppendResult[] => {
    const existing = new Map<string, CallState>();
    const rows = new Map<string, CallsTable & { first_seq: number | null }>();
    for (const { sourceId, callId } of callKeysToLoad(batch)) {
      const row = findCall.get(callId, sourceId);
      if (!row) continue;
      const key = callKey(sourceId, callId);
      existing.set(key, rowToCall(row));
      rows.set(key, row);
    }
    // The calls first: a new call's start_call or end_call cannot repeat a stored body (duplicateCandidates).
    const known = new Map<string, Stored>();
    for (const c of duplicateCandidates(batch, rows)) {
      const firstSeq = c.writesCall ? rows.get(callKey(c.sourceId, c.callId))!.first_seq : null;
      const r = firstSeq === null ? findByCallId.get(c.callId, c.sourceId, c.bodyHash) : findByCallRow.get(firstSeq, c.bodyHash);
      if (r) known.set(eventKey(c.sourceId, c.bodyHash), { id: r.id as EventId, seq: r.seq });
    }
    const plan = planAppend(batch, known, existing, options.callObjectMaxBytes);
    const { callAfter, callRow } = callText(plan, 'tuple');
    const { seqs, callSeqs, newCalls } = numberFresh(plan.fresh, lastSeq.get()!, rows);
    plan.fresh.forEach(({ event }, i) => insertEvent.run(...valuesOf(toRow(event, callAfter[i]!), eventColumns), seqs[i], callSeqs[i]));
    const results: SqliteAppendResult[] = recordInserted(plan, seqs);
    plan.fresh.forEach(({ index }, i) => (results[index]!.callText = callAfter[i]!));
    for (const call of plan.touched) {
      const key = callKey(call.source_id, call.call_id);
      const before = rows.get(key);
      if (before) updateCall(before, callRow(call));
      else insertCall.run(...valuesOf(callRow(call), allCallColumns), newCalls.get(key) ?? null);
    }
    for (const row of queueOutbox(plan, seqs, activeDestinations.all().map(rowToFilters))) insertDelivery.run(...valuesOf(row, deliveryColumns));
    return results;
  });

  // BEGIN IMMEDIATE: the write lock is taken first, so a transaction that reads and then writes waits for
  // another connection's write (busy_timeout) instead of failing with "database is locked" when that write
  // committed after its read began (SQLite cannot upgrade a stale read snapshot). The admin writer thread now
  // writes beside this one (keys' last use), so the two meet. Nested in another transaction it is a savepoint.
  return append.immediate;
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/**
 * A row's values in `columns`' order, to bind by position. The columns are keys of the row's own type, so the
 * compiler checks each name; a value left undefined binds as NULL, as a named parameter's would not (it throws).
 */
function valuesOf<T extends object>(row: T, columns: ReadonlyArray<keyof T & string>): unknown[] {
  const values = new Array<unknown>(columns.length);
  for (let i = 0; i < columns.length; i++) values[i] = row[columns[i]!];
  return values;
}

/**
 * The seqs of a batch's fresh events, counting on from `last`, and each one's `call_seq` (migration 0017): for
 * a start_call or end_call, its call's `first_seq` — a stored call's (null for one stored before 0017), or a
 * new call's first such event's own seq (`newCalls`, by callKey) — and null for any other event. Exported for
 * bench/append-phases.mjs, which times the append's phases with the same numbering.
 */
export function numberFresh(
  fresh: AppendPlan['fresh'], last: number, stored: ReadonlyMap<string, { first_seq: number | null }>,
): { seqs: number[]; callSeqs: Array<number | null>; newCalls: Map<string, number> } {
  const newCalls = new Map<string, number>();
  const seqs: number[] = [];
  const callSeqs: Array<number | null> = [];
  for (const { event } of fresh) {
    const seq = last + seqs.length + 1;
    let callSeq: number | null = null;
    if (updatesCall(event)) {
      const key = callKey(event.sourceId, event.callId);
      const row = stored.get(key);
      if (row) callSeq = row.first_seq;
      else if ((callSeq = newCalls.get(key) ?? null) === null) newCalls.set(key, (callSeq = seq));
    }
    seqs.push(seq);
    callSeqs.push(callSeq);
  }
  return { seqs, callSeqs, newCalls };
}

/**
 * Writes to a stored call row only the columns whose values the merge changed. SQLite rewrites the entry of
 * every index holding a column named in an UPDATE's SET, changed or not: setting every column (the upsert)
 * moved all ten of the calls' index entries on every end_call, each on a page far from the index's right
 * edge by then. Setting only what changed (status, times, durations, counts: the status, stats and
 * in-progress indexes) cut an end_call's update from ~3.8 to ~1.4 WAL pages and its CPU by half
 * (docs/benchmarks.md, issue 15). One statement per set of columns, prepared on first use; a call's merges
 * change a few kinds of sets, so the cache stays small.
 */
function changedColumnsUpdate(db: SqliteDatabase): (before: CallsTable, after: Insertable<CallsTable>) => void {
  const statements = new Map<string, Statement>();
  return (before, after) => {
    const changed = callColumns.filter((c) => before[c] !== (after[c] ?? null));
    if (changed.length === 0) return;
    const key = changed.join(',');
    let statement = statements.get(key);
    if (!statement) {
      if (statements.size >= 256) statements.clear();
      statement = db.prepare(`update calls set ${changed.map((c) => `${c} = ?`).join(', ')} where call_id = ? and source_id = ?`);
      statements.set(key, statement);
    }
    statement.run(...valuesOf(after, changed), after.call_id, after.source_id);
  };
}
