import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { bootstrap, type FirstStart } from './admin/credentials.js';
import { createSecretCache } from './admin/secret-cache.js';
import { registerErrorHandling } from './api/errors.js';
import { hooksRoutes } from './api/hooks.js';
import { opsRoutes } from './api/ops.js';
import { redactUrl } from './api/redact.js';
import { v1ReadRoutes } from './api/v1-read.js';
import { publicBaseUrl, type Config } from './config/index.js';
import { AppError } from './domain/errors.js';
import { createIngest } from './ingest/service.js';
import { createMetrics } from './observability/metrics.js';
import { openStorage } from './storage/open.js';
import type { Storage } from './storage/ports.js';

export interface AppOptions {
  /** Pino options, or false for no logs (tests). */
  logger?: boolean | Record<string, unknown>;
  /** The clock: tests drive time with it. */
  now?: () => number;
  /** Wraps the opened storage (tests use it to make a commit fail). */
  wrapStorage?: (storage: Storage) => Storage;
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
  /** Graceful: stop accepting, answer what is in flight after its commit, then close the database. */
  close(): Promise<void>;
}

/** Builds the service from its configuration; the only place that picks the storage backend. */
export async function createApp(config: Readonly<Config>, options: AppOptions = {}): Promise<App> {
  const now = options.now ?? Date.now;
  const opened = await openStorage(config.db);
  const storage = options.wrapStorage ? options.wrapStorage(opened) : opened;
  const metrics = createMetrics();
  const ingest = createIngest({
    log: storage.events,
    metrics,
    quarantineBodyBytes: config.quarantineBodyBytes,
    commitMaxBatch: config.commitMaxBatch,
    commitMaxQueue: config.commitMaxQueue,
    commitMaxInFlight: config.commitMaxInFlight,
    now,
  });
  const sources = createSecretCache({ shape: /^sbt_[A-Za-z0-9_-]{43}$/, lookup: (hash) => storage.sources.findByTokenHash(hash, now()), now });
  const keys = createSecretCache({ shape: /^sbk_[A-Za-z0-9_-]{43}$/, lookup: (hash) => storage.keys.findActiveByHash(hash), now });

  const server = Fastify({
    logger: options.logger === false ? false : {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
      serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: redactUrl(req.url) }) },
      ...(typeof options.logger === 'object' ? options.logger : {}),
    },
    // Access logs at info would cost more than the ingest itself at full load; errors are always logged.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    bodyLimit: 64 * 1024,
  });
  registerErrorHandling(server);
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
  void server.register(hooksRoutes, { ingest, resolveSource: (t) => sources.resolve(t), bodyLimitBytes: config.bodyLimitBytes });
  void server.register(v1ReadRoutes, { storage, resolveKey: (k) => keys.resolve(k) });
  void server.register(opsRoutes, { storage, metrics });

  const sweepStale = () => storage.calls.markStale(now() - config.staleAfterMin * 60_000);
  let staleTimer: NodeJS.Timeout | undefined;
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
    async listen() {
      await server.listen({ host: config.host, port: config.port });
      startStaleSweep();
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return { port, baseUrl: publicBaseUrl(config, port) };
    },
    async close() {
      closing = true;
      clearInterval(staleTimer);
      await server.close();
      await ingest.drain();
      await storage.close();
    },
  };
}
