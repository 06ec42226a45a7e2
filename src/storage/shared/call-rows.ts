import type { Insertable, Selectable } from 'kysely';
import { phoneDigits, type CallState } from '../../domain/call.js';
import type { SourceId } from '../../domain/ids.js';
import type { CallsTable } from '../schema.js';

/** CallState ⇄ row: JSON objects as text, booleans as 0/1, the phone numbers' digits beside them, the rest as is. */
export function callToRow(c: CallState): Insertable<CallsTable> {
  return {
    ...c,
    is_delayed_call: c.is_delayed_call === null ? null : c.is_delayed_call ? 1 : 0,
    lead: c.lead === null ? null : JSON.stringify(c.lead),
    agent: c.agent === null ? null : JSON.stringify(c.agent),
    lead_phone_digits: phoneDigits(c.lead?.lead_phone),
    called_phone_digits: phoneDigits(c.called_lead_phone),
  };
}

export function rowToCall(r: Selectable<CallsTable>): CallState {
  // One literal rather than a rest-spread copy: a fixed shape, several times cheaper per row (CSV export).
  // The digits columns are derived (callToRow), not part of the record.
  return {
    source_id: r.source_id as SourceId,
    call_id: r.call_id,
    user_id: r.user_id,
    widget_key: r.widget_key,
    widget_name: r.widget_name,
    status: r.status,
    timezone: r.timezone,
    is_delayed_call: r.is_delayed_call === null ? null : r.is_delayed_call === 1,
    called_lead_phone: r.called_lead_phone,
    lead: r.lead === null ? null : (JSON.parse(r.lead) as Record<string, unknown>),
    agent: r.agent === null ? null : (JSON.parse(r.agent) as Record<string, unknown>),
    agent_id: r.agent_id,
    started_at: r.started_at,
    agent_answered_at: r.agent_answered_at,
    lead_answered_at: r.lead_answered_at,
    ended_at: r.ended_at,
    answer_duration_sec: r.answer_duration_sec,
    lead_answer_duration_sec: r.lead_answer_duration_sec,
    talk_duration_sec: r.talk_duration_sec,
    total_duration_sec: r.total_duration_sec,
    disconnected_by: r.disconnected_by,
    recording_link: r.recording_link,
    lead_created_at: r.lead_created_at,
    speed_to_lead_sec: r.speed_to_lead_sec,
    time_to_connect_sec: r.time_to_connect_sec,
    first_event_at: r.first_event_at,
    last_event_at: r.last_event_at,
    event_count: r.event_count,
    merge_rank: r.merge_rank,
  };
}

export const callColumns = [
  'user_id', 'widget_key', 'widget_name', 'status', 'timezone', 'is_delayed_call', 'called_lead_phone', 'lead',
  'agent', 'agent_id', 'started_at', 'agent_answered_at', 'lead_answered_at', 'ended_at', 'answer_duration_sec',
  'lead_answer_duration_sec', 'talk_duration_sec', 'total_duration_sec', 'disconnected_by', 'recording_link',
  'lead_created_at', 'speed_to_lead_sec', 'time_to_connect_sec', 'first_event_at', 'last_event_at', 'event_count',
  'merge_rank', 'lead_phone_digits', 'called_phone_digits',
] as const satisfies ReadonlyArray<keyof CallsTable>;
