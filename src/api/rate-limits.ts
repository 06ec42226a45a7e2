import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import { hashSecret } from '../domain/secrets.js';
import { bearerKey } from './auth.js';

/**
 * Request limits (in memory, per node): per source token on the ingest, per API key on the API (per
 * address for requests without one). Health, metrics and the docs are not limited. The secrets are
 * hashed before they become keys of the limiter's table, as in the secret cache.
 *
 * Register on the root instance (the plugin is not encapsulated, so its hook covers every route).
 *
 * @example
 * void server.register(rateLimit, rateLimitOptions({ apiPerMin: 6000, ingestPerMin: 1_200_000 }));
 */
export function rateLimitOptions(limits: { apiPerMin: number; ingestPerMin: number }): RateLimitPluginOptions {
  return {
    global: true,
    timeWindow: 60_000,
    max: (request) => (isIngest(request) ? limits.ingestPerMin : limits.apiPerMin),
    keyGenerator: (request) => {
      if (isIngest(request)) return `source ${hashSecret((request.params as { token?: string }).token ?? '')}`;
      const key = bearerKey(request) ?? (request.query as { access_token?: unknown } | undefined)?.access_token;
      return typeof key === 'string' && key !== '' ? `key ${hashSecret(key)}` : `ip ${request.ip}`;
    },
    allowList: (request) => /^\/(healthz|readyz|metrics|openapi\.json|docs)(\/|$|\?)/.test(request.url),
    errorResponseBuilder: (_request, context) => new AppError('rate_limited', { retry_after_sec: Math.ceil(context.ttl / 1000) }),
  };
}

function isIngest(request: FastifyRequest): boolean {
  return request.url.startsWith('/hooks/');
}
