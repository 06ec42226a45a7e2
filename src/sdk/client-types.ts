import type { StatsBucket, StatsGroupBy } from '../domain/stats.js';
import type { CallRecord } from './envelope.js';

/**
 * The shapes the REST API answers with (SPEC "Query API", "Administration", "Outbound webhooks"), as the
 * server's presenters build them (`src/api/*presenters.ts`, `src/api/v1-*.ts`). Type-only: nothing here
 * exists at run time, so the SDK bundle gains no code from it.
 */

/**
 * A page of a list: `next_cursor` is null on the last page.
 *
 * @example
 * const page: Page<Call> = await client.calls.list({ limit: 100 }); // page.next_cursor: string | null
 */
export interface Page<T, C = string> {
  data: T[];
  next_cursor: C | null;
}

/**
 * A call record (SPEC "The call record"): times are ISO strings, `status` is `in_progress`, `stale` or Convolo's `call_status`.
 *
 * @example
 * const call: Call = (await client.calls.list()).data[0]!; call.talk_duration_sec;
 */
export type Call = CallRecord;

/**
 * An event in a list: no body.
 *
 * @example
 * const { data }: Page<EventSummary, number> = await client.events.list({ status: 'quarantined' });
 */
export interface EventSummary {
  id: string;
  /** The log sequence: the stream's `id`, and `GET /v1/events`' cursor. */
  seq: number;
  source_id: string;
  call_id: string | null;
  /** Convolo's type (`start_call`, `end_call`, …), or Switchboard's own for system events. */
  type: string | null;
  status: 'ok' | 'quarantined' | 'system';
  error: string | null;
  error_detail: string | null;
  content_type: string | null;
  received_at: string;
  body_size: number;
  body_truncated: boolean;
  /** Quarantined events only: the event a reprocess made of it. */
  reprocessed_into?: string | null;
}

/**
 * One event with its raw body: `body_base64` is the exact bytes, `body` the same as text when it is UTF-8.
 *
 * @example
 * const event: EventDetail = await client.events.get('evt_…'); JSON.parse(event.body ?? 'null');
 */
export interface EventDetail extends EventSummary {
  body: string | null;
  body_base64: string | null;
}

/**
 * `GET /v1/calls/{call_id}`: the record and its timeline, oldest first.
 *
 * @example
 * const detail: CallDetail = await client.calls.get('c-1'); detail.events.map((e) => e.type);
 */
export type CallDetail = Call & { events: EventSummary[] };

/**
 * @example
 * const filters: CallFilters = { status: 'answered', from: '2026-11-01T00:00:00Z', limit: 500 };
 */
export interface CallFilters {
  status?: string;
  widget_key?: string;
  agent_id?: string;
  source_id?: string;
  /** Matches the lead's phone or called_lead_phone by digits. */
  phone?: string;
  /** ISO date-time: first_event_at at or after it. */
  from?: string;
  /** ISO date-time: first_event_at before it. */
  to?: string;
  /** Substring of call_id, widget_name, the lead's name or email, or phone digits. */
  q?: string;
  cursor?: string;
  /** 1–500, default 50. */
  limit?: number;
}

/**
 * @example
 * const filters: EventFilters = { call_id: 'c-1', status: 'ok' };
 */
export interface EventFilters {
  type?: string;
  call_id?: string;
  source_id?: string;
  status?: 'ok' | 'quarantined';
  /** A `next_cursor` of a previous page (a seq). */
  cursor?: number;
  limit?: number;
}

/**
 * @example
 * const params: StatsParams = { group_by: 'hour', tz: 'Europe/Stockholm', from: '2026-11-27' };
 */
export interface StatsParams {
  /** Default `day`. */
  group_by?: StatsGroupBy;
  /** IANA zone, default UTC. */
  tz?: string;
  /** ISO date-time with offset, or a date (local midnight in tz). Default: 7 days before `to`. */
  from?: string;
  /** Exclusive; default now. */
  to?: string;
}

/**
 * One hour, day, widget, agent or source of a stats answer (the server's own type).
 *
 * @example
 * const best: StatsBucket | undefined = (await client.stats({ group_by: 'agent' })).buckets[0];
 */
export type { StatsBucket };

/**
 * @example
 * const stats: Stats = await client.stats({ group_by: 'day' }); stats.buckets.map((b) => b.answer_rate);
 */
export interface Stats {
  group_by: string;
  tz: string;
  from: string;
  to: string;
  buckets: StatsBucket[];
}

/**
 * The settings of a destination, as sent to create or update one (`null` clears a setting).
 *
 * @example
 * const settings: DestinationSettings = { event_types: ['call.ended'], call_statuses: ['answered'] };
 */
export interface DestinationSettings {
  description?: string | null;
  event_types?: string[] | null;
  widget_keys?: string[] | null;
  call_statuses?: string[] | null;
  headers?: Record<string, string> | null;
  rate_limit_per_sec?: number | null;
  /** The most webhook requests in flight to it per worker (null: the server's SWITCHBOARD_DESTINATION_CONCURRENCY). */
  max_concurrency?: number | null;
}

/**
 * @example
 * const { data }: { data: Destination[] } = await client.destinations.list();
 */
export interface Destination {
  id: string;
  url: string;
  description: string | null;
  event_types: string[] | null;
  widget_keys: string[] | null;
  call_statuses: string[] | null;
  headers: Record<string, string> | null;
  rate_limit_per_sec: number | null;
  max_concurrency: number | null;
  status: 'enabled' | 'disabled';
  disabled_at: string | null;
  disabled_reason: string | null;
  failing_since: string | null;
  created_at: string;
  updated_at: string;
  /** `whsec_…` and the secret's last four characters. */
  secret_hint: string;
  previous_secret_expires_at: string | null;
}

/**
 * A destination as created, fetched alone or just rotated: with its signing secret.
 *
 * @example
 * const { secret }: DestinationWithSecret = await client.destinations.create({ url: 'https://app.example.com/hooks' });
 */
export interface DestinationWithSecret extends Destination {
  secret: string;
}

/**
 * The answer of `POST /v1/destinations/{id}/test`: what the receiver said.
 *
 * @example
 * const result: DestinationTestResult = await client.destinations.test('dst_…'); if (!result.ok) console.log(result.error);
 */
export interface DestinationTestResult {
  ok: boolean;
  status: number | null;
  latency_ms: number;
  response_body: string | null;
  error: string | null;
}

/**
 * @example
 * const params: ReplayParams = { since: '2026-11-26T00:00:00Z', only_failed: true };
 */
export interface ReplayParams {
  since?: string;
  until?: string;
  only_failed?: boolean;
}

/**
 * @example
 * const last: DeliveryAttempt | undefined = (await client.deliveries.get('dlv_…')).attempts.at(-1);
 */
export interface DeliveryAttempt {
  attempt: number;
  attempted_at: string;
  status: number | null;
  latency_ms: number | null;
  response_body: string | null;
  error: string | null;
}

/**
 * @example
 * const failed: Delivery[] = (await client.deliveries.list({ status: 'failed' })).data;
 */
export interface Delivery {
  id: string;
  destination_id: string;
  event_id: string;
  event_seq: number;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempt_count: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  attempts: DeliveryAttempt[];
}

/**
 * @example
 * const filters: DeliveryFilters = { destination_id: 'dst_…', status: 'failed' };
 */
export interface DeliveryFilters {
  destination_id?: string;
  status?: Delivery['status'];
  event_id?: string;
  cursor?: string;
  limit?: number;
}

/**
 * @example
 * const active: ApiKeyInfo[] = (await client.keys.list()).data.filter((k) => k.status === 'active');
 */
export interface ApiKeyInfo {
  id: string;
  name: string;
  scope: 'read' | 'admin';
  key_hint: string;
  status: 'active' | 'revoked';
  created_at: string;
  revoked_at: string | null;
}

/**
 * A new API key: `key` (`sbk_…`) is shown this once.
 *
 * @example
 * const { key }: CreatedApiKey = await client.keys.create({ name: 'dashboard', scope: 'read' });
 */
export interface CreatedApiKey {
  id: string;
  name: string;
  scope: 'read' | 'admin';
  key: string;
  created_at: string;
}

/**
 * @example
 * const sources: Source[] = (await client.sources.list()).data;
 */
export interface Source {
  id: string;
  name: string;
  token_hint: string;
  status: 'active' | 'revoked';
  created_at: string;
  revoked_at: string | null;
  /** After a rotation, until when the previous token is still accepted. */
  previous_token_expires_at: string | null;
}

/**
 * A new source: its `token` and `ingest_url` are shown this once.
 *
 * @example
 * const { ingest_url }: CreatedSource = await client.sources.create({ name: 'production' });
 */
export interface CreatedSource {
  id: string;
  name: string;
  token: string;
  ingest_url: string;
  created_at: string;
}

/**
 * A rotated source: the new token and ingest URL (the old token works for 24 h).
 *
 * @example
 * const { token }: RotatedSource = await client.sources.rotate('src_…');
 */
export type RotatedSource = Source & { token: string; ingest_url: string };

/**
 * A person who signs in to the dashboard: `viewer` reads everything, `admin` also changes things.
 *
 * @example
 * const admins: User[] = (await client.users.list()).data.filter((u) => u.role === 'admin');
 */
export interface User {
  /** `usr_…` */
  id: string;
  /** Trimmed and lowercased. */
  email: string;
  name: string | null;
  role: 'viewer' | 'admin';
  created_at: string;
}

/**
 * @example
 * const params: NewUser = { email: 'ann@example.com', role: 'viewer', password: 'a long passphrase' };
 */
export interface NewUser {
  email: string;
  name?: string;
  role: 'viewer' | 'admin';
  /** 10 to 1024 characters. */
  password: string;
}
