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
  /** Convolo's call list API key (0013); shown only masked. */
  convolo_api_key: string | null;
  /** Comma-separated widget ids the reconciler asks for (null: all the key sees). */
  convolo_widget_ids: string | null;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  scope: string;
  key_hash: string;
  key_hint: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/**
 * The event log. On SQLite a table; on PostgreSQL (0018) a view of `event_rows` with each row's seq from
 * `event_seqs` (null until the sequencer reaches it): read it there, write the tables.
 */
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
  /** The call record (CallState JSON) right after this event: the relay envelope's `call`. */
  call_after: string | null;
  /** For a quarantine record: the event it was reprocessed into (`switchboard reprocess`). */
  reprocessed_into: string | null;
  /** How the event arrived (0013): null for a webhook, 'reconcile' when fetched from Convolo's call list. */
  origin: string | null;
  /**
   * SQLite only (0017): its call's `first_seq` when the event wrote its call (start_call, end_call) and the call
   * has one; null otherwise. Reads by call go through storage/shared/events-of-call.ts.
   */
  call_seq?: number | null;
}

/** The call record as a row: the domain's CallState with JSON as text and the boolean as 0/1. */
export type CallsTable = Omit<CallState, 'source_id' | 'is_delayed_call' | 'lead' | 'agent'> & {
  source_id: string;
  is_delayed_call: number | null;
  lead: string | null;
  agent: string | null;
  /** Digits only of `lead.lead_phone` and `called_lead_phone` (phoneDigits): the list's `phone` filter. */
  lead_phone_digits: string | null;
  called_phone_digits: string | null;
};

export interface DestinationsTable {
  id: string;
  url: string;
  description: string | null;
  /** JSON arrays (null: no filter). */
  event_types: string | null;
  widget_keys: string | null;
  call_statuses: string | null;
  /** JSON object of extra request headers. */
  headers: string | null;
  rate_limit_per_sec: number | null;
  /**
   * The most webhook requests in flight to it (null: SWITCHBOARD_DESTINATION_CONCURRENCY, per worker); its own
   * value holds for the whole cluster on PostgreSQL.
   */
  max_concurrency: number | null;
  /**
   * PostgreSQL: when its rate bucket's next send slot is, ms on the database's clock (0023; null: a new bucket).
   * Written by the worker's `pace` alone; SQLite keeps its buckets in memory and leaves it null.
   */
  pace_next_at?: number | null;
  /** Kept readable: every delivery is signed with it (as Svix and Stripe keep endpoint secrets). */
  secret: string;
  /**
   * The newest previous secret and the end of its grace: what versions before 0021 read and write (one slot).
   * Still written with the newest, for nodes of such a version during a rolling upgrade.
   */
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  /** Every previous secret (0021): JSON `[{secret, expires_at}]`, newest first (null: none written since 0021). */
  previous_secrets: string | null;
  disabled_at: number | null;
  disabled_reason: string | null;
  /** When the current run of failed attempts began (null after a success). */
  failing_since: number | null;
  /** Paused by an administrator: deliveries are queued but not sent until it is resumed (null: not paused). */
  paused_at: number | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface DeliveriesTable {
  id: string;
  destination_id: string;
  event_seq: number;
  event_id: string;
  /** Events with the same key go out to one destination in seq order: the call, or the event itself. */
  order_key: string;
  status: string;
  attempts: number;
  schedule_start: number;
  next_attempt_at: number;
  locked_until: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface DeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  attempted_at: number;
  status: number | null;
  latency_ms: number;
  response_body: string | null;
  error: string | null;
}

export interface UsersTable {
  id: string;
  /** Trimmed and lowercased: emails compare case-insensitively. */
  email: string;
  name: string | null;
  role: string;
  /** `scrypt$N$r$p$salt$hash` (domain/passwords.ts). */
  password_hash: string;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the cookie's value. */
  token_hash: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export interface SetupTokensTable {
  token_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface InvitationsTable {
  id: string;
  /** SHA-256 of the link's token. */
  token_hash: string;
  email: string;
  role: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** The id of the user who created it (0022); null: created with an API key, or before 0022. */
  created_by: string | null;
}

export interface Database {
  sources: SourcesTable;
  api_keys: ApiKeysTable;
  events: EventsTable;
  calls: CallsTable;
  destinations: DestinationsTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  users: UsersTable;
  sessions: SessionsTable;
  setup_tokens: SetupTokensTable;
  invitations: InvitationsTable;
  reconcile_runs: ReconcileRunsTable;
  reconcile_leases: ReconcileLeasesTable;
  /** PostgreSQL only (0018): the events' rows; `events` is a view of them with their seqs. */
  event_rows: Omit<EventsTable, 'seq' | 'call_seq'>;
  /** PostgreSQL only (0018): the seq the sequencer gave each event. */
  event_seqs: EventSeqsTable;
  /** 0024: one row, the log's id (EventReader.logId). */
  switchboard_log: { id: number; log_id: string };
}

/** PostgreSQL only (0018): one row per sequenced event (storage/postgres/sequencer.ts). */
export interface EventSeqsTable {
  seq: number;
  id: string;
  /** The event's writing transaction and its place in that transaction's batch: the order seq followed. */
  xid: string | null;
  xid_ord: number | null;
}

export interface ReconcileRunsTable {
  id: string;
  source_id: string;
  kind: string;
  started_at: number;
  finished_at: number | null;
  date_from: string;
  date_to: string;
  fetched: Generated<number>;
  present: Generated<number>;
  added: Generated<number>;
  errors: Generated<number>;
  error_code: string | null;
  error_status: number | null;
  error_detail: string | null;
}

export interface ReconcileLeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}
