import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AppError } from '../domain/errors.js';
import { hashSecret } from '../domain/secrets.js';
import { bearerKey } from './auth.js';
import { clientAddress } from './auth-misses.js';

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
 * Hooks holding at most `perKey` expensive requests per API key, per person signed in to the dashboard (all
 * their sessions together; the session cookie as session-auth.ts accepted it, so that hook must run first)
 * and per address for the rest, at once; one more
 * answers 429 `rate_limited` with Retry-After, so one client looping heavy reports cannot take every reader
 * from the others. A slot is held until the response has ended (a CSV export: until its last byte, or the
 * client leaves) AND the handler has produced its answer: a client that leaves while its stats still run does
 * not free the slot its database read still holds (20 quick reloads of a year of analytics otherwise ran 20
 * reads at once and held the board's live rows back for seconds). In memory, per node, as the rate limits.
 *
 * @example
 * const expensive = limitExpensive(2);
 * app.addHook('onRequest', expensive.onRequest);
 * app.addHook('onSend', expensive.onSend);
 */
export function limitExpensive(perKey: number) {
  const running = new Map<string, number>();
  /** Per request holding a slot: called once by each of the two ends; the second frees the slot. */
  const ends = new WeakMap<FastifyRequest, () => void>();
  return {
    // Callback hooks: they run on every request (no promise each, nul-guard.ts).
    onRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
      if (!isExpensive(request)) return done();
      const presented = bearerKey(request);
      // The cookie's session when session-auth.ts accepted it (it runs before this hook): its person's slots.
      const person = presented ? undefined : request.cookieSession?.user.id;
      const key = presented ? `key ${hashSecret(presented)}` : person !== undefined ? `user ${person}` : `ip ${clientAddress(request.ip)}`;
      const count = running.get(key) ?? 0;
      if (count >= perKey) return done(new AppError('rate_limited', { retry_after_sec: 1, detail: `at most ${perKey} expensive requests (stats, CSV export, search, replay) per key or signed-in person at once` }));
      running.set(key, count + 1);
      let waiting = 2;
      const end = () => {
        if (--waiting > 0) return;
        const left = (running.get(key) ?? 1) - 1;
        if (left > 0) running.set(key, left);
        else running.delete(key);
      };
      ends.set(request, end);
      // The response's 'close' comes once it has ended or its connection went away. An answer pipelined behind
      // another on its connection never had the socket, and never says it closed: the connection's 'close' ends it.
      const connection = request.raw.socket;
      let responded = false;
      const responseEnded = () => {
        if (responded) return; // both may come (the connection's close also closes the response)
        responded = true;
        reply.raw.off('close', responseEnded);
        connection?.off('close', responseEnded);
        end();
      };
      reply.raw.once('close', responseEnded);
      connection?.once('close', responseEnded);
      done();
    },
    // Fastify calls onSend when the handler answered (or failed), also after the client has gone.
    onSend(request: FastifyRequest, _reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void): void {
      const end = ends.get(request);
      if (end) {
        ends.delete(request);
        end();
      }
      done(null, payload);
    },
  };
}
