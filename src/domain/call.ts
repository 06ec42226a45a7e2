import type { SourceId } from './ids.js';
import { daysInMonth, utc } from './calendar.js';
import { wellFormed } from './well-formed.js';

/**
 * The call record: one per (source, call_id), merged from that call's events in any order.
 * Times are epoch milliseconds here and ISO strings on the wire (see presenters.ts).
 */
export interface CallState {
  source_id: SourceId;
  call_id: string;
  user_id: string | null;
  widget_key: string | null;
  widget_name: string | null;
  status: string;
  timezone: string | null;
  is_delayed_call: boolean | null;
  called_lead_phone: string | null;
  lead: Record<string, unknown> | null;
  agent: Record<string, unknown> | null;
  agent_id: string | null;
  started_at: number | null;
  agent_answered_at: number | null;
  lead_answered_at: number | null;
  ended_at: number | null;
  answer_duration_sec: number | null;
  lead_answer_duration_sec: number | null;
  talk_duration_sec: number | null;
  total_duration_sec: number | null;
  disconnected_by: string | null;
  recording_link: string | null;
  lead_created_at: number | null;
  speed_to_lead_sec: number | null;
  time_to_connect_sec: number | null;
  first_event_at: number;
  last_event_at: number;
  event_count: number;
  /** How authoritative the merged fields are: 1 after a start_call, 2 after an end_call. */
  merge_rank: number;
}

/**
 * What one event says about its call, read from the payload once, at the edge (see `callEventOf`), so the
 * merge inside the commit only compares values.
 */
export interface CallEvent {
  type: 'start_call' | 'end_call';
  fields: Partial<CallFields>;
  /** end_call only: Convolo's call_status (null when it sent none). */
  callStatus: string | null;
  receivedAt: number;
}

export function callEventOf(type: 'start_call' | 'end_call', payload: Record<string, unknown>, receivedAt: number): CallEvent {
  return { type, fields: fieldsOf(type, payload, receivedAt), callStatus: str(payload.call_status), receivedAt };
}

export const inProgress = 'in_progress';
export const stale = 'stale';

export type CallFields = Omit<CallState, 'source_id' | 'call_id' | 'status' | 'first_event_at' | 'last_event_at' | 'event_count' | 'merge_rank' | 'speed_to_lead_sec' | 'time_to_connect_sec'>;

/**
 * Applies one event to the record. An event overwrites a field only when it is at least as authoritative as
 * what the record already holds (an end_call over a start_call, a later revision over an earlier one of the
 * same type) and only with a value it actually carries: a late start_call never overwrites what end_call set,
 * and a `null` or missing field never erases a known one.
 */
export function mergeCall(previous: CallState | null, sourceId: SourceId, callId: string, event: CallEvent): CallState {
  const rank = event.type === 'end_call' ? 2 : 1;
  const base: CallState = previous ?? emptyCall(sourceId, callId, event.receivedAt);
  const incoming = event.fields;
  const overwrite = rank >= base.merge_rank;
  const merged: CallState = { ...base };
  for (const key of Object.keys(incoming) as Array<keyof CallFields>) {
    const value = incoming[key];
    if (value === null || value === undefined) continue;
    const current = merged[key];
    const target = merged as unknown as Record<string, unknown>;
    if (isPlainObject(value) && isPlainObject(current)) {
      // lead and agent: merge key by key under the same rule, so an end_call without custom_params keeps
      // the ones its start_call brought.
      target[key] = mergeObjects(current, value, overwrite);
    } else if (overwrite || current === null) {
      target[key] = value;
    }
  }
  if (event.type === 'end_call') {
    // A revision without call_status does not erase the outcome an earlier end_call gave.
    merged.status = event.callStatus ?? (base.merge_rank === 2 ? base.status : 'ended');
  }
  merged.merge_rank = Math.max(base.merge_rank, rank);
  merged.first_event_at = Math.min(base.first_event_at, event.receivedAt);
  merged.last_event_at = Math.max(base.last_event_at, event.receivedAt);
  merged.event_count = (previous?.event_count ?? 0) + 1;
  merged.speed_to_lead_sec = secondsBetween(merged.lead_created_at, merged.started_at);
  merged.time_to_connect_sec = secondsBetween(merged.lead_created_at, merged.lead_answered_at);
  // NUL and lone surrogates (in lead and agent, keys too) become U+FFFD: every query on both backends can
  // read the record (well-formed.ts says why); the raw body keeps the original.
  return wellFormed(merged);
}

function emptyCall(sourceId: SourceId, callId: string, at: number): CallState {
  return {
    source_id: sourceId, call_id: callId, user_id: null, widget_key: null, widget_name: null, status: inProgress,
    timezone: null, is_delayed_call: null, called_lead_phone: null, lead: null, agent: null, agent_id: null,
    started_at: null, agent_answered_at: null, lead_answered_at: null, ended_at: null, answer_duration_sec: null,
    lead_answer_duration_sec: null, talk_duration_sec: null, total_duration_sec: null, disconnected_by: null,
    recording_link: null, lead_created_at: null, speed_to_lead_sec: null, time_to_connect_sec: null,
    first_event_at: at, last_event_at: at, event_count: 0, merge_rank: 0,
  };
}

function fieldsOf(type: CallEvent['type'], p: Record<string, unknown>, receivedAt: number): Partial<CallFields> {
  const lead = obj(p.lead);
  const agent = obj(p.agent);
  const fields: Partial<CallFields> = {
    user_id: str(p.user_id),
    widget_key: str(p.widget_key),
    widget_name: str(p.widget_name),
    timezone: str(p.timezone),
    is_delayed_call: bool(p.is_delayed_call),
    called_lead_phone: str(p.called_lead_phone),
    lead,
    agent,
    agent_id: agent ? str(agent.id) : null,
    lead_created_at: lead ? time(lead.time_created_iso_string) : null,
  };
  if (type === 'start_call') {
    // start_call carries no timestamp of its own: the moment Convolo posted it is the best start time we
    // have until the end_call brings Convolo's own.
    fields.started_at = receivedAt;
    return fields;
  }
  // Assigned, not `{ ...fields, started_at, … }`: in this V8 an object made by a spread gets a map outside the
  // transition tree, and each key added to it after the spread cost ~1 µs (the end_call's ten: ~10 µs per
  // event on the writer thread; docs/benchmarks.md, issue 15 part 3). Keys added to a literal follow cached
  // transitions.
  fields.started_at = time(p.time_started_iso_string);
  fields.agent_answered_at = time(p.time_agent_answered_iso_string);
  fields.lead_answered_at = time(p.time_lead_answered_iso_string);
  fields.ended_at = time(p.time_ended_iso_string);
  fields.answer_duration_sec = num(p.answer_duration_sec);
  fields.lead_answer_duration_sec = num(p.lead_answer_duration_sec);
  fields.talk_duration_sec = num(p.talk_duration_sec);
  fields.total_duration_sec = num(p.total_duration_sec);
  fields.disconnected_by = str(p.disconnected_by);
  fields.recording_link = str(p.recording_link);
  return fields;
}

function secondsBetween(from: number | null, to: number | null): number | null {
  return from === null || to === null ? null : Math.round((to - from) / 1000);
}

// Real traffic sends any type in any field: these coerce what is sensible and drop the rest to null
// (the raw body keeps the original either way).
const maxStringLength = 4096;
export function str(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.length === 0) return null;
  // PostgreSQL text cannot hold NUL.
  return value.slice(0, maxStringLength).replaceAll('\u0000', '\uFFFD');
}

function num(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && Math.abs(n) < 1e12 ? n : null;
}

function bool(value: unknown): boolean | null {
  if (value === true || value === 'true' || value === 1 || value === '1') return true;
  if (value === false || value === 'false' || value === 0 || value === '0') return false;
  return null;
}

/**
 * A time Convolo writes as an ISO string (`2026-01-01T12:00:00.000Z`), also with another offset, without one
 * (read as UTC), with a space for `T`, as a date alone (midnight UTC), or as an HTTP date with its zone
 * (`Thu, 01 Jan 2026 12:00:00 GMT`). Anything else is null, and so is a day the calendar lacks. Not
 * Date.parse: it reads a time without an offset in the server's own zone (two nodes in two zones made two
 * records of one payload), rolls 2026-02-30 over to March 2, and reads text such as "1" or "call 2" as 2001.
 */
const isoTime = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
const httpTime = /^(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+(GMT|UTC|UT|Z|[+-]\d{4})$/i;
const monthNames = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** What Convolo sends (`toISOString()`): read by Date.parse's ISO path, which refuses every field out of range but two. */
const canonicalTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const digitsAt = (text: string, at: number): number => (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48;

function time(value: unknown): number | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  if (canonicalTime.test(value)) {
    // The two: a day past its month's end (rolled over) and the hour 24 (the next day's midnight).
    if (digitsAt(value, 8) > daysInMonth(Number(value.slice(0, 4)), digitsAt(value, 5)) || digitsAt(value, 11) > 23) return null;
    const at = Date.parse(value);
    return Number.isFinite(at) ? at : null;
  }
  const text = value.trim();
  let year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0, zone: string | undefined;
  const iso = isoTime.exec(text);
  if (iso) {
    [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
    if (iso[4] !== undefined) [hour, minute, second] = [Number(iso[4]), Number(iso[5]), Number(iso[6] ?? 0)];
    if (iso[7] !== undefined) ms = Number(iso[7].slice(0, 3).padEnd(3, '0'));
    zone = iso[8];
  } else {
    const http = httpTime.exec(text);
    if (!http) return null;
    [day, month, year] = [Number(http[1]), monthNames.indexOf(http[2]!.toLowerCase()) + 1, Number(http[3])];
    [hour, minute, second] = [Number(http[4]), Number(http[5]), Number(http[6] ?? 0)];
    zone = http[7];
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  let offsetMin = 0;
  if (zone !== undefined && /^[+-]/.test(zone)) {
    const digits = zone.slice(1).replace(':', '');
    const [h, m] = [Number(digits.slice(0, 2)), Number(digits.slice(2, 4) || 0)];
    if (h > 23 || m > 59) return null;
    offsetMin = (zone[0] === '-' ? -1 : 1) * (h * 60 + m);
  }
  const at = utc(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
  return Number.isFinite(at) ? at : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * One level of the merge rule: a value overwrites when `overwrite`, else only fills what is null or absent.
 * Keys are the sender's data, whatever their name: only own keys count (`constructor` or `toString` are not
 * "already known" from Object.prototype), and `__proto__` is defined, not assigned, since assigning it would
 * set the object's prototype and drop the key. The copy is built key by key on a fresh object: in this
 * V8, each key added to an object made by a spread costs a new map (~1 µs), 7× the whole merge of a lead
 * this way (docs/benchmarks.md, issue 15 part 3).
 */
function mergeObjects(current: Record<string, unknown>, incoming: Record<string, unknown>, overwrite: boolean): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (key === '__proto__') Object.defineProperty(merged, key, { value, writable: true, enumerable: true, configurable: true });
    else merged[key] = value;
  };
  for (const key in current) if (Object.hasOwn(current, key)) set(key, current[key]);
  for (const key in incoming) {
    if (!Object.hasOwn(incoming, key)) continue;
    const value = incoming[key];
    const has = Object.hasOwn(merged, key);
    const known = has && merged[key] !== null && merged[key] !== undefined;
    if ((value === null || value === undefined) ? !has : overwrite || !known) set(key, value);
  }
  return merged;
}

function obj(value: unknown): Record<string, unknown> | null {
  return isPlainObject(value) ? value : null;
}
