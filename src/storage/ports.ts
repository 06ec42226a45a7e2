import type { CallState } from '../domain/call.js';
import type { Destination } from '../domain/destination.js';
import type { EventStatus } from '../domain/envelope.js';
import type { OffsetRun, StatsAggregate, StatsRange } from '../domain/stats.js';
import type { ApiKeyId, DeliveryId, DestinationId, EventId, InvitationId, LogId, SourceId, UserId } from '../domain/ids.js';

/** The interfaces the services need. Only app.ts knows which backend implements them. */

export type { EventStatus };

/**
 * One ingest request, ready to be stored. Accepted start_call and end_call events also update their call.
 * Switchboard's own events (status `system`: call.stale and the operational ones) go through the same log.
 * A `call.stale` event is dropped (`skipped`) when its call is no longer in progress at commit time.
 */
export interface NewEvent {
  id: EventId;
  sourceId: SourceId;
  callId: string | null;
  type: string | null;
  status: EventStatus;
  errorCode: string | null;
  errorDetail: string | null;
  /** As the sender claimed it, whole (the stored copy is cut to 255 characters). */
  contentType: string | null;
  body: Buffer | null;
  /** SHA-256 of the body, for accepted events only: it is the deduplication key. */
  bodyHash: string | null;
  bodySize: number;
  bodyTruncated: boolean;
  receivedAt: number;
  /**
   * How it arrived: absent for a webhook; 'reconcile' for an end_call fetched from Convolo's call list. A
   * reconcile event for a call that already has its end_call is skipped (nothing stored, `skipped` set).
   */
  origin?: EventOrigin;
}

export type EventOrigin = 'webhook' | 'reconcile';

/** What the log answers for each appended event: the stored id (the first one for a duplicate) and seq. */
export interface AppendResult {
  id: EventId;
  seq: number;
  duplicate: boolean;
  /**
   * The call record right after this event (for any event of a call that exists), where the backend keeps it:
   * the SQLite writer thread leaves it out of its answer, since nothing outside the storage reads it and it
   * would be copied across the thread boundary with every event.
   */
  call?: CallState | null;
  /** True when nothing was stored because the event no longer applied (a call.stale for an ended call). */
  skipped?: true;
  /** Deliveries this event queued in the outbox (absent: none), so the worker is woken only when needed. */
  queued?: number;
  /**
   * A fresh event as the log's readers will read it (`readAfter`), when the append was asked for it
   * (`AppendOptions.stored`) and the backend gives seqs in the commit (SQLite): the stream then fans out a
   * local commit's events without reading them back. Absent on PostgreSQL, whose sequencer hands them instead.
   */
  stored?: StoredEvent;
}

export interface AppendOptions {
  /** Fill `AppendResult.stored` where the backend can (SQLite): a stream has clients to send them to. */
  stored?: boolean;
}

/** An event as the log keeps it: what was appended (its content type cut to 255), with its seq. */
export interface StoredEvent extends Omit<NewEvent, 'bodyHash'> {
  seq: number;
  callAfter: CallState | null;
  /** For a quarantine record: the event it was reprocessed into. */
  reprocessedInto?: EventId | null;
}

export interface EventFilter {
  status?: EventStatus;
  type?: string;
  callId?: string;
  sourceId?: SourceId;
  /** Only events with a seq lower than this (pagination, newest first). */
  beforeSeq?: number;
  limit: number;
  /** false: the body and the call record are not read (null), for summaries (up to the body limit each). Default true. */
  bodies?: boolean;
}

/** The log as its readers see it: the stream (readAfter, lastSeq), the worker (getBySeqs), the query API. */
export interface EventReader {
  get(id: EventId): Promise<StoredEvent | null>;
  list(filter: EventFilter): Promise<StoredEvent[]>;
  /**
   * The relayed events (not quarantined) with a seq above `afterSeq`, in seq order: the stream's source. At most
   * `limit`, and with `maxBytes`, ending after the event that takes the page past it (one at least, however large):
   * a page cut so is not the log's end (shared/event-log.ts, `pageFull`).
   */
  readAfter(afterSeq: number, limit: number, maxBytes?: number): Promise<StoredEvent[]>;
  /** The highest seq in the log (0 when empty). */
  lastSeq(): Promise<number>;
  /**
   * The log's two ends for a stream that resumes (relay/hub.ts): `first`, the lowest seq still in it (0 when
   * empty), and `last`, the highest seq ever given (sequenced, on PostgreSQL), which pruning never lowers.
   * One indexed read of each.
   */
  seqBounds(): Promise<{ first: number; last: number }>;
  /**
   * The log's id (`log_…`, migration 0024): made once with the database's log, never changed (a backup restored
   * keeps it). A stream client's cursor is a seq of the log of this id (relay/hub.ts). Read once, at start.
   */
  logId(): Promise<LogId>;
  /**
   * Resolves once every event committed before the call has its seq (PostgreSQL gives seq after commit,
   * sequencer.ts; at once on SQLite), or after `timeoutMs` (default 5 s) if the log is held back: true in the
   * first case, false in the second (the callers here read what there is; a test's wait fails on it).
   */
  waitSequenced(timeoutMs?: number): Promise<boolean>;
  /** The events of these seqs; with `maxBytes`, the first by seq that fit in it, as `readAfter` (the worker's claim). */
  getBySeqs(seqs: readonly number[], maxBytes?: number): Promise<StoredEvent[]>;
  /** The call of each of these events that has one (the quarantine list links a reprocessed record to its call). */
  callIdsOf(ids: readonly EventId[]): Promise<Map<EventId, string>>;
  /** Quarantine records not reprocessed (`waiting`) and reprocessed into an event. */
  quarantineCounts(): Promise<{ waiting: number; reprocessed: number }>;
}

/**
 * How many events must be waiting before a batch is handed to the storage beside one still committing; fewer
 * wait for that commit to end and go as one larger batch (ingest/group-commit.ts).
 *   - `fixed`: `waiting` items, whatever the load.
 *   - `balanced`: as many as the batch handed over last held, at most `cap`. Under a steady load the batches
 *     then stay even (about half of what is outstanding each) instead of a large one followed by the few that
 *     came in the next turn of the event loop, and each commit's fixed cost is shared by more events; under a
 *     light load the last batch held one item, so one waiting item goes at once, as with no rule.
 */
export type OverlapRule = { kind: 'fixed'; waiting: number } | { kind: 'balanced'; cap: number };

/** The log's writes, the ingest's: appending batches and marking reprocessed quarantine records. */
export interface EventWriter {
  /**
   * Appends a batch in ONE transaction: the events, deduplicated by (source, body hash), and the call
   * records they update. Resolves only once the transaction is durably committed; rejects if it is not,
   * in which case nothing of the batch is stored.
   */
  append(batch: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult[]>;
  /**
   * How many events must be waiting before the ingest's group commit hands this writer a batch beside one
   * still committing (ingest/group-commit.ts, OverlapRule); fewer wait for it and go as one larger batch.
   * Undefined: any.
   */
  readonly commitOverlap?: OverlapRule;
  /** Records that a quarantine record was reprocessed into the event `into`. */
  markReprocessed(id: EventId, into: EventId): Promise<void>;
}

export interface EventLog extends EventReader, EventWriter {}

export interface Calls {
  /** The call with this id; when several sources share it, `sourceId` picks one, else the latest. */
  get(callId: string, sourceId?: SourceId): Promise<CallState | null>;
  /** Calls still in progress whose first event is older than `before`, oldest first. */
  staleCandidates(before: number, limit: number): Promise<Array<{ sourceId: SourceId; callId: string }>>;
}

export interface Source {
  id: SourceId;
  name: string;
  tokenHint: string;
  /** After a rotation: until when the previous token is still accepted (null when there is none). */
  previousTokenExpiresAt: number | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface Sources {
  create(source: { id: SourceId; name: string; tokenHash: string; tokenHint: string; createdAt: number }): Promise<void>;
  /** The active source whose current token, or previous token still in its grace period, has this hash. */
  findByTokenHash(hash: string, now: number): Promise<Source | null>;
  get(id: SourceId): Promise<Source | null>;
  list(): Promise<Source[]>;
  /**
   * Gives an active source a new token; its current one becomes the previous token, accepted until
   * `previousExpiresAt` (a previous token still in its grace period is dropped). Null when no active source has this id.
   */
  rotate(id: SourceId, token: { tokenHash: string; tokenHint: string }, previousExpiresAt: number): Promise<Source | null>;
  /** Revokes an active source (both its tokens); false when no active source has this id. */
  revoke(id: SourceId, at: number): Promise<boolean>;
}

/** A source's Convolo call list settings: the widget API key (readable by the server, shown masked) and widget ids. */
export interface ConvoloSettings {
  apiKey: string;
  /** Empty: every widget the key sees. */
  widgetIds: string[];
}

export interface ReconcileRunCounts {
  /** Calls the call list returned. */
  fetched: number;
  /** Of those, calls whose end_call Switchboard already had. */
  present: number;
  /** Appended (marked `reconcile`): the webhooks Convolo never delivered. */
  added: number;
  /** Items that could not be used, and a failed request (at most one: it ends the run). */
  errors: number;
  /** Why the run stopped early: the call list's error code, HTTP status and the first bytes of its answer. */
  error: { code: string; status: number | null; detail: string | null } | null;
}

export interface ReconcileRun extends ReconcileRunCounts {
  id: string;
  sourceId: SourceId;
  kind: 'reconcile' | 'backfill';
  startedAt: number;
  finishedAt: number | null;
  dateFrom: string;
  dateTo: string;
}

/** Reconciliation with Convolo's call list (issue 16): settings per source, runs, the lease of the run. */
export interface ReconcileStore {
  /** Sets (null: clears) a source's Convolo settings; false when no source has this id. */
  setConvolo(id: SourceId, settings: ConvoloSettings | null): Promise<boolean>;
  /** Null for an unknown source or one without a key. */
  convoloOf(id: SourceId): Promise<ConvoloSettings | null>;
  /** The active sources that have a key. */
  convoloSources(): Promise<Array<ConvoloSettings & { sourceId: SourceId }>>;
  /** Of these call ids, the ones whose end_call this source's calls have. */
  endCallsOf(sourceId: SourceId, callIds: readonly string[]): Promise<Set<string>>;
  startRun(run: { id: string; sourceId: SourceId; kind: 'reconcile' | 'backfill'; startedAt: number; dateFrom: string; dateTo: string }): Promise<void>;
  finishRun(id: string, counts: ReconcileRunCounts, at: number): Promise<void>;
  /** A source's runs (of one kind, when given), newest first. */
  runs(sourceId: SourceId, limit: number, kind?: 'reconcile' | 'backfill'): Promise<ReconcileRun[]>;
  /** Takes (or renews) the named lease for `holder` when it is free or expired; true when `holder` has it. */
  tryLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
}

export type Scope = 'read' | 'admin';

export interface ApiKey {
  id: ApiKeyId;
  name: string;
  scope: Scope;
  keyHint: string;
  createdAt: number;
  revokedAt: number | null;
  /** When it was last used, to within a minute (admin/key-usage.ts); null when never. */
  lastUsedAt: number | null;
}

export interface ApiKeys {
  create(key: { id: ApiKeyId; name: string; scope: Scope; keyHash: string; keyHint: string; createdAt: number }): Promise<void>;
  findActiveByHash(hash: string): Promise<ApiKey | null>;
  get(id: ApiKeyId): Promise<ApiKey | null>;
  list(): Promise<ApiKey[]>;
  /** Revokes an active key; false when no active key has this id. */
  revoke(id: ApiKeyId, at: number): Promise<boolean>;
  /** Records a use at `at` (never moves last_used_at back). */
  recordUse(id: ApiKeyId, at: number): Promise<void>;
}

export interface DestinationPatch {
  url?: string;
  description?: string | null;
  eventTypes?: string[] | null;
  widgetKeys?: string[] | null;
  callStatuses?: string[] | null;
  headers?: Record<string, string> | null;
  rateLimitPerSec?: number | null;
  maxConcurrency?: number | null;
  /** false re-enables a disabled destination (its pending deliveries resume). */
  disabled?: boolean;
  /** true pauses it (deliveries are queued, none is sent); false resumes it. */
  paused?: boolean;
}

export interface Destinations {
  create(destination: Destination): Promise<void>;
  /** A destination that is not deleted (enabled or disabled). */
  get(id: DestinationId): Promise<Destination | null>;
  list(): Promise<Destination[]>;
  update(id: DestinationId, patch: DestinationPatch, now: number): Promise<Destination | null>;
  /**
   * Keeps the current secret valid until `previousExpiresAt` beside the new one; the earlier previous secrets
   * keep their own ends (the `maxPreviousSecrets` most recent).
   */
  rotateSecret(id: DestinationId, secret: string, previousExpiresAt: number, now: number): Promise<Destination | null>;
  /** Deletes the destination and cancels its pending deliveries; false when there was none. */
  delete(id: DestinationId, now: number): Promise<boolean>;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface Delivery {
  id: DeliveryId;
  destinationId: DestinationId;
  eventSeq: number;
  eventId: EventId;
  status: DeliveryStatus;
  attempts: number;
  /** Attempts made before the current run of the retry schedule began (a manual retry starts a new run). */
  scheduleStart: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /**
   * The lease this delivery was claimed under (its `locked_until`; null when not leased). Its outcome is
   * recorded only while the row still carries this lease: the fence against a worker whose lease ran out.
   */
  lease: number | null;
}

/** A delivery as the log shows it: with its event's envelope type and call (null once the event is pruned). */
export type DeliveryView = Delivery & { eventType: string | null; callId: string | null; sourceId: string | null; attemptLog: DeliveryAttempt[] };

export interface DeliveryAttempt {
  attempt: number;
  attemptedAt: number;
  status: number | null;
  latencyMs: number;
  responseBody: string | null;
  error: string | null;
}

/** What the worker reports for one claimed delivery. */
export interface DeliveryOutcome {
  deliveryId: DeliveryId;
  destinationId: DestinationId;
  /** `deferred`: not sent (the destination's rate limit), no attempt recorded, due again at nextAttemptAt. */
  result: 'delivered' | 'retry' | 'failed' | 'deferred';
  attempt: DeliveryAttempt | null;
  nextAttemptAt: number | null;
  /** Disables the destination with this reason (410 Gone, or failing for too long). */
  disableDestination: string | null;
  /** The claim's lease (Delivery.lease): the outcome is recorded only if the delivery still holds it. */
  lease: number | null;
  /** Operational events this outcome raises, appended only if the outcome is recorded. */
  raises?: readonly NewEvent[];
  /**
   * With `disableDestination`: the `switchboard.destination.disabled` event, appended only if recording this
   * batch is what disabled the destination, and once (several deliveries in flight may all get a 410; the
   * destination may have been disabled meanwhile, by an administrator or an earlier batch).
   */
  disabledEvent?: NewEvent;
}

/** What `complete` recorded: the outcomes it dropped because their lease had run out or been taken over. */
export interface CompleteResult {
  stale: DeliveryId[];
  appended: AppendResult[];
  /** Failed outcomes recorded as pending instead: a retry was asked for during their attempt (shared/complete-plan.ts). */
  rescheduled?: DeliveryId[];
}

/**
 * How one claim shares a worker's free slots among destinations, so that one slow destination cannot take
 * them all. A destination's room: its cap (its own `max_concurrency`, else `perDestination`; lowered to
 * `caps[id]` where given, e.g. 0 while its circuit is open) less what the worker has in flight to it — and,
 * for a destination with its own `max_concurrency`, less what the whole cluster has in flight to it
 * (PostgreSQL: its deliveries under an unexpired lease; SQLite is one process, the worker's own count is it).
 */
export interface ClaimShare {
  perDestination: number;
  busy: Readonly<Record<string, number>>;
  caps: Readonly<Record<string, number>>;
}

/** A claim's deliveries to one rate-limited destination: how many send slots they need. */
export interface PaceRequest {
  destinationId: string;
  perSecond: number;
  count: number;
}

/** The slots `pace` reserved for one request (domain/pace.ts): each one's wait from now, and when the next would be. */
export interface PaceSlots {
  waits: number[];
  retryInMs: number | null;
}

export interface DeliveryFilter {
  destinationId?: DestinationId;
  /** Any of these (none given: every status). */
  statuses?: DeliveryStatus[];
  eventId?: EventId;
  /** The envelope type of the delivery's event (`call.ended`, `switchboard.delivery.failed`, …). */
  eventType?: string;
  callId?: string;
  /** Only deliveries created before this one (pagination, newest first). */
  before?: { createdAt: number; id: DeliveryId };
  limit: number;
}

export interface ReplayRange {
  /** Events received at or after / before these times (epoch ms). */
  since?: number;
  until?: number;
  /** Only events whose latest delivery to this destination failed. */
  onlyFailed?: boolean;
}

/** The delivery worker's side of the outbox: leasing due deliveries and recording what became of them. */
export interface Outbox {
  /**
   * Leases up to `limit` due deliveries of enabled destinations until `now + leaseMs`, never one whose call
   * has an earlier event still pending at the same destination (per-call order). Safe to call from several
   * workers at once; an expired lease is claimed again. With a `share`, each destination gets at most its
   * room, oldest first, and the limit is shared round-robin (each destination's oldest, then second, …).
   */
  claim(now: number, limit: number, leaseMs: number, share?: ClaimShare): Promise<Delivery[]>;
  /**
   * Reserves send slots of destinations' `rate_limit_per_sec` (one answer per request, in order): only those
   * within `maxWaitMs`; the rest are not reserved (the caller defers them to `retryInMs`). The buckets are
   * the deployment's: on PostgreSQL each destination's row, on the database's clock, so every worker of a
   * cluster shares one rate; on SQLite in the process's memory (one process).
   */
  pace(requests: readonly PaceRequest[], maxWaitMs: number): Promise<PaceSlots[]>;
  /**
   * Records the outcomes whose delivery still holds the claim's lease, in ONE transaction with the
   * operational events they raise (appended to the log, with their own deliveries). An outcome whose lease
   * ran out (another worker may have claimed the delivery since) changes nothing.
   */
  complete(outcomes: readonly DeliveryOutcome[], now: number): Promise<CompleteResult>;
}

/** What the query API and the metrics read of the deliveries. */
export interface DeliveryReader {
  get(id: DeliveryId): Promise<DeliveryView | null>;
  list(filter: DeliveryFilter): Promise<DeliveryView[]>;
  /** Pending deliveries (metrics). */
  pendingCount(): Promise<number>;
  /** Per destination, how the deliveries of a call's events stand (its detail view). */
  summarize(call: { callId: string; sourceId: SourceId }): Promise<DeliverySummary[]>;
  /** Each live destination's deliveries since `since` (24 hourly buckets from it) at a glance: see DestinationHealth. */
  health(since: number): Promise<DestinationHealth[]>;
}

/**
 * What a retry of one delivery did: queued it again; nothing, since another delivery of its event is pending
 * at its destination (`pendingId`: it goes out anyway, and a retry beside it would send the event twice); or
 * nothing, since it is unknown, delivered or its destination deleted.
 */
export type RetryOutcome = { result: 'retried' } | { result: 'pending'; pendingId: DeliveryId } | { result: 'not_retried' };

/** The administrator's writes: sending deliveries again. */
export interface DeliveryAdmin {
  /** A failed (or pending) delivery goes out again now with a fresh retry schedule. */
  retry(id: DeliveryId, now: number): Promise<RetryOutcome>;
  /**
   * New deliveries to one destination for the matching events in the range; returns how many. A dry run
   * queues nothing and answers how many it would have queued (the same walk, without the inserts).
   */
  replay(destination: Destination, range: ReplayRange, now: number, dryRun?: boolean): Promise<number>;
  /** Every failed delivery of the destination sent again with a fresh schedule; how many (a dry run only counts them). */
  retryFailed(destinationId: DestinationId, now: number, dryRun: boolean): Promise<number>;
}

export interface Deliveries extends Outbox, DeliveryReader, DeliveryAdmin {}

/**
 * A destination's deliveries created since `since` (24 hourly buckets from it), counted by their status
 * now; `pending` counts its whole backlog, however old; the error of the attempt that failed last, of the window's deliveries whose last attempt failed.
 */
export interface DestinationHealth {
  destinationId: DestinationId;
  delivered: number;
  failed: number;
  pending: number;
  /** 24 buckets, oldest first: deliveries created in each hour, by status now. */
  hourly: Array<{ delivered: number; failed: number; pending: number }>;
  lastError: { at: number; status: number | null; error: string } | null;
}

/** One destination's deliveries of a set of events, counted by status, with the latest attempt's outcome. */
export interface DeliverySummary {
  destinationId: DestinationId;
  counts: Record<DeliveryStatus, number>;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: number | null;
}

/** The filters of `GET /v1/calls` and its CSV export (SPEC "Query API"); all given ones must hold. */
export interface CallFilter {
  status?: string;
  widgetKey?: string;
  agentId?: string;
  sourceId?: string;
  /** Digits only (see phoneDigits): equal to the lead's phone digits or the called number's. */
  phoneDigits?: string;
  /** first_event_at ≥ from and < to (epoch ms). */
  from?: number;
  to?: number;
  /** The call's time as the stats count it, coalesce(started_at, first_event_at), ≥ startedFrom and < startedTo. */
  startedFrom?: number;
  startedTo?: number;
  /** disconnected_by, exactly. */
  disconnectedBy?: string;
  /** Case-insensitive substring of the lead's name, email or phone digits, widget_name or call_id. */
  q?: string;
}

/** Where a page ends: the last row's sort key. The next page holds the calls strictly after it. */
export interface CallCursor {
  firstEventAt: number;
  sourceId: string;
  callId: string;
}

/** The call list, its CSV export and their filters (SPEC "Query API"). */
export interface CallQueries {
  /**
   * Calls matching `filter`, newest first by (first_event_at, source_id, call_id) descending, after `cursor`.
   * A call's first_event_at never changes once stored and new calls sort before any cursor, so paging while
   * calls arrive neither skips nor repeats one.
   */
  list(filter: CallFilter, cursor: CallCursor | null, limit: number): Promise<CallState[]>;
  /** The sort key of the `size`-th call after `cursor` in the list's order: where a page of `size` would end (null: fewer remain). */
  pageEnd(filter: CallFilter, cursor: CallCursor | null, size: number): Promise<CallCursor | null>;
  /**
   * The calls after `cursor` as `list` orders them, down to `end` (that call included; null: to the last), at
   * most `limit` (null: no limit), as the CSV export's lines (UTF-8, the header's columns:
   * storage/shared/call-csv.ts), with how many and the last one's sort key. `into`: the memory of a page
   * already sent, to write this one into (it is moved away: the caller no longer reads it).
   */
  csvPage(filter: CallFilter, cursor: CallCursor | null, range: { end: CallCursor | null; limit: number | null }, into?: ArrayBuffer): Promise<CsvPage>;
}

/** A page of the CSV export: its lines as UTF-8, how many there are, and the last one's sort key. */
export interface CsvPage {
  bytes: Uint8Array;
  rows: number;
  last: CallCursor | null;
}

/** Live stats grouped by hour, day, widget, agent or source (SPEC "Query API"). */
export type StatsGroup = 'widget' | 'agent' | 'source' | 'disconnected_by';

/** The hours or days of [from, to) in `tz` (domain/stats.ts `timeRanges`). */
export interface TimeBuckets {
  groupBy: 'hour' | 'day';
  tz: string;
  from: number;
  to: number;
}

export interface Stats {
  /** The aggregate of the calls whose time (`started_at`, else `first_event_at`) is in each [from, to). */
  ranges(ranges: readonly StatsRange[]): Promise<StatsAggregate[]>;
  /**
   * The buckets of every hour or day of the range, as the UTF-8 JSON of the answer's `buckets` array without
   * its brackets: the ranges, their aggregates and the text computed together where the rows are read
   * (on the thread of the query API's reads), so that 13 months of hours (9,500 buckets, 3 MB) cost the thread
   * that accepts webhooks nothing but the bytes.
   */
  timeBuckets(query: TimeBuckets): Promise<Uint8Array>;
  /** The aggregate per local hour of the week (168: Monday 00:00 = 0) of the calls within the runs. */
  weekHours(runs: readonly OffsetRun[]): Promise<StatsAggregate[]>;
  /** The aggregate per widget, agent, source id or disconnected_by (null: calls without one) of the calls in [from, to). */
  groups(range: { from: number; to: number }, groupBy: StatsGroup): Promise<Array<StatsAggregate & { key: string | null }>>;
  /** The most recent name seen for each widget or agent id (ids without one are left out). */
  latestNames(groupBy: 'widget' | 'agent', keys: readonly string[]): Promise<Map<string, string>>;
}

/** The state of the connection that listens for other nodes' appends (PostgreSQL). */
export interface ListenStatus {
  connected: boolean;
  /** Since when it is connected, or disconnected (epoch ms). */
  since: number;
  /** Times it was lost and opened again since the start. */
  reconnects: number;
  /** Attempts that failed since it was lost (0 while connected). */
  failedAttempts: number;
  /** Why it was lost or the last attempt failed (null while connected). */
  lastError: string | null;
}

/** How the sequencer (PostgreSQL, issue 14) runs on a node; every node is a candidate for the role. */
export interface SequencerOptions {
  /** This node's name in the state row (unique per process). */
  nodeId: string;
  /** How often the holder looks for events to sequence without being woken, while events come (ms). */
  intervalMs?: number;
  /** The longest wait between two looks while none finds events: the wait doubles from `intervalMs` up to this (ms). */
  idleIntervalMs?: number;
  /** How long the role stays with a node that stopped renewing it (ms). */
  leaseMs?: number;
  /** How often a node without the role checks whether the lease ran out (ms). */
  takeoverCheckMs?: number;
  /** The most events one tick sequences. */
  batch?: number;
  /** How often the tick's prepared statements are planned again on a connection, with the tables' sizes of then (ms). */
  replanMs?: number;
  /** How often the log's lag is measured (ms). */
  statusEveryMs?: number;
  /** How often the holder vacuums the sequencer's queue (event_queue) while its ticks take rows out of it (ms). */
  vacuumEveryMs?: number;
  /**
   * After a tick that sequenced events, with the highest seq and how many deliveries got their event_seq (the
   * NOTIFY reaches the other nodes); and, when `wantsEvents` said so and the tick was small, the events it
   * sequenced (`Sequenced`), read in the tick's own round trip, so this node's stream need not read them again.
   */
  onSequenced?: (lastSeq: number, queuedDeliveries: number, sequenced?: Sequenced) => void;
  /** Whether this node wants the events of its ticks (its stream has clients). */
  wantsEvents?: () => boolean;
  onStatus?: (status: SequencerStatus) => void;
  onError?: (error: Error) => void;
  /** Once, when something the operator should fix slows the log down without stopping it (e.g. the queue cannot be vacuumed). */
  onWarning?: (message: string) => void;
}

/**
 * The events a tick gave seqs to: every seq from `from` to `upTo` was given, and `events` are those of them
 * a stream shows (every status but quarantined), in seq order.
 */
export interface Sequenced {
  from: number;
  upTo: number;
  events: readonly StoredEvent[];
}

/** The log's lag as the sequencer last measured it. */
export interface SequencerStatus {
  /** Whether this node holds the sequencer's role. */
  holder: boolean;
  /** Events committed or in flight without a seq yet. */
  unsequenced: number;
  /** Age of the oldest of them (received_at to now, ms; 0: none): the watermark's lag. */
  oldestUnsequencedMs: number;
  /** Age of the oldest open transaction in the cluster that holds an xid or a snapshot (ms). */
  oldestTransactionMs: number;
  lastSeq: number;
}

/** What the readiness probe asks of the database (ops routes). */
export interface Readiness {
  readonly dialect: 'sqlite' | 'postgres';
  /** Throws unless the database answers and every migration is applied. */
  checkReady(): Promise<void>;
  /**
   * Bytes of WAL the query API's read database (SWITCHBOARD_DB_READ_URL, a hot standby) has still to
   * replay: how far behind its reports are. Null when the reads go to the database itself.
   */
  readReplayLag(): Promise<number | null>;
}

/** The retention job and `POST /v1/prune`. */
export interface Retention {
  /**
   * Deletes what is older than `before` (epoch ms): the events before the oldest one received since (a prefix
   * of the log: an older arrival numbered after that one stays, storage/shared/retention.ts) with their
   * deliveries and attempt logs, and calls whose last event came before it. Returns what was deleted, with the
   * deliveries among them that were still pending (a paused or failing destination's backlog) counted by
   * destination id in `undelivered`. Sequence numbers are never reused (the stream's cursors stay valid).
   */
  prune(before: number): Promise<{ events: number; calls: number; deliveries: number; undelivered: Record<string, number> }>;
}

/** What a change of credentials is about: the lookups of source tokens, of API keys, or of sessions (with their users). */
export type CredentialKind = 'sources' | 'keys' | 'sessions';
export const credentialKinds: readonly CredentialKind[] = ['sources', 'keys', 'sessions'];

/** Every port of one backend, as app.ts opens it; each service takes only the ones it uses. */
export interface Storage extends Readiness, Retention, AccountStores {
  readonly callQueries: CallQueries;
  readonly stats: Stats;
  readonly events: EventLog;
  readonly calls: Calls;
  readonly sources: Sources;
  readonly keys: ApiKeys;
  readonly destinations: Destinations;
  readonly deliveries: Deliveries;
  readonly reconcile: ReconcileStore;
  migrate(): Promise<string[]>;
  /**
   * Calls `onAppend` when another process appends to the log (PostgreSQL LISTEN/NOTIFY; a no-op on SQLite,
   * where one process owns the file). Resolves to a function that stops watching. A lost connection is
   * opened again, with backoff, for as long as it takes; `onStatus` hears of every loss, failed attempt and
   * recovery (never called on SQLite). `mayQueueDeliveries` is false when the log's news queued no delivery
   * (the worker need not look). `lastSeq`, when known (the sequencer's NOTIFY), is the highest seq given so far;
   * undefined (a reconnection, where notifications may have been missed) means: look.
   * `onCredentials` is called when a process announced a change of keys, tokens, sessions or users
   * (announceCredentialsChanged) with what changed, and after a reconnection with undefined (an
   * announcement may have been missed: everything).
   */
  watchAppends(onAppend: (mayQueueDeliveries: boolean, lastSeq?: number) => void, onStatus?: (status: ListenStatus) => void, onCredentials?: (changed?: CredentialKind) => void): Promise<() => Promise<void>>;
  /**
   * Tells every process watching (PostgreSQL NOTIFY, delivered at commit; a no-op on SQLite, where one
   * process serves) that source tokens, API keys or sessions (a user's removal, role or password) changed:
   * they drop those cached lookups, so a revocation, a removal or a new role applies on every node at once.
   */
  announceCredentialsChanged(changed: CredentialKind): Promise<void>;
  /**
   * Starts this node's candidacy for the sequencer's role (PostgreSQL; null on SQLite, where seq is given
   * at insert by the single writer, already in commit order).
   */
  startSequencer(options: SequencerOptions): { wake(): void; status(): SequencerStatus; stop(): Promise<void> } | null;
  /**
   * Keeps the query planner's statistics fresh where it needs them: on PostgreSQL, ANALYZE the tables that
   * changed much since their last one (without statistics, a fresh deliveries table makes every claim sort
   * all pending rows). SQLite's planner does without.
   */
  maintain(): Promise<void>;
  /** True when the database holds no source and no key yet (a first start). */
  isEmpty(): Promise<boolean>;
  /**
   * How appends store an event's call record (migration 0016): always `tuple` on SQLite; on PostgreSQL what
   * the database says, which `compact` sets to `tuple` (`switchboard migrate --compact-records`, once no node
   * of a version before 0016 runs: those read only `object`).
   */
  callRecordForm(compact?: boolean): Promise<'object' | 'tuple'>;
  close(): Promise<void>;
}

/** How a backend is opened beyond its URL: its readers, time limits and lock waits, the call record's bounds (config). */
export interface StorageOptions {
  /** The query API's heavy reads at once (SQLite: reader threads, each with its own read-only connection; PostgreSQL: the read pool's connections). */
  readers?: number;
  /** PostgreSQL: the server the query API's reads go to (a hot standby); default: the database itself. */
  readUrl?: string;
  /** PostgreSQL: how long a query waits for a connection (a new one, or one of the pool's to come free); default 5 s. */
  connectTimeoutMs?: number;
  /** The time limit of each statement behind stats, the call list and the CSV export (0: none). */
  statementTimeoutMs?: number;
  /** SQLite: how long an administrative write waits for a write lock held by another process. */
  busyTimeoutMs?: number;
  /** Linux: the nice value of the threads running the query API's reads (0: as the server). */
  readerNice?: number;
  /** Bound on the call record's lead, agent and lead.custom_params (domain/call-bounds.ts); default 16 KiB. */
  callObjectMaxBytes?: number;
}

/** A person's role in the dashboard: `viewer` reads everything (as a `read` key), `admin` also changes things. */
export type Role = 'viewer' | 'admin';

/** A person who signs in to the dashboard. */
export interface User {
  id: UserId;
  /** Trimmed and lowercased. */
  email: string;
  name: string | null;
  role: Role;
  createdAt: number;
}

export interface Users {
  /** False when a user has this email already (nothing is written). */
  create(user: User & { passwordHash: string }): Promise<boolean>;
  get(id: string): Promise<User | null>;
  /** With the password hash, for a login; `email` is compared as stored (trimmed, lowercased). */
  findByEmail(email: string): Promise<(User & { passwordHash: string }) | null>;
  /** Oldest first. */
  list(): Promise<User[]>;
  count(): Promise<number>;
  /**
   * Removes the user, every session of theirs, the pending invitations to their email and those they
   * created, in one transaction; refused for the last admin (the
   * count is taken under the same lock as the delete, so two removals at once cannot leave none).
   */
  remove(id: string): Promise<'removed' | 'not_found' | 'last_admin'>;
  /** A new password hash; every session of the user ends except `keepSession` (a digest). False: no such user. */
  setPassword(id: string, passwordHash: string, at: number, keepSession?: string): Promise<boolean>;
  /**
   * A new role; refused (`last_admin`) when that would leave no admin (counted under the same lock as
   * remove's). Sessions read the role with their user, so the new one applies to their next lookup. An
   * admin who becomes a viewer loses, in the same transaction, the pending invitations they created for
   * the admin role.
   */
  setRole(id: string, role: Role, at: number): Promise<'updated' | 'not_found' | 'last_admin'>;
}

/** A dashboard session: the cookie's value is never stored, only its SHA-256 digest. */
export interface Session {
  tokenHash: string;
  userId: UserId;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface Sessions {
  create(session: Session): Promise<void>;
  /** The session with this digest and its user (whatever its times: the caller judges expiry). */
  find(tokenHash: string): Promise<{ session: Session; user: User } | null>;
  /** Records that the session was used at `at`. */
  touch(tokenHash: string, at: number): Promise<void>;
  delete(tokenHash: string): Promise<void>;
  /** Deletes the sessions that expired before `before` (absolute expiry, or idle since `idleBefore`). */
  deleteExpired(before: number, idleBefore: number): Promise<number>;
}

export interface SetupTokens {
  create(token: { tokenHash: string; createdAt: number; expiresAt: number }): Promise<void>;
  /** Unknown, used or expired tokens are not usable. */
  isUsable(tokenHash: string, at: number): Promise<boolean>;
  /**
   * Uses the token and creates the first admin, in one transaction: `token_invalid` when the token is not
   * usable (of two uses at once, one finds it used), `setup_done` when a user exists already.
   */
  createFirstAdmin(tokenHash: string, at: number, user: User & { passwordHash: string }): Promise<'created' | 'token_invalid' | 'setup_done'>;
}

/** A one-time link for a person to join with a role (the link's token is never stored, only its digest). */
export interface Invitation {
  id: InvitationId;
  email: string;
  role: Role;
  createdAt: number;
  expiresAt: number;
  /** The user who created it; null when an API key did (or before this was recorded). */
  createdBy: UserId | null;
}

export interface Invitations {
  /**
   * Stores it; false (nothing stored) when `createdBy` names a user who is no admin (removed, or made a
   * viewer), checked under the same lock as Users.setRole and Users.remove: an invitation being created as
   * its inviter is demoted is either refused or ended by the demotion.
   */
  create(invitation: Invitation & { tokenHash: string }): Promise<boolean>;
  /** Neither used nor expired, oldest first. */
  listPending(at: number): Promise<Invitation[]>;
  /** The pending invitation with this digest, else null (unknown, used, revoked or expired). */
  findPending(tokenHash: string, at: number): Promise<Invitation | null>;
  /** Deletes it (a revocation); false when no invitation has this id. */
  remove(id: InvitationId): Promise<boolean>;
  /**
   * Uses the invitation and creates its user (with the invitation's email and role) in one transaction:
   * `token_invalid` when it is not pending (of two uses at once, one finds it used), `email_taken` when a
   * user has that email by now (the invitation stays pending).
   */
  accept(tokenHash: string, at: number, user: User & { passwordHash: string }): Promise<'created' | 'token_invalid' | 'email_taken'>;
}

/** The dashboard's people (issue 12): part of Storage. */
export interface AccountStores {
  readonly users: Users;
  readonly sessions: Sessions;
  readonly setupTokens: SetupTokens;
  readonly invitations: Invitations;
}
