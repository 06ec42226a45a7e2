import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { bootstrap, type FirstStart } from './admin/credentials.js';
import { createSecretCache } from './admin/secret-cache.js';
import { registerErrorHandling } from './api/errors.js';
import { authMissLimit } from './api/auth-misses.js';
import { presentedKey } from './api/auth.js';
import { hooksRoutes, ingestPath } from './api/hooks.js';
import { refuseNul, refuseNulInBody } from './api/nul-guard.js';
import { opsRoutes } from './api/ops.js';
import { redactUrl } from './api/redact.js';
import { securityHeaders } from './api/security-headers.js';
import { refuseUnknownFields } from './api/strict-bodies.js';
import { v1ReadRoutes } from './api/v1-read.js';
import { destinationRoutes } from './api/v1-destinations.js';
import { createSourceLimiter, rateLimitOptions } from './api/rate-limits.js';
import { limitExpensive } from './api/expensive.js';
import rateLimit from '@fastify/rate-limit';
import { adminRoutes } from './api/v1-admin.js';
import { callListRoutes } from './api/v1-calls.js';
import { statsRoutes } from './api/v1-stats.js';
import { reprocessRoutes } from './api/v1-reprocess.js';
import { pruneRoutes } from './api/v1-prune.js';
import { streamRoutes } from './api/v1-stream.js';
import { publicBaseUrl, type Config } from './config/index.js';
import { AppError } from './domain/errors.js';
import { createIngest } from './ingest/service.js';
import { systemEvent } from './ingest/system-event.js';
import { systemTypes } from './domain/envelope.js';
import { serializeError } from './observability/log-error.js';
import { createListenStatus } from './observability/listen-status.js';
import { createMetrics } from './observability/metrics.js';
import { createStreamHub, type StreamHub } from './relay/hub.js';
import { createStreamKeys } from './relay/stream-keys.js';
import { createDeliveryWorker, type DeliveryWorker } from './relay/worker.js';
import { openStorage } from './storage/open.js';
import type { Storage } from './storage/ports.js';

export interface AppOptions {
  /** Pino options, or false for no logs (tests). */
  logger?: boolean | Record<string, unknown>;
  /** The clock: tests drive time with it. */
  now?: () => number;
  /** Wraps the opened storage (tests use it to make a commit fail). */
  wrapStorage?: (storage: Storage) => Storage;
  /** The randomness of retry jitter (tests pin it). */
  random?: () => number;
}

export interface App {
  server: FastifyInstance;
  storage: Storage;
  config: Readonly<Config>;
  /** Applies migrations and, on an empty database, creates the default source and admin key. */
  prepare(): Promise<FirstStart | null>;
  listen(): Promise<{ port: number; baseUrl: string }>;
  /** Marks calls with no end_call after SWITCHBOARD_STALE_AFTER_MIN as stale (also runs periodically). */
  sweepStale(): Promise<number>;
  /** Every route registered, as `METHOD url` (the OpenAPI test checks each is documented). */
  routes: Array<{ method: string; url: string }>;
  /** The stream fan-out and the webhook worker (null in the `api` role): tests drive them. */
  relay: { hub: StreamHub; worker: DeliveryWorker | null };
  /** Graceful: stop accepting, answer what is in flight after its commit, then close the database. */
  close(): Promise<void>;
}

const appVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Builds the service from its configuration; the only place that picks the storage backend. */
export async function createApp(config: Readonly<Config>, options: AppOptions = {}): Promise<App> {
  const now = options.now ?? Date.now;
  const opened = await openStorage(config.db, {
    readers: config.dbReaders,
    readerNice: config.dbReaderNice,
    statementTimeoutMs: config.statementTimeoutMs,
    busyTimeoutMs: config.sqliteBusyTimeoutMs,
    callObjectMaxBytes: config.callObjectMaxBytes,
  });
  const storage = options.wrapStorage ? options.wrapStorage(opened) : opened;
  const metrics = createMetrics();
  const hub = createStreamHub({ events: storage.events, pollMs: config.relayPollMs, maxReplayReads: config.streamMaxReplayReads, onError: (error) => server.log.warn({ err: error }, 'stream hub: reading the log failed') });
  const worker = config.role === 'api' ? null : createDeliveryWorker({
    storage,
    config,
    metrics,
    now,
    random: options.random,
    onAppended: () => hub.wake(),
    onError: (error) => server.log.warn({ err: error }, 'delivery worker failed'),
    onCircuit: (destinationId, change) =>
      change === 'opened'
        ? server.log.warn({ destination_id: destinationId }, `destination stopped answering: its deliveries wait ${config.breakerCooldownSec} s, then one is tried`)
        : server.log.info({ destination_id: destinationId }, 'destination answers again: its deliveries resume'),
  });
  /** Something was appended: the stream and the worker look for it. */
  const appended = () => {
    hub.wake();
    worker?.wake();
  };
  metrics.measureRelay({ streamClients: () => hub.clients, pendingDeliveries: () => storage.deliveries.pendingCount() });
  if (worker) metrics.measureCircuits(() => worker.circuitsOpen);
  const ingest = createIngest({
    log: storage.events,
    metrics,
    quarantineBodyBytes: config.quarantineBodyBytes,
    commitMaxBatch: config.commitMaxBatch,
    commitMaxQueue: config.commitMaxQueue,
    commitMaxInFlight: config.commitMaxInFlight,
    // The worker only when the batch queued deliveries: a claim for nothing on every commit costs the writer.
    onCommitted: (results) => {
      hub.wake();
      if (results.some((r) => r.queued)) worker?.wake();
    },
    now,
  });
  const sources = createSecretCache({ shape: /^sbt_[A-Za-z0-9_-]{43}$/, lookup: (hash) => storage.sources.findByTokenHash(hash, now()), now });
  const keys = createSecretCache({ shape: /^sbk_[A-Za-z0-9_-]{43}$/, lookup: (hash) => storage.keys.findActiveByHash(hash), now, unavailableMessage: 'The database is unavailable: the API key could not be checked. Retry later.' });

  // Each stream's key is looked up again every heartbeat interval: a revocation anywhere ends its streams.
  const streamKeys = createStreamKeys({
    maxPerKey: config.streamMaxPerKey,
    checkEveryMs: config.streamHeartbeatSec * 1000,
    isActive: async (id) => (await storage.keys.get(id))?.revokedAt === null,
    onError: (error) => server.log.warn({ err: error }, 'stream keys: looking the keys up failed'),
  });

  const requestTimeoutMs = config.requestTimeoutSec * 1000;
  const server = Fastify({
    logger: options.logger === false ? false : {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
      // err: a database error's log line keeps its code and message, never the row it quoted (log-error.ts).
      serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: redactUrl(req.url) }), err: serializeError },
      ...(typeof options.logger === 'object' ? options.logger : {}),
    },
    // Access logs at info would cost more than the ingest itself at full load; errors are always logged.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    bodyLimit: 64 * 1024,
    // An unknown body field is refused (strict-bodies.ts), never silently removed.
    ajv: { customOptions: { removeAdditional: false } },
    // Slow clients (a body trickled a byte at a time, headers never finished, a reader that stalls) must not
    // hold connections for ever. Node's requestTimeout covers receiving the request, not the answer, so a
    // stream outlives it; it is checked every connectionsCheckingInterval (Node's default 30 s is too coarse
    // for short timeouts). The idle-connection timeout does not apply to streams (api/v1-stream.ts).
    requestTimeout: requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutSec * 1000,
    keepAliveTimeout: config.keepAliveTimeoutSec * 1000,
    http: {
      requestTimeout: requestTimeoutMs,
      // Node refuses a headers timeout above the request timeout.
      headersTimeout: Math.min(config.headersTimeoutSec * 1000, requestTimeoutMs || Infinity),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor((requestTimeoutMs || 60_000) / 4))),
    },
  });
  server.server.maxConnections = config.maxConnections;
  registerErrorHandling(server);
  server.addHook('onRequest', refuseNul);
  server.addHook('preValidation', refuseNulInBody);
  let closing = false;
  // During a graceful shutdown, requests already in flight are finished; new ones get 503 in our error
  // format (Fastify's own 503 would not be), and every answer closes its connection, so keep-alive clients
  // do not hold the server open until their idle timeout.
  server.addHook('onRequest', async () => {
    if (closing) throw new AppError('shutting_down');
  });
  server.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  securityHeaders(server);
  const routes: Array<{ method: string; url: string }> = [];
  server.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  server.addHook('onRoute', refuseUnknownFields);
  // OpenAPI from the same TypeBox schemas that validate the requests (registered first: it collects the
  // routes registered after it); served at /openapi.json, browsable at /docs.
  void server.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Switchboard', version: appVersion, description: "Receives Convolo's call webhooks, keeps every call, relays them in real time." },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: sbk_…' } } },
      security: [{ apiKey: [] }],
    },
  });
  void server.register(swaggerUi, { routePrefix: '/docs' });
  server.get('/openapi.json', { schema: { hide: true } }, async () => server.swagger());
  // Browsers call the API and open the stream from the user's own web app, another origin. The key is the
  // credential (a header, or access_token for EventSource), never a cookie, so any origin may be allowed.
  void server.register(cors, {
    origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
    credentials: false,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'last-event-id'],
    maxAge: 600,
  });
  void server.register(rateLimit, rateLimitOptions({ apiPerMin: config.rateLimitApiPerMin }));
  server.addHook('onRequest', limitExpensive(config.expensivePerKey));
  authMissLimit(server, {
    perMin: config.authMissesPerMin,
    now,
    covers: (request) => request.url.startsWith('/v1/') || request.routeOptions.url === ingestPath,
    isKnown: (request) => {
      const secret = request.routeOptions.url === ingestPath ? (request.params as { token?: string }).token : presentedKey(request);
      return secret !== undefined && (keys.isKnown(secret) || sources.isKnown(secret));
    },
    // 401: a missing or unknown key; 404 on the ingest route: an unknown token (405s have their own code).
    isMiss: (request, status) => status === 401 || (status === 404 && request.routeOptions.url === ingestPath),
  });
  const resolveKey = (k: string) => keys.resolve(k);
  if (config.role !== 'worker') {
    const sourceLimit = createSourceLimiter(config.rateLimitIngestPerMin);
    void server.register(hooksRoutes, { ingest, resolveSource: (t) => sources.resolve(t), limitSource: (id) => sourceLimit.take(id), bodyLimitBytes: config.bodyLimitBytes });
    void server.register(v1ReadRoutes, { storage, resolveKey });
    void server.register(streamRoutes, { hub, resolveKey, heartbeatSec: config.streamHeartbeatSec, maxBufferBytes: config.streamMaxBufferBytes, streamKeys });
    void server.register(destinationRoutes, { storage, resolveKey, config, now, onQueued: () => worker?.wake() });
    void server.register(adminRoutes, { storage, resolveKey, config, now, forgetSecrets: () => { sources.clear(); keys.clear(); void streamKeys.check(); } });
    void server.register(callListRoutes, { storage, resolveKey, config, now });
    void server.register(statsRoutes, { storage, resolveKey, config, now });
    void server.register(reprocessRoutes, { storage, ingest, resolveKey });
    void server.register(pruneRoutes, { storage, config, now, resolveKey });
  }
  const listen = createListenStatus({ metrics, log: () => server.log, pollMs: config.relayPollMs });
  void server.register(opsRoutes, { storage, metrics, resolveKey, listenStatus: listen.current });

  /** Appends a call.stale event for each call in progress for too long (the event marks the call, atomically). */
  async function sweepStale(): Promise<number> {
    let marked = 0;
    for (;;) {
      const candidates = await storage.calls.staleCandidates(now() - config.staleAfterMin * 60_000, 500);
      if (candidates.length === 0) return marked;
      const data = { reason: 'no_end_call', stale_after_min: config.staleAfterMin };
      const results = await ingest.appendSystem(candidates.map((c) => systemEvent({ type: systemTypes.callStale, sourceId: c.sourceId, callId: c.callId, data, at: now() })));
      marked += results.filter((r) => !r.skipped).length;
      if (candidates.length < 500) return marked;
    }
  }
  let staleTimer: NodeJS.Timeout | undefined;
  let maintainTimer: NodeJS.Timeout | undefined;
  let retentionTimer: NodeJS.Timeout | undefined;
  /** SWITCHBOARD_RETENTION_DAYS: deletes what is older (the worker's job; hourly). */
  const pruneExpired = () => storage.prune(now() - config.retentionDays * 86_400_000);
  let stopWatching: (() => Promise<void>) | undefined;
  function startStaleSweep(): void {
    staleTimer = setInterval(() => {
      sweepStale().catch((error: unknown) => server.log.warn({ err: error }, 'stale sweep failed'));
    }, config.staleSweepIntervalSec * 1000);
    staleTimer.unref();
  }

  return {
    server,
    storage,
    config,
    async prepare() {
      await storage.migrate();
      return bootstrap(storage);
    },
    sweepStale,
    relay: { hub, worker },
    routes,
    async listen() {
      // A burst of new connections (Convolo, a load balancer's retries) must queue, not be reset: Node's
      // default accept backlog is 511; the kernel caps this at net.core.somaxconn.
      await server.listen({ host: config.host, port: config.port, backlog: 4096 });
      if (config.role !== 'worker') {
        await hub.start();
        streamKeys.start();
      }
      worker?.start();
      stopWatching = await storage.watchAppends(appended, listen.update);
      if (config.role !== 'api') startStaleSweep();
      if (config.role !== 'api' && config.retentionDays > 0) {
        retentionTimer = setInterval(() => {
          pruneExpired().catch((error: unknown) => server.log.warn({ err: error }, 'retention: pruning failed'));
        }, 3_600_000);
        retentionTimer.unref();
      }
      maintainTimer = setInterval(() => {
        storage.maintain().catch((error: unknown) => server.log.warn({ err: error }, 'database maintenance failed'));
      }, 2_000);
      maintainTimer.unref();
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return { port, baseUrl: publicBaseUrl(config, port) };
    },
    async close() {
      closing = true;
      clearInterval(staleTimer);
      clearInterval(maintainTimer);
      clearInterval(retentionTimer);
      streamKeys.stop();
      // Stream clients would hold the server open: end them first (they resume from the log elsewhere).
      await hub.close();
      await server.close();
      await ingest.drain();
      await worker?.close();
      await stopWatching?.();
      await storage.close();
    },
  };
}
