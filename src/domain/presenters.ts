import type { CallState } from './call.js';

/** The call record as the API and the relay envelope show it (SPEC "The call record"). */
export interface CallRecord {
  call_id: string;
  source_id: string;
  user_id: number | string | null;
  widget_key: string | null;
  widget_name: string | null;
  status: string;
  timezone: string | null;
  is_delayed_call: boolean | null;
  called_lead_phone: string | null;
  lead: Record<string, unknown> | null;
  agent: Record<string, unknown> | null;
  started_at: string | null;
  agent_answered_at: string | null;
  lead_answered_at: string | null;
  ended_at: string | null;
  answer_duration_sec: number | null;
  lead_answer_duration_sec: number | null;
  talk_duration_sec: number | null;
  total_duration_sec: number | null;
  disconnected_by: string | null;
  recording_link: string | null;
  lead_created_at: string | null;
  speed_to_lead_sec: number | null;
  time_to_connect_sec: number | null;
  first_event_at: string;
  last_event_at: string;
  event_count: number;
}

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function presentCall(c: CallState): CallRecord {
  return {
    call_id: c.call_id,
    source_id: c.source_id,
    // Convolo sends numeric user ids; they are stored as text so that no value is refused.
    user_id: c.user_id !== null && /^-?\d{1,15}$/.test(c.user_id) ? Number(c.user_id) : c.user_id,
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
