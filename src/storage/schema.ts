import type { Generated } from 'kysely';
import type { CallState } from '../domain/call.js';

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

/** The call record as a row: the domain's CallState with JSON as text and the boolean as 0/1. */
export type CallsTable = Omit<CallState, 'source_id' | 'is_delayed_call' | 'lead' | 'agent'> & {
  source_id: string;
  is_delayed_call: number | null;
  lead: string | null;
  agent: string | null;
};

export interface Database {
  sources: SourcesTable;
  api_keys: ApiKeysTable;
  events: EventsTable;
  calls: CallsTable;
}
