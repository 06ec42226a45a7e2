import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import { hashSecret } from '../domain/secrets.js';
import { bearerKey } from './auth.js';

/**
 * The requests whose cost grows with the data rather than the request (SWITCHBOARD_EXPENSIVE_PER_KEY): stats,
 * the CSV export, the call list's substring search `q` (it scans), a destination replay (it reads the log).
 */
export function isExpensive(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route === '/v1/calls') return (request.query as { q?: unknown } | undefined)?.q !== undefined;
  return route === '/v1/stats' || route === '/v1/calls.csv' || (route === '/v1/destinations/:id/replay' && request.method === 'POST');
}

/**
 * An onRequest hook: at most `perKey` expensive requests per API key (per address without one) run at once;
 * one more answers 429 `rate_limited` with Retry-After, so one client looping heavy reports cannot take every
 * reader from the others. A slot is held until the response ends (a CSV export: until its last byte, or the
 * client leaves). In memory, per node, as the request rate limits.
 *
 * @example
 * app.addHook('onRequest', limitExpensive(2));
 */
export function limitExpensive(perKey: number) {
  const running = new Map<string, number>();
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!isExpensive(request)) return;
    const presented = bearerKey(request);
    const key = presented ? `key ${hashSecret(presented)}` : `ip ${request.ip}`;
    const count = running.get(key) ?? 0;
    if (count >= perKey) throw new AppError('rate_limited', { retry_after_sec: 1, detail: `at most ${perKey} expensive requests (stats, CSV export, search, replay) per key at once` });
    running.set(key, count + 1);
    // 'close' comes once the response has ended or the connection went away, whichever the case.
    reply.raw.once('close', () => {
      const left = (running.get(key) ?? 1) - 1;
      if (left > 0) running.set(key, left);
      else running.delete(key);
    });
  };
}
