import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { ApiKey, ListenStatus, Readiness } from '../storage/ports.js';
import { Healthy, Media, Readiness as ReadinessAnswer } from '../domain/contract/ops.js';
import { bearerKey } from './auth.js';
import { answers, serializeWithJsonStringify } from './responses.js';
import { within } from '../runtime/deadline.js';

export interface OpsOptions {
  storage: Readiness;
  metrics: Metrics;
  /** Admins get the detail of /readyz; anyone else only whether it is ready. */
  resolveKey: (key: string) => Promise<ApiKey | null>;
  /** The connection that hears other nodes' appends (null: the backend has none, SQLite). */
  listenStatus: () => ListenStatus | null;
  /** SWITCHBOARD_METRICS_TOKEN: /metrics answers only `Authorization: Bearer <it>` (empty: anyone). */
  metricsToken: string;
}

/**
 * How long /readyz waits for the database: one that accepts connections and never answers (a hung server, a
 * black-holed failover address) is not ready, and a load balancer's probe must hear so before its own timeout.
 */
const readyWithinMs = 2500;

/** `/healthz` (the process answers), `/readyz` (the database answers, migrations applied), `/metrics`. */
export async function opsRoutes(app: FastifyInstance, options: OpsOptions): Promise<void> {
  serializeWithJsonStringify(app);
  app.get('/healthz', { schema: { response: answers({ 200: Healthy }) } }, async () => ({ ok: true }));

  app.get('/readyz', { schema: { response: answers({ 200: ReadinessAnswer }) } }, async (request) => {
    try {
      await within(options.storage.checkReady(), readyWithinMs, () => new Error(`the database did not answer within ${readyWithinMs} ms`));
    } catch (error) {
      request.log.warn({ err: error }, 'not ready');
      // Anyone may ask: the driver's own error (host, port, user) goes to the log only. Which migrations are
      // missing (storage/shared/storage.ts) tells an operator what to run and reveals nothing.
      const message = (error as Error).message;
      throw new AppError('not_ready', { detail: message.startsWith('migrations not applied') ? message : 'database unavailable' });
    }
    if (!(await isAdmin(request))) return { ok: true };
    // Not a readiness condition: polling delivers what notifications would, only later.
    const listen = options.listenStatus();
    return {
      ok: true,
      detail: {
        database: options.storage.dialect,
        listen: listen && {
          connected: listen.connected,
          since: new Date(listen.since).toISOString(),
          reconnects: listen.reconnects,
          failed_attempts: listen.failedAttempts,
          last_error: listen.lastError,
        },
      },
    };
  });

  /** An admin key in the Authorization header; a missing or wrong one is no error here (load balancers ask). */
  async function isAdmin(request: FastifyRequest): Promise<boolean> {
    const presented = bearerKey(request);
    const key = presented ? await options.resolveKey(presented).catch(() => null) : null;
    return key?.scope === 'admin';
  }

  const mayReadMetrics = metricsAccess(options.metricsToken);
  app.get('/metrics', { schema: { response: answers({ 200: Media('text/plain', 'Prometheus\' text format.') }, 401) } }, async (request, reply) => {
    if (!mayReadMetrics(request)) throw new AppError('metrics_unauthorized');
    void reply.type(options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
}

/**
 * Whether a request may read /metrics: any when `token` (SWITCHBOARD_METRICS_TOKEN) is empty, else only one
 * with `Authorization: Bearer <token>`. Compared as digests of equal length, in constant time: how much of a
 * guess matched takes no longer. The route asks it, and so does the failed-authentication limit (server.ts),
 * which lets the right token through from an address over its limit and counts the wrong ones.
 */
export function metricsAccess(token: string): (request: FastifyRequest) => boolean {
  if (token === '') return () => true;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  const expected = digest(token);
  return (request) => {
    const presented = bearerKey(request);
    return presented !== undefined && presented !== '' && timingSafeEqual(digest(presented), expected);
  };
}
