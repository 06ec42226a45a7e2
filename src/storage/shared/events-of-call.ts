import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * The condition that picks one call's events, on the events table named `table` (an alias or `events`):
 *
 * - PostgreSQL: by call_id, through `events_call` (call_id, source_id, body_hash).
 * - SQLite (migration 0017): an event that wrote its call since 0017 is keyed by its call's `first_seq`
 *   (`call_seq`, index `events_call_seq`); every other event (other types, calls stored before 0017) by
 *   call_id with a null `call_seq` (partial index `events_call_id`). The call's key is read from the calls'
 *   primary key (call_id first), so no source is needed. Each branch names its partial index's condition, so
 *   SQLite's OR-by-union uses both indexes.
 */
export function eventsOfCall(dialect: Dialect, table: string, call: { callId: string; sourceId?: string | undefined }): RawBuilder<SqlBool> {
  const column = (name: string) => sql.ref(`${table}.${name}`);
  const { callId, sourceId } = call;
  const ofSource = (ref: RawBuilder<unknown>) => (sourceId === undefined ? sql`` : sql` and ${ref} = ${sourceId}`);
  if (dialect === 'postgres') return sql<SqlBool>`(${column('call_id')} = ${callId}${ofSource(column('source_id'))})`;
  return sql<SqlBool>`((${column('call_id')} = ${callId}${ofSource(column('source_id'))} and ${column('call_seq')} is null)
    or ${column('call_seq')} in (select c.first_seq from calls c where c.call_id = ${callId}${ofSource(sql.ref('c.source_id'))}))`;
}
