import type { Insertable, Selectable } from 'kysely';
import type { CallState } from '../../domain/call.js';
import { phoneDigits } from '../../domain/phone.js';
import type { SourceId } from '../../domain/ids.js';
import type { CallsTable } from '../schema.js';

/** The call record as text: the whole record (an event's `call_after`) and its lead and agent (the row's columns). */
export interface CallJson {
  record: string;
  lead: string | null;
  agent: string | null;
}

/** The JSON text of a record's lead and agent (`'null'` when absent), when made already (boundCallJson). */
export interface ObjectsJson {
  lead: string;
  agent: string;
}

const objectsPlaceholder = '"lead":null,"agent":null';

/**
 * The record serialised with each of its objects serialised once (`objects`: their text, when the size bound
 * made it already): an append stores both (call_after beside the event, the call row), and lead and agent are
 * most of the record's JSON. `record` in the `tuple` form: tupleRecord. In the `object` form it is exactly
 * JSON.stringify(c), made from the rest of the record (lead and agent as null) with their text put in place.
 * The placeholder is found once and only where the record's own keys are: inside a JSON string every `"` is
 * escaped, and lead and agent, the only objects, are null in that text. A record whose keys are in another
 * order (not made by the merge) is serialised whole.
 */
export function callJson(c: CallState, objects?: ObjectsJson, form: RecordForm = 'object'): CallJson {
  const lead = objects?.lead ?? (c.lead === null ? 'null' : JSON.stringify(c.lead));
  const agent = objects?.agent ?? (c.agent === null ? 'null' : JSON.stringify(c.agent));
  const record = form === 'tuple' ? tupleRecord(c, lead, agent) : objectRecord(c, lead, agent);
  return { record, lead: c.lead === null ? null : lead, agent: c.agent === null ? null : agent };
}

function objectRecord(c: CallState, lead: string, agent: string): string {
  const rest = JSON.stringify({ ...c, lead: null, agent: null });
  const at = rest.indexOf(objectsPlaceholder);
  return at < 0 ? JSON.stringify(c) : `${rest.slice(0, at)}"lead":${lead},"agent":${agent}${rest.slice(at + objectsPlaceholder.length)}`;
}

/**
 * How an event's `call_after` is stored (migration 0016 says when each is written). `object`: the record's
 * JSON, as every version before 0016 wrote and reads it. `tuple`: a JSON array of the record's values in a
 * call row's order (`callRowColumns`, lead and agent as JSON objects rather than text): the record's 29 keys
 * were ~450 of its ~1,030 bytes, and without them an event row of Convolo's fixture (~2.3 KB, one per 4 KB
 * SQLite page) fits two to a page, and a PostgreSQL row stays below the size at which the server compresses
 * it (docs/benchmarks.md, 2026-12-04). `callRecordOf` reads both.
 */
export type RecordForm = 'object' | 'tuple';

/** The record's values in `callRowColumns` order, lead and agent as their JSON text already made. */
function tupleRecord(c: CallState, lead: string, agent: string): string {
  const before = JSON.stringify([c.source_id, c.call_id, c.user_id, c.widget_key, c.widget_name, c.status, c.timezone, c.is_delayed_call, c.called_lead_phone]);
  const after = JSON.stringify([
    c.agent_id, c.started_at, c.agent_answered_at, c.lead_answered_at, c.ended_at, c.answer_duration_sec,
    c.lead_answer_duration_sec, c.talk_duration_sec, c.total_duration_sec, c.disconnected_by, c.recording_link,
    c.lead_created_at, c.speed_to_lead_sec, c.time_to_connect_sec, c.first_event_at, c.last_event_at, c.event_count,
    c.merge_rank,
  ]);
  return `${before.slice(0, -1)},${lead},${agent},${after.slice(1)}`;
}

/** An event's stored `call_after` (either form, see RecordForm) → the record, its keys in CallState's order. */
export function callRecordOf(text: string): CallState {
  const v = JSON.parse(text) as CallState | unknown[];
  return Array.isArray(v) ? tupleToCall(v) : v;
}

/**
 * CallState ⇄ row: JSON objects as text, booleans as 0/1, the phone numbers' digits beside them, the rest as is.
 * `json`: the record's text already made (callJson), so lead and agent are not serialised again.
 */
export function callToRow(c: CallState, json?: Pick<CallJson, 'lead' | 'agent'>): Insertable<CallsTable> {
  // The two keys the record lacks come before the spread: added after it, each would cost V8 a new map
  // (~1 µs per key; fieldsOf in domain/call.ts says why). Keys after it only replace values.
  return {
    lead_phone_digits: phoneDigits(c.lead?.lead_phone),
    called_phone_digits: phoneDigits(c.called_lead_phone),
    ...c,
    is_delayed_call: c.is_delayed_call === null ? null : c.is_delayed_call ? 1 : 0,
    lead: json ? json.lead : c.lead === null ? null : JSON.stringify(c.lead),
    agent: json ? json.agent : c.agent === null ? null : JSON.stringify(c.agent),
  };
}

export function rowToCall(r: Selectable<CallsTable>): CallState {
  return tupleToCall(callRowColumns.map((c) => r[c]));
}

/**
 * A row read as an array (`callRowColumns` order) → CallState. The list and the CSV export read rows this
 * way: better-sqlite3 builds an array per row with much less work than an object of 31 properties, and one
 * object literal here is cheap next to either. The digits columns are derived (callToRow), not part of the
 * record. It also reads an event's record stored as a tuple (RecordForm), whose lead and agent are JSON
 * objects already and whose is_delayed_call is a boolean.
 */
export function tupleToCall(t: readonly unknown[]): CallState {
  const lead = t[at.lead] as string | Record<string, unknown> | null;
  const agent = t[at.agent] as string | Record<string, unknown> | null;
  const delayed = t[at.is_delayed_call] as number | boolean | null;
  return {
    source_id: t[at.source_id] as SourceId,
    call_id: t[at.call_id] as string,
    user_id: t[at.user_id] as string | null,
    widget_key: t[at.widget_key] as string | null,
    widget_name: t[at.widget_name] as string | null,
    status: t[at.status] as string,
    timezone: t[at.timezone] as string | null,
    is_delayed_call: delayed === null ? null : delayed === 1 || delayed === true,
    called_lead_phone: t[at.called_lead_phone] as string | null,
    lead: typeof lead === 'string' ? (JSON.parse(lead) as Record<string, unknown>) : lead,
    agent: typeof agent === 'string' ? (JSON.parse(agent) as Record<string, unknown>) : agent,
    agent_id: t[at.agent_id] as string | null,
    started_at: t[at.started_at] as number | null,
    agent_answered_at: t[at.agent_answered_at] as number | null,
    lead_answered_at: t[at.lead_answered_at] as number | null,
    ended_at: t[at.ended_at] as number | null,
    answer_duration_sec: t[at.answer_duration_sec] as number | null,
    lead_answer_duration_sec: t[at.lead_answer_duration_sec] as number | null,
    talk_duration_sec: t[at.talk_duration_sec] as number | null,
    total_duration_sec: t[at.total_duration_sec] as number | null,
    disconnected_by: t[at.disconnected_by] as string | null,
    recording_link: t[at.recording_link] as string | null,
    lead_created_at: t[at.lead_created_at] as number | null,
    speed_to_lead_sec: t[at.speed_to_lead_sec] as number | null,
    time_to_connect_sec: t[at.time_to_connect_sec] as number | null,
    first_event_at: t[at.first_event_at] as number,
    last_event_at: t[at.last_event_at] as number,
    event_count: t[at.event_count] as number,
    merge_rank: t[at.merge_rank] as number,
  };
}

export const callColumns = [
  'user_id', 'widget_key', 'widget_name', 'status', 'timezone', 'is_delayed_call', 'called_lead_phone', 'lead',
  'agent', 'agent_id', 'started_at', 'agent_answered_at', 'lead_answered_at', 'ended_at', 'answer_duration_sec',
  'lead_answer_duration_sec', 'talk_duration_sec', 'total_duration_sec', 'disconnected_by', 'recording_link',
  'lead_created_at', 'speed_to_lead_sec', 'time_to_connect_sec', 'first_event_at', 'last_event_at', 'event_count',
  'merge_rank', 'lead_phone_digits', 'called_phone_digits',
] as const satisfies ReadonlyArray<keyof CallsTable>;

/** Every column of a call row that the record is made of, in the order tupleToCall reads them. */
export const callRowColumns = ['source_id', 'call_id', ...callColumns.filter((c) => c !== 'lead_phone_digits' && c !== 'called_phone_digits')] as const;
type RowColumn = (typeof callRowColumns)[number];
const at = Object.fromEntries(callRowColumns.map((c, i) => [c, i])) as Record<RowColumn, number>;
