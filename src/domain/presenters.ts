import type { CallState } from './call.js';
import type { CallRecord } from './contract/calls.js';

/** The call record as the API and the relay envelope show it (domain/contract/calls.ts): `merge_rank` and
 * `agent_id` are kept for merging and filtering only (the record shows `agent.id`). */
export type { CallRecord };

const msPerDay = 86_400_000;
let cachedDay = NaN;
let cachedDayPrefix = '';

/**
 * `ms` as `new Date(ms).toISOString()` writes it, faster: the date part is kept for the last day seen (calls
 * are read in time order, so pages and exports mostly hit it) and the time of day is plain arithmetic. A list
 * page formats 7 times per call, an export millions of them.
 */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  if (ms === null) return null;
  if (!Number.isInteger(ms) || ms < 0 || ms >= 253_402_300_800_000) return new Date(ms).toISOString(); // outside 1970–9999
  const day = Math.floor(ms / msPerDay);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = new Date(day * msPerDay).toISOString().slice(0, 11);
  }
  let rest = ms - day * msPerDay;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  return `${cachedDayPrefix}${two(hour)}:${two(min)}:${two(sec)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * Convolo sends numeric user ids; they are stored as text so that no value is refused, and shown as numbers.
 *
 * @example
 * presentUserId('12345'); // 12345
 * presentUserId('u-7'); // 'u-7'
 */
export function presentUserId(userId: string | null): number | string | null {
  return userId !== null && /^-?\d{1,15}$/.test(userId) ? Number(userId) : userId;
}

/**
 * The record in SPEC's field order (one literal: a fixed shape, and much cheaper than copying key by key).
 * `lead` and `agent` are Convolo's objects as merged, typed by their documented fields.
 */
export function presentCall(c: CallState): CallRecord {
  return {
    call_id: c.call_id,
    source_id: c.source_id,
    user_id: presentUserId(c.user_id),
    widget_key: c.widget_key,
    widget_name: c.widget_name,
    status: c.status,
    timezone: c.timezone,
    is_delayed_call: c.is_delayed_call,
    called_lead_phone: c.called_lead_phone,
    lead: c.lead,
    agent: c.agent,
    started_at: iso(c.started_at),
    agent_answered_at: iso(c.agent_answered_at),
    lead_answered_at: iso(c.lead_answered_at),
    ended_at: iso(c.ended_at),
    answer_duration_sec: c.answer_duration_sec,
    lead_answer_duration_sec: c.lead_answer_duration_sec,
    talk_duration_sec: c.talk_duration_sec,
    total_duration_sec: c.total_duration_sec,
    disconnected_by: c.disconnected_by,
    recording_link: c.recording_link,
    lead_created_at: iso(c.lead_created_at),
    speed_to_lead_sec: c.speed_to_lead_sec,
    time_to_connect_sec: c.time_to_connect_sec,
    first_event_at: iso(c.first_event_at),
    last_event_at: iso(c.last_event_at),
    event_count: c.event_count,
  };
}
