import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import { AppError } from '../domain/errors.js';
import { createRateLimits } from '../relay/rate-limit.js';
import { clientAddress } from './auth-misses.js';

/**
 * Request limits (in memory, per node). The API: per API key, by its id once the route has resolved it to an
 * active key, and per person signed in to the dashboard (all their sessions together; per address for requests
 * with neither, or with a key or cookie that is unknown, revoked or ended; an IPv6 address
 * by its /64: auth-misses.ts's clientAddress), with `@fastify/rate-limit`. The ingest: per source, checked by the route once the token has named its source
 * (`createSourceLimiter`), which costs no second hash of the token and keeps one budget across a rotation.
 * Health, metrics and the docs are not limited.
 *
 * Register on the root instance (the plugin is not encapsulated, so its hook covers every route).
 */
export function rateLimitOptions(limits: { apiPerMin: number }): RateLimitPluginOptions {
  return {
    global: true,
    timeWindow: 60_000,
    max: limits.apiPerMin,
    // The route's requireScope (a hook of its context, run before this route-level one) has resolved the
    // key: only a real, active key gets a bucket of its own. An unknown or revoked key, or a key on a route
    // that takes none (sign-in, setup), counts against the address: a new junk key per request is no new bucket.
    // The session cookie as session-auth.ts (a hook of the /v1 context, also before) accepted it: a live
    // session's person gets one bucket for all their sessions; a junk, expired or signed-out cookie has none.
    keyGenerator: (request) => {
      if (request.apiKey) return `key ${request.apiKey.id}`;
      const person = request.cookieSession?.user.id;
      return person !== undefined ? `user ${person}` : `ip ${clientAddress(request.ip)}`;
    },
    allowList: (request) => /^\/(healthz|readyz|metrics|openapi\.json|docs|hooks)(\/|$|\?)/.test(request.url),
    errorResponseBuilder: (_request, context) => new AppError('rate_limited', { retry_after_sec: Math.ceil(context.ttl / 1000) }),
  };
}

/**
 * A token bucket per source holding a minute's allowance, refilled continuously (the relay's buckets with a
 * minute's burst): `take(sourceId)` answers 0 when the request may go on, else the milliseconds until it could.
 *
 * @example
 * const limit = createSourceLimiter(1_200_000);
 * limit.take('src_1'); // 0
 */
export function createSourceLimiter(perMin: number, now: () => number = () => performance.now()) {
  const buckets = createRateLimits(now);
  return {
    take(sourceId: string): number {
      const slot = buckets.take(sourceId, perMin / 60, 0, 60_000);
      return 'retryInMs' in slot ? Math.ceil(slot.retryInMs) : 0;
    },
  };
}
