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
  // The digits columns are derived (callToRow), not part of the record.
  const { lead_phone_digits: _lead, called_phone_digits: _called, ...rest } = r;
  return {
    ...rest,
    source_id: r.source_id as SourceId,
    is_delayed_call: r.is_delayed_call === null ? null : r.is_delayed_call === 1,
    lead: r.lead === null ? null : (JSON.parse(r.lead) as Record<string, unknown>),
    agent: r.agent === null ? null : (JSON.parse(r.agent) as Record<string, unknown>),
  };
}

export const callColumns = [
  'user_id', 'widget_key', 'widget_name', 'status', 'timezone', 'is_delayed_call', 'called_lead_phone', 'lead',
  'agent', 'agent_id', 'started_at', 'agent_answered_at', 'lead_answered_at', 'ended_at', 'answer_duration_sec',
  'lead_answer_duration_sec', 'talk_duration_sec', 'total_duration_sec', 'disconnected_by', 'recording_link',
  'lead_created_at', 'speed_to_lead_sec', 'time_to_connect_sec', 'first_event_at', 'last_event_at', 'event_count',
  'merge_rank', 'lead_phone_digits', 'called_phone_digits',
] as const satisfies ReadonlyArray<keyof CallsTable>;
