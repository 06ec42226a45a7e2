import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { bootstrap, type FirstStart } from './admin/credentials.js';
import { createKeyUsage } from './admin/key-usage.js';
import { createSecretCache } from './admin/secret-cache.js';
import { createSessionService } from './admin/sessions.js';
import { createSetupToken } from './admin/users.js';
import type { ApiKeyId } from './domain/ids.js';
import { registerRoutes } from './api/routes.js';
import { createHttpServer } from './api/server.js';
import { pruneSaying } from './api/v1-prune.js';
import { publicBaseUrl, type Config } from './config/index.js';
import { createIngest } from './ingest/service.js';
import { createStaleSweep } from './ingest/stale-sweep.js';
import { createListenStatus } from './observability/listen-status.js';
import { createLogLagWarning } from './observability/log-lag.js';
import { createMetrics } from './observability/metrics.js';
import { committedSequence, createStreamHub, type StreamHub } from './relay/hub.js';
import { createStreamKeys } from './relay/stream-keys.js';
import { createDeliveryWorker, type DeliveryWorker } from './relay/worker.js';
import { createReconciler, leaseLostCode, type Reconciler } from './reconcile/reconciler.js';
import { ConvoloClient } from './sdk/convolo-client.js';
import { startPeriodicJobs, type PeriodicJob, type PeriodicJobs } from './runtime/periodic-jobs.js';
import { openStorage } from './storage/open.js';
import type { CredentialKind, Storage } from './storage/ports.js';

export interface AppOptions {
  /** Pino options, or false for no logs (tests). */
  logger?: boolean | Record<string, unknown>;
  /** The clock: tests drive time with it. */
  now?: () => number;
  /** Wraps the opened storage (tests use it to make a commit fail). */
  wrapStorage?: (storage: Storage) => Storage;
  /** The randomness of retry jitter (tests pin it). */
  random?: () => number;
  /** The byte budget of the stream's and the worker's reads of the log (tests lower it; default `readPageBytes`). */
  readPageBytes?: number;
  /** How the reconciler waits before retrying Convolo's call list (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
  /** Calls per page of the CSV export (tests make it small to cross pages). */
  csvPageSize?: number;
}

export interface App {
  server: FastifyInstance;
  storage: Storage;
  config: Readonly<Config>;
  /**
   * Applies migrations and, on an empty database, creates the default source and admin key. While no user
   * exists it also makes a setup token for the first admin (`setupToken`), unless `setupLink` is false.
   */
  prepare(options?: { setupLink?: boolean }): Promise<FirstStart | null>;
  /** The setup token the last prepare() made (null: users exist, or none was asked for): printed once, never logged. */
  readonly setupToken: string | null;
  listen(): Promise<{ port: number; baseUrl: string }>;
  /** Marks calls with no end_call after SWITCHBOARD_STALE_AFTER_MIN as stale (also runs periodically). */
  sweepStale(): Promise<number>;
  /** Reconciliation with Convolo's call list (the worker runs `runAll` every SWITCHBOARD_RECONCILE_INTERVAL_MIN): tests drive it. */
  reconciler: Reconciler;
  /** Every route registered, as `METHOD url` (the OpenAPI test checks each is documented). */
  routes: Array<{ method: string; url: string }>;
  /** The stream fan-out and the webhook worker (null in the `api` role): tests drive them. */
  relay: { hub: StreamHub; worker: DeliveryWorker | null };
  /** Graceful: stop accepting, answer what is in flight after its commit, then close the database. */
  close(): Promise<void>;
}

const appVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Wires the service from its configuration: the only place that picks the storage backend and knows which
 * parts a role runs. Each part is built by its own module; what is here is who hears whom, in what order
 * things start, and the reverse order in which they stop.
 */
export async function createApp(config: Readonly<Config>, options: AppOptions = {}): Promise<App> {
  const now = options.now ?? Date.now;
  const opened = await openStorage(config.db, {
    readers: config.dbReaders,
    ...(config.dbReadUrl ? { readUrl: config.dbReadUrl } : {}),
    connectTimeoutMs: config.pgConnectTimeoutMs,
    readerNice: config.dbReaderNice,
    statementTimeoutMs: config.statementTimeoutMs,
    busyTimeoutMs: config.sqliteBusyTimeoutMs,
    callObjectMaxBytes: config.callObjectMaxBytes,
  });
  const storage = options.wrapStorage ? options.wrapStorage(opened) : opened;
  const sendsWebhooks = config.role !== 'api';
  const servesApi = config.role !== 'worker';

  const sources = createSecretCache({ shape: /^sbt_[A-Za-z0-9_-]{43}$/, lookup: (hash) => storage.sources.findByTokenHash(hash, now()), now });
  const keys = createSecretCache({ shape: /^sbk_[A-Za-z0-9_-]{43}$/, lookup: (hash) => storage.keys.findActiveByHash(hash), now, unavailable: 'key_check_unavailable' });
  const keyUsage = createKeyUsage({ keys: storage.keys, now, onError: (error) => server.log.warn({ err: error }, "recording an API key's use failed") });
  const sessions = createSessionService({
    storage,
    now,
    ttlMs: config.sessionTtlHours * 3_600_000,
    idleMs: config.sessionIdleMin * 60_000,
    onError: (error) => server.log.warn({ err: error }, 'recording a session\'s use failed'),
  });
  const http = createHttpServer(config, {
    logger: options.logger,
    now,
    version: appVersion,
    isKnownSecret: (secret) => keys.isKnown(secret) || sources.isKnown(secret) || sessions.isKnown(secret),
  });
  const { server } = http;
  const log = () => server.log;

  const metrics = createMetrics();
  const hub = createStreamHub({ events: storage.events, pollMs: config.relayPollMs, maxReplayReads: config.streamMaxReplayReads, stallMs: config.streamStallSec * 1000, pageBytes: options.readPageBytes, onError: (error) => log().warn({ err: error }, 'stream hub: reading the log failed'), onDropped: (reason) => metrics.streamClientsDropped.inc({ reason }) });
  const worker = sendsWebhooks ? createDeliveryWorker({
    storage,
    config,
    metrics,
    now,
    random: options.random,
    pageBytes: options.readPageBytes,
    onAppended: () => hub.wake(),
    onError: (error) => log().warn({ err: error }, 'delivery worker failed'),
    onCircuit: (destinationId, change) =>
      change === 'opened'
        ? log().warn({ destination_id: destinationId }, `destination stopped answering: its deliveries wait ${config.breakerCooldownSec} s, then one is tried`)
        : log().info({ destination_id: destinationId }, 'destination answers again: its deliveries resume'),
  }) : null;
  metrics.measureRelay({ streamClients: () => hub.clients, pendingDeliveries: () => storage.deliveries.pendingCount() });
  metrics.measureReadReplayLag(() => storage.readReplayLag());
  if (worker) metrics.measureCircuits(() => worker.circuitsOpen);
  const ingest = createIngest({
    log: storage.events,
    metrics,
    quarantineBodyBytes: config.quarantineBodyBytes,
    commitMaxBatch: config.commitMaxBatch,
    commitMaxQueue: config.commitMaxQueue,
    commitMaxInFlight: config.commitMaxInFlight,
    wantsStored: () => hub.clients > 0,
    // The worker only when the batch queued deliveries: a claim for nothing on every commit costs the writer.
    onCommitted: (results) => {
      sequencer?.wake();
      // The highest seq this commit gave (SQLite gives it in the commit; PostgreSQL's sequencer later, so its
      // fresh events answer seq 0 and the hub reads as before). Duplicates and skipped events gave none.
      // On PostgreSQL a commit that gave no seq has nothing the hub could read yet: the sequencer's tick
      // wakes it (onSequenced here, its NOTIFY on every node), and a read now would only delay that one.
      // On SQLite, with stream clients, the results hold the events as stored: the hub fans them out unread.
      let upTo = 0;
      for (const r of results) if (!r.duplicate && !r.skipped && r.seq > upTo) upTo = r.seq;
      if (upTo > 0) hub.wake(upTo, committedSequence(results));
      else if (!sequencer) hub.wake();
      if (results.some((r) => r.queued)) worker?.wake();
    },
    now,
  });
  const sweepStale = createStaleSweep({ calls: storage.calls, ingest, staleAfterMin: config.staleAfterMin, now });
  // Each stream's key is looked up again every heartbeat interval: a revocation anywhere ends its streams.
  const reconciler = createReconciler({
    store: storage.reconcile,
    ingest,
    metrics,
    clientFor: (apiKey) => new ConvoloClient({ apiKey, callListBaseUrl: config.convoloCallListUrl, timeoutMs: 30_000, maxPageBytes: config.reconcileMaxPageMb * 1024 * 1024 }),
    now,
    intervalMin: config.reconcileIntervalMin,
    lookbackHours: config.reconcileLookbackHours,
    pauseFactor: config.reconcilePauseFactor,
    sleep: options.sleep,
    onRun: (run) => {
      const fields = { source_id: run.sourceId, run_id: run.id, kind: run.kind, fetched: run.fetched, present: run.present, added: run.added, errors: run.errors };
      if (run.error?.code === 'interrupted') log().info({ ...fields, error_code: run.error.code }, 'reconcile run stopped: the server is shutting down; the next run reads these days again');
      else if (run.error?.code === leaseLostCode) log().warn({ ...fields, error_code: run.error.code, error_detail: run.error.detail }, 'reconcile run stopped: its lease could not be renewed (another node took it, or the database refused); it runs again next interval');
      else if (run.error) log().warn({ ...fields, error_code: run.error.code, error_status: run.error.status }, "reconcile run failed: Convolo's call list did not answer as expected; it runs again next interval");
      else log().info(fields, run.added > 0 ? `reconcile run added ${run.added} call(s) whose webhook never arrived` : 'reconcile run found nothing missing');
    },
  });
  const streamKeys = createStreamKeys({
    maxPerKey: config.streamMaxPerKey,
    checkEveryMs: config.streamHeartbeatSec * 1000,
    isActive: async (id) => (id.startsWith('session:') ? sessions.isActive(id.slice('session:'.length)) : (await storage.keys.get(id as ApiKeyId))?.revokedAt === null),
    onError: (error) => log().warn({ err: error }, 'stream keys: looking the keys up failed'),
  });
  /** Drops this node's cached lookups of what changed (undefined: everything), and checks the open streams' keys and sessions. */
  const forgetLocally = (changed?: CredentialKind) => {
    if (changed === undefined || changed === 'sources') sources.clear();
    if (changed === undefined || changed === 'keys') keys.clear();
    if (changed === undefined || changed === 'sessions') sessions.forget();
    if (changed !== 'sources') void streamKeys.check();
  };
  const listenStatus = createListenStatus({ metrics, log, pollMs: config.relayPollMs });
  registerRoutes(server, {
    config,
    now,
    storage,
    ingest,
    metrics,
    hub,
    streamKeys,
    resolveSource: (token) => sources.resolve(token),
    cachedSource: (token) => sources.cached(token),
    guardApi: http.guardApi,
    installFront: http.installFront,
    isClosing: http.isClosing,
    resolveKey: async (key) => {
      const found = await keys.resolve(key);
      if (found) keyUsage.record(found);
      return found;
    },
    sessions,
    // This node at once; the others when they hear the announcement (PostgreSQL), before this answers.
    forgetSecrets: async (changed) => {
      forgetLocally(changed);
      await storage.announceCredentialsChanged(changed).catch((error: unknown) => log().warn({ err: error }, 'announcing a change of credentials to the other nodes failed: they see it within the 5 s their lookups are cached'));
    },
    deliveriesQueued: () => worker?.wake(),
    listenStatus: listenStatus.current,
    version: appVersion,
    startedAt: now(),
    reconciler,
    reconcileTimerStartedAt: sendsWebhooks ? now() : null,
    csvPageSize: options.csvPageSize,
  });

  /** The timers: upkeep for every role; the stale sweep and retention with the worker's role. */
  // SQLite's upkeep is the WAL checkpoint: small and often (SWITCHBOARD_CHECKPOINT_MS), see config.
  const upkeepMs = storage.dialect === 'sqlite' ? config.checkpointMs : config.maintainIntervalSec * 1000;
  const jobs: PeriodicJob[] = [{ name: 'database maintenance', everyMs: upkeepMs, run: () => storage.maintain() }];
  if (sendsWebhooks) jobs.push({ name: 'stale sweep', everyMs: config.staleSweepIntervalSec * 1000, run: sweepStale });
  // Reconciliation with Convolo's call list: with the worker's role; the lease keeps it to one node at a time.
  if (sendsWebhooks) jobs.push({ name: 'reconcile', everyMs: reconciler.everyMs, run: () => reconciler.runAll() });
  if (sendsWebhooks && config.retentionDays > 0) {
    jobs.push({ name: 'retention', everyMs: config.retentionCheckSec * 1000, run: () => pruneSaying(storage, now() - config.retentionDays * 86_400_000, log()) });
  }
  let periodic: PeriodicJobs | undefined;
  let sequencer: ReturnType<Storage['startSequencer']> = null;
  const logLag = createLogLagWarning({ metrics, log, warnMs: config.logLagWarnMs });
  let stopWatching: (() => Promise<void>) | undefined;
  let setupToken: string | null = null;

  return {
    server,
    storage,
    config,
    async prepare({ setupLink = true } = {}) {
      await storage.migrate();
      if ((await storage.callRecordForm()) === 'object') {
        // PostgreSQL after an upgrade: nodes of earlier versions may still read the log (migration 0016).
        log().info('call records are stored in the form earlier versions read: once every node runs this version, run `switchboard migrate --compact-records`');
      }
      const first = await bootstrap(storage);
      setupToken = setupLink ? await createSetupToken(storage, now()) : null;
      return first;
    },
    get setupToken() {
      return setupToken;
    },
    sweepStale,
    reconciler,
    relay: { hub, worker },
    routes: http.routes,
    async listen() {
      // A burst of new connections (Convolo, a load balancer's retries) must queue, not be reset: Node's
      // default accept backlog is 511; the kernel caps this at net.core.somaxconn.
      await server.listen({ host: config.host, port: config.port, backlog: 4096 });
      if (servesApi) {
        await hub.start();
        streamKeys.start();
      }
      worker?.start();
      // Other nodes' appends (PostgreSQL): the stream and the worker look for them.
      // The NOTIFY names the last seq given: the node whose sequencer gave it has usually read that far
      // already (onSequenced below), and a second read would queue behind the next tick's.
      stopWatching = await storage.watchAppends((mayQueueDeliveries, lastSeq) => {
        // With the seq known, a hub that nobody reads from only moves its head: no query for the log's end.
        if (lastSeq === undefined || lastSeq > hub.head) hub.wake(lastSeq);
        if (mayQueueDeliveries) worker?.wake();
      }, listenStatus.update, forgetLocally);
      // PostgreSQL: every node is a candidate for the sequencer's role; the one holding it gives seq.
      sequencer = storage.startSequencer({
        nodeId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        intervalMs: config.sequencerIntervalMs,
        idleIntervalMs: config.sequencerIdleMs,
        leaseMs: config.sequencerLeaseMs,
        // The worker only when deliveries became claimable: a claim for nothing on every tick costs a query.
        onSequenced: (lastSeq, queuedDeliveries, sequenced) => {
          if (lastSeq > hub.head) hub.wake(lastSeq, sequenced);
          if (queuedDeliveries > 0) worker?.wake();
        },
        // The tick reads its events in its own round trip only for a stream with clients to send them to.
        wantsEvents: () => hub.clients > 0,
        onStatus: logLag.update,
        onError: (error) => log().warn({ err: error }, 'sequencer: a tick failed; it is tried again'),
        onWarning: (message) => log().warn(message),
      });
      periodic = startPeriodicJobs(jobs, (job, error) => log().warn({ err: error }, `${job.name} failed`));
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return { port, baseUrl: publicBaseUrl(config, port) };
    },
    async close() {
      http.beginClosing();
      periodic?.stop();
      // A reconcile run under way stops at its page, recorded, its lease given back: it needs the ingest and the
      // database, so before they close (and at once: a run answering POST …/reconcile would hold server.close()).
      const reconcileStopped = reconciler.stop();
      streamKeys.stop();
      // Stream clients would hold the server open: end them first (they resume from the log elsewhere).
      await hub.close();
      await server.close();
      await reconcileStopped;
      await ingest.drain();
      await worker?.close();
      await sequencer?.stop();
      await stopWatching?.();
      await storage.close();
    },
  };
}
