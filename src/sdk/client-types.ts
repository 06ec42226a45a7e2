import type * as contract from '../domain/contract/index.js';
import type { StatsGroupBy } from '../domain/stats.js';
import type { CallRecord } from './envelope.js';

/**
 * The shapes the REST API answers with (SPEC "Query API", "Administration", "Outbound webhooks"), derived
 * from the schemas the server answers with (`src/domain/contract/`), so they cannot drift apart. The
 * request parameters are the SDK's own. Type-only: nothing here exists at run time, so the SDK bundle gains
 * no code from it.
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
export type EventSummary = contract.EventSummary;

/**
 * One event with its raw body: `body_base64` is the exact bytes, `body` the same as text when it is UTF-8.
 *
 * @example
 * const event: EventDetail = await client.events.get('evt_…'); JSON.parse(event.body ?? 'null');
 */
export type EventDetail = contract.EventDetail;

/**
 * What `events.reprocess` answers: the event the quarantined request became (`duplicate` when that event
 * was already stored) and its call.
 *
 * @example
 * const { id, call_id, duplicate }: ReprocessResult = await client.events.reprocess('evt_…');
 */
export type ReprocessResult = contract.ReprocessAck;

/**
 * What became of one record in `events.reprocessAll`: the event it became, or the error it still answers.
 *
 * @example
 * const stuck: ReprocessOutcome[] = (await client.events.reprocessAll()).results.filter((r) => r.outcome !== 'reprocessed');
 */
export type ReprocessOutcome = contract.ReprocessOutcome;

/**
 * What `events.reprocessAll` answers: how many became events, how many still do not parse, how many
 * cannot be reprocessed (their body was over the limit, so not kept whole), and each record's outcome.
 *
 * @example
 * const { reprocessed, still_invalid, results }: ReprocessCounts = await client.events.reprocessAll();
 */
export type ReprocessCounts = contract.ReprocessCounts;

/**
 * What `events.quarantine` answers: records waiting for a reprocess, and those reprocessed.
 *
 * @example
 * const { waiting }: QuarantineCounts = await client.events.quarantine();
 */
export type QuarantineCounts = contract.QuarantineCounts;

/**
 * `GET /v1/calls/{call_id}`: the record, its timeline (oldest first) and its deliveries per destination.
 *
 * @example
 * const detail: CallDetail = await client.calls.get('c-1'); detail.events.map((e) => e.type);
 */
export type CallDetail = contract.CallDetail;

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
  /** ISO date-time: the call's time as stats count it (started_at, else first_event_at) at or after it. */
  started_from?: string;
  /** ISO date-time: the call's time as stats count it before it. */
  started_to?: string;
  /** Convolo's disconnected_by, exactly. */
  disconnected_by?: string;
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
 * One hour, day, hour of the week, widget, agent, source or disconnected_by of a stats answer.
 *
 * @example
 * const best: StatsBucket | undefined = (await client.stats({ group_by: 'agent' })).buckets[0];
 */
export type StatsBucket = contract.StatsBucket;

/**
 * @example
 * const stats: Stats = await client.stats({ group_by: 'day' }); stats.buckets.map((b) => b.answer_rate);
 */
export type Stats = contract.Stats;

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
  /** The most webhook requests a second to it, all workers together (after an idle spell, a second's worth may go at once); null: no limit. */
  rate_limit_per_sec?: number | null;
  /** The most webhook requests in flight to it, all workers together (null: the server's SWITCHBOARD_DESTINATION_CONCURRENCY, per worker). */
  max_concurrency?: number | null;
}

/**
 * @example
 * const { data }: { data: Destination[] } = await client.destinations.list();
 */
export type Destination = contract.Destination;

/**
 * A destination as created, fetched alone or just rotated: with its signing secret.
 *
 * @example
 * const { secret }: DestinationWithSecret = await client.destinations.create({ url: 'https://app.example.com/hooks' });
 */
export type DestinationWithSecret = contract.DestinationWithSecret;

/**
 * The answer of `POST /v1/destinations/{id}/test`: what the receiver said.
 *
 * @example
 * const result: DestinationTestResult = await client.destinations.test('dst_…'); if (!result.ok) console.log(result.error);
 */
export type DestinationTestResult = contract.DestinationTestResult;

/**
 * @example
 * const params: ReplayParams = { since: '2026-11-26T00:00:00Z', only_failed: true };
 */
export interface ReplayParams {
  since?: string;
  until?: string;
  only_failed?: boolean;
  /** Queue nothing: answer how many it would queue. */
  dry_run?: boolean;
}

/**
 * @example
 * const { queued, dry_run }: ReplayAnswer = await client.destinations.replay('dst_…', { only_failed: true, dry_run: true });
 */
export type ReplayAnswer = contract.ReplayAnswer;

/**
 * @example
 * const { retried }: RetryFailedAnswer = await client.destinations.retryFailed('dst_…', { dry_run: true });
 */
export type RetryFailedAnswer = contract.RetryFailedAnswer;

/**
 * @example
 * const { data }: DestinationHealthList = await client.destinations.health();
 * const failing = data.filter((h) => h.failed > 0);
 */
export type DestinationHealthList = contract.DestinationHealthList;

/**
 * @example
 * const d: DestinationMaybeSecret = await client.destinations.get('dst_…'); // d.secret: an administrator only
 */
export type DestinationMaybeSecret = contract.Destination & { secret?: string };

/**
 * @example
 * const last: DeliveryAttempt | undefined = (await client.deliveries.get('dlv_…')).attempts.at(-1);
 */
export type DeliveryAttempt = contract.DeliveryAttempt;

/**
 * @example
 * const failed: Delivery[] = (await client.deliveries.list({ status: 'failed' })).data;
 */
export type Delivery = contract.Delivery;

/**
 * @example
 * const filters: DeliveryFilters = { destination_id: 'dst_…', status: 'failed' };
 */
export interface DeliveryFilters {
  destination_id?: string;
  /** One status, or several comma-separated (`failed,pending`). */
  status?: Delivery['status'] | (string & {});
  event_id?: string;
  /** The envelope type of the delivery's event: `call.ended`, … */
  event_type?: string;
  call_id?: string;
  cursor?: string;
  limit?: number;
}

/**
 * @example
 * const active: ApiKeyInfo[] = (await client.keys.list()).data.filter((k) => k.status === 'active');
 */
export type ApiKeyInfo = contract.ApiKeyInfo;

/**
 * A new API key: `key` (`sbk_…`) is shown this once.
 *
 * @example
 * const { key }: CreatedApiKey = await client.keys.create({ name: 'dashboard', scope: 'read' });
 */
export type CreatedApiKey = contract.CreatedApiKey;

/**
 * @example
 * const sources: Source[] = (await client.sources.list()).data;
 */
export type Source = contract.Source;

/**
 * A new source: its `token` and `ingest_url` are shown this once.
 *
 * @example
 * const { ingest_url }: CreatedSource = await client.sources.create({ name: 'production' });
 */
export type CreatedSource = contract.CreatedSource;

/**
 * A rotated source: the new token and ingest URL (the old token works for 24 h).
 *
 * @example
 * const { token }: RotatedSource = await client.sources.rotate('src_…');
 */
export type RotatedSource = contract.RotatedSource;

/**
 * A source's Convolo call list settings: the key only masked.
 *
 * @example
 * const { api_key_hint }: ConvoloSettings = await client.sources.setConvolo('src_…', { api_key: '…', widget_ids: ['w1'] });
 */
export type ConvoloSettings = contract.ConvoloSettings;

/**
 * A reconcile run or a backfill step: fetched, already present, added (the webhooks Convolo never delivered).
 *
 * @example
 * const run: ReconcileRun = await client.sources.reconcileNow('src_…'); console.log(run.added);
 */
export type ReconcileRun = contract.ReconcileRun;

/**
 * `GET /v1/sources/{id}/reconcile`: the settings, the last run, the next one and the last 20 runs.
 *
 * @example
 * const { last_run }: ReconcileStatus = await client.sources.reconcile('src_…');
 */
export type ReconcileStatus = contract.ReconcileStatus;

/**
 * One step of a backfill and the page to ask for next (null: the range is done).
 *
 * @example
 * let step: BackfillStep = await client.sources.backfill('src_…', { date_from: '2026-01-01', date_to: '2026-01-01' });
 */
export type BackfillStep = contract.BackfillStep;

/**
 * A person who signs in to the dashboard: `viewer` reads everything, `admin` also changes things.
 *
 * @example
 * const admins: User[] = (await client.users.list()).data.filter((u) => u.role === 'admin');
 */
export type User = contract.User;

/**
 * @example
 * const params: NewUser = { email: 'ann@example.com', role: 'viewer', password: 'a long passphrase' };
 */
export interface NewUser {
  email: string;
  name?: string;
  role: contract.Role;
  /** 10 to 1024 characters. */
  password: string;
}

/**
 * A pending invitation (a one-time link for a person to join with a role).
 *
 * @example
 * const pending: Invitation[] = (await client.invitations.list()).data;
 */
export type Invitation = contract.Invitation;

/**
 * A new invitation: `url` is the link to give the person, shown this once.
 *
 * @example
 * const { url }: CreatedInvitation = await client.invitations.create({ email: 'ann@example.com', role: 'viewer' });
 */
export type CreatedInvitation = contract.CreatedInvitation;

/**
 * What `about` answers: version, backend, node role, your role, retention and the commit settings.
 *
 * @example
 * const { version, storage }: About = await client.about();
 */
export type About = contract.About;
