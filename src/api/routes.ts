import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { Ingest } from '../ingest/service.js';
import type { Metrics } from '../observability/metrics.js';
import type { StreamHub } from '../relay/hub.js';
import type { StreamKeys } from '../relay/stream-keys.js';
import type { SessionService } from '../admin/sessions.js';
import type { ApiKey, CredentialKind, ListenStatus, Source, Storage } from '../storage/ports.js';
import { dashboardRoutes } from './dashboard.js';
import { createIngestFront, type FrontHandler } from './ingest-front.js';
import { hooksRoutes } from './hooks.js';
import { opsRoutes } from './ops.js';
import { createLoginLimits } from './login-limits.js';
import { createSourceLimiter } from './rate-limits.js';
import { sessionAuth } from './session-auth.js';
import { aboutRoutes } from './v1-about.js';
import { adminRoutes } from './v1-admin.js';
import { reconcileRoutes } from './v1-reconcile.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { authRoutes } from './v1-auth.js';
import { callListRoutes } from './v1-calls.js';
import { destinationRoutes } from './v1-destinations.js';
import { pruneRoutes } from './v1-prune.js';
import { v1ReadRoutes } from './v1-read.js';
import { reprocessRoutes } from './v1-reprocess.js';
import { statsRoutes } from './v1-stats.js';
import { streamRoutes } from './v1-stream.js';
import { userRoutes } from './v1-users.js';

export interface RouteDeps {
  config: Readonly<Config>;
  now: () => number;
  storage: Storage;
  ingest: Ingest;
  metrics: Metrics;
  hub: StreamHub;
  streamKeys: StreamKeys;
  resolveSource: (token: string) => Promise<Source | null>;
  /** The source of a token resolved recently (null: known not to exist), or undefined when it must be looked up. */
  cachedSource: (token: string) => Source | null | undefined;
  /** Adds the hooks only the API's routes need to their context (api/server.ts). */
  guardApi: (api: FastifyInstance) => void;
  /** Puts the ingest's node:http front ahead of Fastify (api/ingest-front.ts). */
  installFront: (front: FrontHandler) => void;
  /** True once the server is shutting down (api/server.ts). */
  isClosing: () => boolean;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  /** The dashboard's sessions (the cookie is accepted wherever a key is, from our own origin). */
  sessions: SessionService;
  /** A key or token was changed: cached lookups are dropped, streams of revoked keys end. */
  forgetSecrets: (changed: CredentialKind) => Promise<void>;
  /** Deliveries were queued outside an append (a replay, a retry): the worker looks now. */
  deliveriesQueued: () => void;
  listenStatus: () => ListenStatus | null;
  /** The package's version and when this node started (GET /v1/about). */
  version: string;
  startedAt: number;
  /** Reconciliation with Convolo's call list (runs now, backfill steps, status); `timerStartedAt` null when this node's worker does not run it. */
  reconciler: Reconciler;
  reconcileTimerStartedAt: number | null;
  /** Calls per page of the CSV export (tests make it small). */
  csvPageSize?: number;
}

/**
 * The routes of the process's role: the worker role serves only health and metrics; the API role also the
 * ingest, the API (`/v1/…`) and the dashboard. The API's routes share an encapsulated context with the hooks
 * only they need (the NUL guards, the expensive-request slots: `guardApi`; the session cookie); the ingest
 * route, registered beside it, runs none of them on its hot path (docs/benchmarks.md, issue 15 part 3).
 */
export function registerRoutes(server: FastifyInstance, deps: RouteDeps): void {
  const { config, now, storage, ingest, resolveKey } = deps;
  if (config.role !== 'worker') {
    const sourceLimit = createSourceLimiter(config.rateLimitIngestPerMin);
    const limitSource = (id: string) => sourceLimit.take(id);
    void server.register(hooksRoutes, {
      ingest, resolveSource: deps.resolveSource, cachedSource: deps.cachedSource, limitSource, bodyLimitBytes: config.bodyLimitBytes,
    });
    deps.installFront(createIngestFront({
      ingest, cachedSource: deps.cachedSource, limitSource, bodyLimitBytes: config.bodyLimitBytes, isClosing: deps.isClosing, log: () => server.log,
    }));
    void server.register(async (api) => {
      // Before every route's own hooks: requireScope takes the session it finds when no key is presented. And
      // before the guards: the expensive-request slots count a signed-in person's requests as theirs.
      api.addHook('onRequest', sessionAuth({ sessions: deps.sessions, publicUrl: config.publicUrl }));
      deps.guardApi(api);
      const limits = createLoginLimits({ perAccount: config.loginFailuresPerAccount, perAddress: config.loginFailuresPerAddress, windowMin: config.loginWindowMin, now });
      void api.register(authRoutes, { storage, sessions: deps.sessions, limits, publicUrl: config.publicUrl, now, forgetSecrets: deps.forgetSecrets });
      void api.register(userRoutes, { storage, resolveKey, config, now, forgetSecrets: deps.forgetSecrets });
      void api.register(v1ReadRoutes, { storage, resolveKey });
      void api.register(streamRoutes, { hub: deps.hub, resolveKey, heartbeatSec: config.streamHeartbeatSec, maxBufferBytes: config.streamMaxBufferBytes, streamKeys: deps.streamKeys });
      void api.register(destinationRoutes, { storage, resolveKey, config, now, onQueued: deps.deliveriesQueued });
      void api.register(adminRoutes, { storage, resolveKey, config, now, forgetSecrets: deps.forgetSecrets });
      void api.register(reconcileRoutes, { storage, reconciler: deps.reconciler, resolveKey, config, timerStartedAt: deps.reconcileTimerStartedAt });
      void api.register(callListRoutes, { storage, resolveKey, config, now, csvPageSize: deps.csvPageSize });
      void api.register(aboutRoutes, { config, version: deps.version, startedAt: deps.startedAt, now, resolveKey });
      void api.register(statsRoutes, { storage, resolveKey, config, now });
      void api.register(reprocessRoutes, { storage, ingest, resolveKey });
      void api.register(pruneRoutes, { storage, config, now, resolveKey });
    });
    void server.register(dashboardRoutes);
  }
  void server.register(opsRoutes, { storage, metrics: deps.metrics, resolveKey, listenStatus: deps.listenStatus, metricsToken: config.metricsToken });
}
