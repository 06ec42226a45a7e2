import type { Generated } from 'kysely';

/**
 * The tables as Kysely sees them. The same shape on SQLite and PostgreSQL: times are epoch milliseconds
 * (bigint), booleans are 0/1 integers and JSON is text, so one query code serves both dialects.
 */
export interface SourcesTable {
  id: string;
  name: string;
  token_hash: string;
  token_hint: string;
  previous_token_hash: string | null;
  previous_token_expires_at: number | null;
  created_at: number;
  revoked_at: number | null;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  scope: string;
  key_hash: string;
  key_hint: string;
  created_at: number;
  revoked_at: number | null;
}

export interface EventsTable {
  seq: Generated<number>;
  id: string;
  source_id: string;
  call_id: string | null;
  type: string | null;
  status: string;
  error_code: string | null;
  error_detail: string | null;
  content_type: string | null;
  body: Buffer | null;
  body_hash: string | null;
  body_size: number;
  body_truncated: number;
  received_at: number;
}

export interface CallsTable {
  source_id: string;
  call_id: string;
  user_id: string | null;
  widget_key: string | null;
  widget_name: string | null;
  status: string;
  timezone: string | null;
  is_delayed_call: number | null;
  called_lead_phone: string | null;
  lead: string | null;
  agent: string | null;
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
  merge_rank: number;
}

export interface Database {
  sources: SourcesTable;
  api_keys: ApiKeysTable;
  events: EventsTable;
  calls: CallsTable;
}
