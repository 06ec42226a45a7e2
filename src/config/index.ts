import { availableParallelism } from 'node:os';
import { defaultCallObjectMaxBytes } from '../domain/call-bounds.js';

/**
 * Configuration: loaded once (defaults < environment < flags), validated, frozen. Nothing else in the code
 * reads process.env. Each setting carries a `doc` string; `switchboard start --help` and the README list them.
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  db: string;
  host: string;
  port: number;
  publicUrl: string;
  logLevel: LogLevel;
  staleAfterMin: number;
  staleSweepIntervalSec: number;
  bodyLimitBytes: number;
  quarantineBodyBytes: number;
  commitMaxBatch: number;
  commitMaxQueue: number;
  commitMaxInFlight: number;
  shutdownTimeoutSec: number;
  role: Role;
  allowPrivateDestinations: boolean;
  retryScheduleSec: number[];
  retryJitter: number;
  deliveryTimeoutSec: number;
  deliveryConcurrency: number;
  deliveryLeaseSec: number;
  destinationConcurrency: number;
  breakerFailures: number;
  breakerCooldownSec: number;
  disableAfterFailingHours: number;
  secretGraceHours: number;
  relayPollMs: number;
  sequencerIntervalMs: number;
  sequencerIdleMs: number;
  sequencerLeaseMs: number;
  logLagWarnMs: number;
  streamHeartbeatSec: number;
  streamMaxBufferBytes: number;
  streamStallSec: number;
  corsOrigins: string[];
  rateLimitApiPerMin: number;
  rateLimitIngestPerMin: number;
  retentionDays: number;
  retentionCheckSec: number;
  maintainIntervalSec: number;
  checkpointMs: number;
  dbReaders: number;
  dbReadUrl: string;
  pgConnectTimeoutMs: number;
  metricsToken: string;
  dbReaderNice: number;
  statementTimeoutMs: number;
  sqliteBusyTimeoutMs: number;
  expensivePerKey: number;
  streamMaxPerKey: number;
  streamMaxReplayReads: number;
  authMissesPerMin: number;
  requestTimeoutSec: number;
  headersTimeoutSec: number;
  connectionTimeoutSec: number;
  keepAliveTimeoutSec: number;
  maxConnections: number;
  callObjectMaxBytes: number;
  sessionTtlHours: number;
  sessionIdleMin: number;
  loginFailuresPerAccount: number;
  loginFailuresPerAddress: number;
  loginWindowMin: number;
  reconcileIntervalMin: number;
  reconcileLookbackHours: number;
  convoloCallListUrl: string;
  reconcilePauseFactor: number;
  reconcileMaxPageMb: number;
}

/** `api` serves HTTP (ingest, API, stream) without sending webhooks; `worker` sends webhooks and sweeps. */
export type Role = 'all' | 'api' | 'worker';

interface Setting<K extends keyof Config> {
  env: string;
  flag: string;
  doc: string;
  default: Config[K];
  parse: (raw: string) => Config[K];
}

const int = (min: number, max?: number, why = '') => (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
    throw new Error(`expected an integer ${max === undefined ? `≥ ${min}` : `in ${min}–${max}${why}`}, got "${raw}"`);
  }
  return n;
};
/**
 * A period or a timeout, in units of `unitMs`, that ends up as a timer's delay (Switchboard's own, or Node's HTTP
 * server's, undici's, SQLite's or PostgreSQL's: all count milliseconds in 32 bits). Node runs a longer timer
 * after 1 ms instead — a job set to every 30 days would run a thousand times a second — so it is refused.
 */
const wait = (min: number, unitMs: number) => int(min, Math.floor((2 ** 31 - 1) / unitMs), ' (24.8 days at most: a timer\'s longest wait)');
/**
 * A length of time added to or taken from now to make a stored time (a secret's expiry, a retry's due time, a
 * session's end, how far back to look): at most 100 years, so that every such time stays a date JavaScript and
 * the API can write (±8.64e15 ms; beyond, each read of the row failed with a 500).
 */
const span = (min: number, unitMs: number) => int(min, Math.floor((36_500 * 86_400_000) / unitMs), ' (100 years at most)');
const oneOf = <T extends string>(...values: T[]) => (raw: string): T => {
  if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
};
const text = (raw: string): string => raw;
const niceValue = (raw: string): number => {
  const n = int(0)(raw);
  if (n > 19) throw new Error(`expected an integer in 0–19, got "${raw}"`);
  return n;
};
const bool = (raw: string): boolean => {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new Error(`expected true or false, got "${raw}"`);
};
const ratio = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new Error(`expected a number in [0, 1), got "${raw}"`);
  return n;
};
const seconds = (raw: string): number[] => {
  const list = raw.split(',').map((part) => span(0, 1000)(part.trim()));
  if (list.length === 0 || list.length > 50) throw new Error(`expected 1–50 comma-separated seconds, got "${raw}"`);
  return list;
};

/** Half the machine's cores, at least one: what heavy reads may take at once (SWITCHBOARD_DB_READERS). */
const defaultReaders = Math.max(1, Math.floor(availableParallelism() / 2));

export const settings: { [K in keyof Config]: Setting<K> } = {
  db: { env: 'SWITCHBOARD_DB', flag: 'db', default: 'sqlite:./data/switchboard.db', parse: parseDb, doc: 'Database: sqlite:<path> or postgres://…' },
  host: { env: 'HOST', flag: 'host', default: '127.0.0.1', parse: text, doc: 'Address to listen on.' },
  port: { env: 'PORT', flag: 'port', default: 8787, parse: int(0, 65_535), doc: 'Port to listen on (0 picks a free one).' },
  publicUrl: { env: 'SWITCHBOARD_PUBLIC_URL', flag: 'public-url', default: '', parse: parseUrl, doc: 'Base URL printed in ingest URLs (default: http://<host>:<port>).' },
  logLevel: { env: 'LOG_LEVEL', flag: 'log-level', default: 'info', parse: oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), doc: 'Log level.' },
  staleAfterMin: { env: 'SWITCHBOARD_STALE_AFTER_MIN', flag: 'stale-after-min', default: 120, parse: span(1, 60_000), doc: 'A call with no end_call after this many minutes becomes stale.' },
  staleSweepIntervalSec: { env: 'SWITCHBOARD_STALE_SWEEP_SEC', flag: 'stale-sweep-sec', default: 60, parse: wait(1, 1000), doc: 'How often stale calls are looked for.' },
  bodyLimitBytes: { env: 'SWITCHBOARD_BODY_LIMIT_BYTES', flag: 'body-limit-bytes', default: 1024 * 1024, parse: int(1024), doc: 'Largest ingest body accepted (larger: 413).' },
  quarantineBodyBytes: { env: 'SWITCHBOARD_QUARANTINE_BODY_BYTES', flag: 'quarantine-body-bytes', default: 64 * 1024, parse: int(0), doc: 'How much of a malformed body is kept in quarantine.' },
  commitMaxBatch: { env: 'SWITCHBOARD_COMMIT_MAX_BATCH', flag: 'commit-max-batch', default: 512, parse: int(1), doc: 'Most ingest requests committed in one transaction.' },
  commitMaxInFlight: { env: 'SWITCHBOARD_COMMIT_MAX_IN_FLIGHT', flag: 'commit-max-in-flight', default: 2, parse: int(1), doc: 'Group commits handed to the database at the same time (they still commit in order; a second only once 32 events wait on PostgreSQL, on SQLite once as many wait as the first holds, up to 32).' },
  commitMaxQueue: { env: 'SWITCHBOARD_COMMIT_MAX_QUEUE', flag: 'commit-max-queue', default: 20_000, parse: int(1), doc: 'Ingest requests waiting for a commit beyond which new ones get 503.' },
  shutdownTimeoutSec: { env: 'SWITCHBOARD_SHUTDOWN_TIMEOUT_SEC', flag: 'shutdown-timeout-sec', default: 20, parse: wait(1, 1000), doc: 'How long a graceful shutdown may take before the process exits anyway.' },
  role: { env: 'SWITCHBOARD_ROLE', flag: 'role', default: 'all', parse: oneOf<Role>('all', 'api', 'worker'), doc: 'all, api (HTTP only: no webhooks sent) or worker (sends webhooks, sweeps stale calls; HTTP only for health and metrics).' },
  allowPrivateDestinations: { env: 'SWITCHBOARD_ALLOW_PRIVATE_DESTINATIONS', flag: 'allow-private-destinations', default: false, parse: bool, doc: 'Allow destinations on loopback, private, link-local and metadata addresses and on any port (for local development and tests).' },
  retryScheduleSec: { env: 'SWITCHBOARD_RETRY_SCHEDULE', flag: 'retry-schedule', default: [5, 300, 1800, 7200, 18000, 36000, 36000], parse: seconds, doc: 'Seconds to wait before each retry of a failed delivery; when they run out the delivery fails.' },
  retryJitter: { env: 'SWITCHBOARD_RETRY_JITTER', flag: 'retry-jitter', default: 0.2, parse: ratio, doc: 'Random spread of each retry delay (0.2: ±20 %).' },
  deliveryTimeoutSec: { env: 'SWITCHBOARD_DELIVERY_TIMEOUT_SEC', flag: 'delivery-timeout-sec', default: 15, parse: wait(1, 1000), doc: 'A destination must answer 2xx within this many seconds.' },
  deliveryConcurrency: { env: 'SWITCHBOARD_DELIVERY_CONCURRENCY', flag: 'delivery-concurrency', default: 256, parse: int(1), doc: 'Webhook requests a worker has in flight at once.' },
  deliveryLeaseSec: { env: 'SWITCHBOARD_DELIVERY_LEASE_SEC', flag: 'delivery-lease-sec', default: 60, parse: span(1, 1000), doc: 'How long a claimed delivery is reserved for its worker; after that (a crashed worker) another takes it. At least SWITCHBOARD_DELIVERY_TIMEOUT_SEC + 2.' },
  destinationConcurrency: { env: 'SWITCHBOARD_DESTINATION_CONCURRENCY', flag: 'destination-concurrency', default: 16, parse: int(1), doc: "Webhook requests a worker has in flight to one destination at once, so a slow receiver cannot take every slot: per worker (N workers: up to N times as many). A destination's own max_concurrency replaces it and holds for every worker on the database together." },
  breakerFailures: { env: 'SWITCHBOARD_BREAKER_FAILURES', flag: 'breaker-failures', default: 5, parse: int(1), doc: 'After this many consecutive attempts to a destination end without an answer (timeout, connection refused or reset), the worker stops claiming its deliveries for the cool-down.' },
  breakerCooldownSec: { env: 'SWITCHBOARD_BREAKER_COOLDOWN_SEC', flag: 'breaker-cooldown-sec', default: 30, parse: int(1), doc: 'How long a destination that stopped answering is left alone before one probe delivery is tried (an answer resumes it, another failure waits again).' },
  disableAfterFailingHours: { env: 'SWITCHBOARD_DISABLE_AFTER_HOURS', flag: 'disable-after-hours', default: 120, parse: span(1, 3_600_000), doc: 'A destination failing continuously for this long is disabled.' },
  secretGraceHours: { env: 'SWITCHBOARD_SECRET_GRACE_HOURS', flag: 'secret-grace-hours', default: 24, parse: span(0, 3_600_000), doc: 'After a destination secret rotation, deliveries are also signed with the old secret for this long.' },
  relayPollMs: { env: 'SWITCHBOARD_RELAY_POLL_MS', flag: 'relay-poll-ms', default: 1000, parse: wait(10, 1), doc: 'How often the stream and the webhook worker look for work without being woken (retries falling due).' },
  sequencerIntervalMs: { env: 'SWITCHBOARD_SEQUENCER_INTERVAL_MS', flag: 'sequencer-interval-ms', default: 5, parse: wait(1, 1), doc: 'PostgreSQL: how often the node holding the sequencer role looks for committed events to give their seq without being woken, while events come (its own commits wake it).' },
  sequencerIdleMs: { env: 'SWITCHBOARD_SEQUENCER_IDLE_MS', flag: 'sequencer-idle-ms', default: 50, parse: wait(1, 1), doc: 'PostgreSQL: the longest wait between two such looks while none finds events (the wait doubles from the interval): what an idle log costs, and how long an event committed on another node may wait for its seq after a quiet spell.' },
  sequencerLeaseMs: { env: 'SWITCHBOARD_SEQUENCER_LEASE_MS', flag: 'sequencer-lease-ms', default: 3000, parse: wait(100, 1), doc: 'PostgreSQL: how long the sequencer role stays with a node that stopped renewing it before another node takes it over.' },
  logLagWarnMs: { env: 'SWITCHBOARD_LOG_LAG_WARN_MS', flag: 'log-lag-warn-ms', default: 10_000, parse: int(100), doc: 'PostgreSQL: a warning is logged while the oldest event without seq, or the oldest open transaction in the cluster (which holds the sequencer back), is older than this.' },
  streamHeartbeatSec: { env: 'SWITCHBOARD_STREAM_HEARTBEAT_SEC', flag: 'stream-heartbeat-sec', default: 15, parse: wait(1, 1000), doc: 'A comment line is sent on idle streams this often.' },
  rateLimitApiPerMin: { env: 'SWITCHBOARD_RATE_LIMIT_API_PER_MIN', flag: 'rate-limit-api-per-min', default: 6000, parse: int(1), doc: 'API requests per minute per key, or per person signed in to the dashboard (per address without either); more get 429 with Retry-After.' },
  rateLimitIngestPerMin: { env: 'SWITCHBOARD_RATE_LIMIT_INGEST_PER_MIN', flag: 'rate-limit-ingest-per-min', default: 1_200_000, parse: int(1), doc: 'Ingest requests per minute per source (a minute of allowance may come as a burst; it refills continuously; generous: it stops floods, not traffic); more get 429 with Retry-After.' },
  retentionDays: { env: 'SWITCHBOARD_RETENTION_DAYS', flag: 'retention-days', default: 0, parse: span(0, 86_400_000), doc: 'Delete events, their deliveries and calls older than this many days (0: keep forever). Checked by the worker every SWITCHBOARD_RETENTION_CHECK_SEC; `switchboard prune` does it on demand.' },
  retentionCheckSec: { env: 'SWITCHBOARD_RETENTION_CHECK_SEC', flag: 'retention-check-sec', default: 3600, parse: wait(1, 1000), doc: 'How often the worker deletes what is older than SWITCHBOARD_RETENTION_DAYS (when that is set).' },
  maintainIntervalSec: { env: 'SWITCHBOARD_MAINTAIN_SEC', flag: 'maintain-sec', default: 2, parse: wait(1, 1000), doc: "PostgreSQL: how often the database's upkeep runs (ANALYZE of the tables that changed much)." },
  checkpointMs: { env: 'SWITCHBOARD_CHECKPOINT_MS', flag: 'checkpoint-ms', default: 250, parse: wait(10, 1), doc: "SQLite: how often the WAL is checkpointed into the database file, off the ingest's commits. Often and small: each checkpoint ends with an fsync of the database file, and the commits' own fsyncs wait behind it on the disk (every 2 s, that wait was ~10 ms of the ingest's p99)." },
  corsOrigins: { env: 'SWITCHBOARD_CORS_ORIGINS', flag: 'cors-origins', default: ['*'], parse: origins, doc: 'Web origins allowed to call the API and open the stream from a browser (comma-separated, or * for any; no cookies are ever allowed cross-origin).' },
  dbReaders: { env: 'SWITCHBOARD_DB_READERS', flag: 'db-readers', default: defaultReaders, parse: int(1), doc: 'Heavy reads (stats, the call list, the CSV export) run at once: SQLite reader threads (each with its own read-only connection, off the thread accepting webhooks; every other read has at least two more), PostgreSQL connections of the query API\'s read pool. Default: half the cores, at least 1, so reports never take every core from the ingest.' },
  dbReadUrl: { env: 'SWITCHBOARD_DB_READ_URL', flag: 'db-read-url', default: '', parse: parseReadDb, doc: 'PostgreSQL: where the query API\'s reads (stats, the call list, the CSV export) go, e.g. a hot standby of SWITCHBOARD_DB, so reports cost the primary nothing; they see its changes as late as the standby replays them (empty: SWITCHBOARD_DB).' },
  pgConnectTimeoutMs: { env: 'SWITCHBOARD_PG_CONNECT_TIMEOUT_MS', flag: 'pg-connect-timeout-ms', default: 5000, parse: wait(100, 1), doc: "PostgreSQL: how long a request waits for a connection to the database (a new one to be opened, or one of the pool's to come free) before it fails: 503 storage_unavailable, and /readyz 503 not_ready. The ingest's statements also give up this long after the server's own 30 s limit should have ended them (a database that stopped answering holds every connection open)." },
  dbReaderNice: { env: 'SWITCHBOARD_DB_READER_NICE', flag: 'db-reader-nice', default: 10, parse: niceValue, doc: 'Linux: the nice value (0–19) of the threads running the query API\'s reads (SQLite: the reader threads and their SQL; PostgreSQL: the read thread, which parses the rows and writes the answers, not the database server\'s work), so heavy reports yield the cores to the ingest when both want them (0: as the server).' },
  metricsToken: { env: 'SWITCHBOARD_METRICS_TOKEN', flag: 'metrics-token', default: '', parse: bearerToken, doc: 'When set, GET /metrics answers only requests with "Authorization: Bearer <this token>" (401 unauthorized otherwise); empty: open to anyone who reaches the port, as Prometheus expects. Prefer the environment to the flag: a flag shows in the process list.' },
  statementTimeoutMs: { env: 'SWITCHBOARD_STATEMENT_TIMEOUT_MS', flag: 'statement-timeout-ms', default: 10_000, parse: wait(0, 1), doc: 'Time limit of each statement behind stats, the call list and the CSV export (0: none); past it the request answers 503 query_timeout.' },
  sqliteBusyTimeoutMs: { env: 'SWITCHBOARD_SQLITE_BUSY_TIMEOUT_MS', flag: 'sqlite-busy-timeout-ms', default: 5000, parse: wait(0, 1), doc: 'SQLite: how long an administrative write or a read waits for a lock held by another process (the CLI on the same file) before answering 503 storage_unavailable.' },
  expensivePerKey: { env: 'SWITCHBOARD_EXPENSIVE_PER_KEY', flag: 'expensive-per-key', default: 2, parse: int(1), doc: 'Expensive requests (stats, the CSV export, the call list with q, destination replay) one API key, or one person signed in to the dashboard, may have running at once; more get 429 rate_limited with Retry-After.' },
  streamMaxBufferBytes: { env: 'SWITCHBOARD_STREAM_MAX_BUFFER_BYTES', flag: 'stream-max-buffer-bytes', default: 1024 * 1024, parse: int(1024), doc: 'A stream client this far behind is disconnected (it resumes from the log when it reconnects).' },
  streamStallSec: { env: 'SWITCHBOARD_STREAM_STALL_SEC', flag: 'stream-stall-sec', default: 60, parse: wait(1, 1000), doc: 'A stream client whose connection has not taken all that waits for it for this many seconds (it stopped reading) is disconnected, its replay too (it resumes from the log when it reconnects).' },
  streamMaxPerKey: { env: 'SWITCHBOARD_STREAM_MAX_PER_KEY', flag: 'stream-max-per-key', default: 20, parse: int(1), doc: 'Streams one API key may hold open on a node at once; more get 429.' },
  streamMaxReplayReads: { env: 'SWITCHBOARD_STREAM_MAX_REPLAY_READS', flag: 'stream-max-replay-reads', default: 4, parse: int(1), doc: 'Pages of the log that streams resuming from it (since, Last-Event-ID) read at the same time on a node; the others wait their turn.' },
  authMissesPerMin: { env: 'SWITCHBOARD_AUTH_MISSES_PER_MIN', flag: 'auth-misses-per-min', default: 100, parse: int(1), doc: 'Failed authentications (missing or unknown API key, unknown ingest token) an address may make per minute; beyond, its requests get 429 with Retry-After, except those with a secret that was valid on this node recently.' },
  requestTimeoutSec: { env: 'SWITCHBOARD_REQUEST_TIMEOUT_SEC', flag: 'request-timeout-sec', default: 30, parse: wait(0, 1000), doc: 'A request (headers and body) must have arrived whole within this many seconds, else 408 and the connection closes (0: no limit). Covers receiving the request only: answers and streams may last longer.' },
  headersTimeoutSec: { env: 'SWITCHBOARD_HEADERS_TIMEOUT_SEC', flag: 'headers-timeout-sec', default: 15, parse: wait(1, 1000), doc: "A request's headers must have arrived within this many seconds (at most the request timeout)." },
  connectionTimeoutSec: { env: 'SWITCHBOARD_CONNECTION_TIMEOUT_SEC', flag: 'connection-timeout-sec', default: 60, parse: wait(0, 1000), doc: 'A connection on which nothing is received or sent for this many seconds while a request is under way is closed (0: never). Streams are exempt (their heartbeat, buffer bound and stall setting watch them), and so are POST /v1/prune, POST /v1/events/reprocess, POST /v1/destinations/{id}/replay and POST /v1/sources/{id}/backfill (they answer when done).' },
  keepAliveTimeoutSec: { env: 'SWITCHBOARD_KEEP_ALIVE_TIMEOUT_SEC', flag: 'keep-alive-timeout-sec', default: 72, parse: wait(1, 1000), doc: "An idle keep-alive connection is closed after this many seconds (keep it above a load balancer's idle timeout, 60 s on AWS ALB, or it may reuse a connection being closed)." },
  maxConnections: { env: 'SWITCHBOARD_MAX_CONNECTIONS', flag: 'max-connections', default: 10_000, parse: int(1), doc: 'Connections a node holds at once (streams included); further ones are closed as they arrive. Keep below the open-file limit (ulimit -n).' },
  callObjectMaxBytes: { env: 'SWITCHBOARD_CALL_OBJECT_MAX_BYTES', flag: 'call-object-max-bytes', default: defaultCallObjectMaxBytes, parse: int(256), doc: "Largest serialized size of the call record's lead, agent and lead.custom_params each; larger fields are replaced by a marker (the raw event keeps everything)." },
  sessionTtlHours: { env: 'SWITCHBOARD_SESSION_TTL_HOURS', flag: 'session-ttl-hours', default: 168, parse: span(1, 3_600_000), doc: 'A dashboard session ends this many hours after the sign-in, however much it is used.' },
  sessionIdleMin: { env: 'SWITCHBOARD_SESSION_IDLE_MIN', flag: 'session-idle-min', default: 720, parse: span(1, 60_000), doc: 'A dashboard session not used for this many minutes ends.' },
  loginFailuresPerAccount: { env: 'SWITCHBOARD_LOGIN_FAILURES_PER_ACCOUNT', flag: 'login-failures-per-account', default: 10, parse: int(1), doc: 'Failed sign-ins for one email within SWITCHBOARD_LOGIN_WINDOW_MIN; beyond, sign-ins for it get 429 rate_limited with Retry-After until the window ends (per node).' },
  loginFailuresPerAddress: { env: 'SWITCHBOARD_LOGIN_FAILURES_PER_ADDRESS', flag: 'login-failures-per-address', default: 30, parse: int(1), doc: 'Failed sign-ins from one address within SWITCHBOARD_LOGIN_WINDOW_MIN; beyond, its sign-ins get 429 rate_limited with Retry-After until the window ends (per node).' },
  loginWindowMin: { env: 'SWITCHBOARD_LOGIN_WINDOW_MIN', flag: 'login-window-min', default: 15, parse: span(1, 60_000), doc: 'The window, in minutes, over which failed sign-ins are counted.' },
  reconcileIntervalMin: { env: 'SWITCHBOARD_RECONCILE_INTERVAL_MIN', flag: 'reconcile-interval-min', default: 15, parse: wait(1, 60_000), doc: "How often the worker compares Convolo's call list with what arrived, for each source with a Convolo API key." },
  reconcileLookbackHours: { env: 'SWITCHBOARD_RECONCILE_LOOKBACK_HOURS', flag: 'reconcile-lookback-hours', default: 48, parse: span(1, 3_600_000), doc: 'How far back each reconcile run looks (whole UTC days, as Convolo takes dates).' },
  reconcilePauseFactor: { env: 'SWITCHBOARD_RECONCILE_PAUSE_FACTOR', flag: 'reconcile-pause-factor', default: 3, parse: int(0), doc: "After each page's fetch from Convolo's call list, and again after its check and appends, the reconciler pauses this many times as long as that work took (a wait for a 429 does not count): 3 keeps a long run to about a quarter of the process's time, so the ingest's latency holds (0: no pause)." },
  reconcileMaxPageMb: { env: 'SWITCHBOARD_RECONCILE_MAX_PAGE_MB', flag: 'reconcile-max-page-mb', default: 16, parse: int(1, 256, ' (a page is read whole into memory)'), doc: "Largest answer (MiB) of one page of Convolo's call list the reconciler reads; a larger page fails the run (too_large) and nothing of it is applied." },
  convoloCallListUrl: { env: 'SWITCHBOARD_CONVOLO_CALL_LIST_URL', flag: 'convolo-call-list-url', default: 'https://api.leads.convolo.ai', parse: parseUrl, doc: "Base URL of Convolo's call list API (…/api/v2/calls/payload-data-list); point it at mock-convolo to try it offline." },
};

/** A token a client can send as `Authorization: Bearer <token>` (RFC 6750's token68: no spaces, no control characters). */
function bearerToken(raw: string): string {
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(raw)) throw new Error('expected letters, digits and -._~+/ (ending in = at most), as a Bearer token is sent');
  return raw;
}

function origins(raw: string): string[] {
  const list = raw.split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of list) if (o !== '*' && !/^https?:\/\/[^/]+$/.test(o)) throw new Error(`expected * or origins like https://app.example.com, got "${o}"`);
  return list;
}

function parseDb(raw: string): string {
  if (raw.startsWith('sqlite:') || raw.startsWith('postgres://') || raw.startsWith('postgresql://')) return raw;
  throw new Error(`expected sqlite:<path> or postgres://…, got "${raw.replace(/\/\/[^@]*@/, '//***@')}"`);
}

function parseReadDb(raw: string): string {
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) return raw;
  throw new Error(`expected postgres://…, got "${raw.replace(/\/\/[^@]*@/, '//***@')}"`);
}

function parseUrl(raw: string): string {
  if (raw === '') return raw;
  const url = new URL(raw);
  return url.toString().replace(/\/$/, '');
}

export type Flags = Partial<Record<keyof Config, string | number | boolean | null | undefined>>;

export function loadConfig(env: NodeJS.ProcessEnv = {}, flags: Flags = {}): Readonly<Config> {
  const config = {} as Record<keyof Config, unknown>;
  for (const key of Object.keys(settings) as Array<keyof Config>) {
    const setting = settings[key] as Setting<typeof key>;
    const flag = flags[key];
    const raw = flag !== undefined && flag !== null ? String(flag) : env[setting.env];
    try {
      config[key] = raw === undefined || raw === '' ? setting.default : setting.parse(raw);
    } catch (error) {
      const origin = flag !== undefined && flag !== null ? `--${setting.flag}` : setting.env;
      throw new Error(`Invalid ${origin}: ${(error as Error).message}`);
    }
  }
  const result = config as unknown as Config;
  // A claimed delivery must stay leased for its whole attempt (up to 1 s waiting for its rate limit, then the
  // timeout), and a moment to record it: once the lease runs out, a claim (this worker's or another node's)
  // takes the delivery again and sends it a second time while the first attempt is in flight.
  if (result.deliveryLeaseSec < result.deliveryTimeoutSec + 2) {
    const origin = flags.deliveryLeaseSec !== undefined && flags.deliveryLeaseSec !== null ? '--delivery-lease-sec' : 'SWITCHBOARD_DELIVERY_LEASE_SEC';
    throw new Error(`Invalid ${origin}: ${result.deliveryLeaseSec} s is too short for SWITCHBOARD_DELIVERY_TIMEOUT_SEC ${result.deliveryTimeoutSec} s; it must be at least the timeout + 2 s (${result.deliveryTimeoutSec + 2}), or a delivery still in flight is sent again`);
  }
  if (result.dbReadUrl && result.db.startsWith('sqlite:')) {
    throw new Error(`Invalid ${flags.dbReadUrl ? '--db-read-url' : 'SWITCHBOARD_DB_READ_URL'}: a read database goes with a PostgreSQL SWITCHBOARD_DB (SQLite's readers read the same file)`);
  }
  return Object.freeze(result);
}

/** The base URL users paste from: the configured public URL, or where this process listens. */
export function publicBaseUrl(config: Config, port: number): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
