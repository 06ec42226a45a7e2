import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import { sendError } from './errors.js';

/**
 * The limit that holds before authentication. The per-key limits (rate-limits.ts) start once a request
 * names a key; a request with a missing or unknown key, or an unknown ingest token, costs a database lookup
 * each and would never be limited. So every such miss counts against the client's address, and an address
 * with `perMin` misses within its minute gets 429 `rate_limited` with Retry-After until the minute is over,
 * before any lookup. Requests that present a secret valid on this node recently (`isKnown`) still pass: a
 * neighbour behind the same address (a NAT, Convolo's senders posting to a revoked source beside the live
 * ones) must not lock the valid ones out. An address is counted as `clientAddress` says (an IPv6 one by its /64).
 *
 * Register on the root instance, before the routes.
 */
export interface AuthMissOptions {
  perMin: number;
  /** The requests the limit applies to: those that authenticate (health checks and docs stay open). */
  covers: (request: FastifyRequest) => boolean;
  /** Whether the request carries a secret that resolved recently (the secret caches' `isKnown`). */
  isKnown: (request: FastifyRequest) => boolean;
  /** Whether this answer is a failed authentication. */
  isMiss: (request: FastifyRequest, statusCode: number) => boolean;
  /**
   * Requests with limits of their own (sign-ins, password changes) or that look nothing up: never refused
   * here, and their 401s are no misses. A neighbour's misses must not keep the people behind the address
   * from signing in.
   */
  ownLimited?: (request: FastifyRequest) => boolean;
  /**
   * The answer, instead of 429, for a request from an address over its limit that presents nothing known, when
   * its route has a plainer one that needs no lookup: the dashboard's "who am I" with an expired cookie is "not
   * signed in" (its sign-in form, which has limits of its own), not an error page.
   */
  answerWhenBlocked?: (request: FastifyRequest) => AppError | undefined;
  now?: () => number;
  /** Addresses tracked at once; the oldest windows go first beyond it. */
  maxAddresses?: number;
}

const minuteMs = 60_000;

/**
 * The client an address is counted as by the limits kept per address (failed authentications, failed
 * sign-ins, the API's requests without a key): an IPv4 address as it is (an IPv4-mapped IPv6 one, as the
 * IPv4 address it maps), an IPv6 address as its /64, the least one subscriber gets. Counted by whole
 * IPv6 addresses, one client rotating through its 2^64 would never reach a limit.
 *
 * @example
 * clientAddress('2001:db8:1:2::7'); // '2001:db8:1:2::/64'
 * clientAddress('::ffff:10.0.0.1'); // '10.0.0.1'
 */
export function clientAddress(ip: string): string {
  if (!ip.includes(':')) return ip;
  const address = ip.split('%')[0]!.toLowerCase();
  const mapped = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  // With '::', the groups it stands for are zeros; an embedded IPv4 tail is past the first 64 bits anyway.
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8).fill('0')];
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}

export function authMissLimit(app: FastifyInstance, options: AuthMissOptions): void {
  const misses = createMissCounter({ perMin: options.perMin, now: options.now, maxAddresses: options.maxAddresses });
  // Callback hooks (no promise per request: nul-guard.ts). Answering early, a callback hook sends and does not call done.
  app.addHook('onRequest', (request, reply, done) => {
    if (!options.covers(request) || options.ownLimited?.(request) === true) return done();
    const waitMs = misses.blockedFor(clientAddress(request.ip));
    if (waitMs === 0 || options.isKnown(request)) return done();
    sendError(request, reply, options.answerWhenBlocked?.(request) ?? new AppError('auth_misses', { retry_after_sec: Math.ceil(waitMs / 1000) }));
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (options.isMiss(request, reply.statusCode) && options.ownLimited?.(request) !== true) misses.miss(clientAddress(request.ip));
    done();
  });
}

/**
 * Misses per address in fixed one-minute windows (a window opens with an address's first miss); `windowMs`
 * sets another length (the sign-in limits count failures over 15 minutes, api/login-limits.ts), `perMin` is
 * then the most per window.
 *
 * @example
 * const misses = createMissCounter({ perMin: 2 });
 * misses.miss('10.0.0.1'); misses.miss('10.0.0.1');
 * misses.blockedFor('10.0.0.1'); // ≈ 60000
 */
export function createMissCounter(options: { perMin: number; now?: () => number; maxAddresses?: number; windowMs?: number }) {
  const now = options.now ?? Date.now;
  const windowMs = options.windowMs ?? minuteMs;
  const maxAddresses = options.maxAddresses ?? 100_000;
  // Insertion order is window order: a window is re-inserted when it opens, so expired ones are in front.
  const windows = new Map<string, { start: number; count: number }>();

  function current(address: string, t: number) {
    const w = windows.get(address);
    return w && t - w.start < windowMs ? w : undefined;
  }

  return {
    /** Milliseconds until `address` may try again, 0 when it may now. */
    blockedFor(address: string): number {
      const t = now();
      const w = current(address, t);
      return w && w.count >= options.perMin ? w.start + windowMs - t : 0;
    },
    miss(address: string): void {
      const t = now();
      const w = current(address, t);
      if (w) {
        w.count++;
        return;
      }
      windows.delete(address);
      for (const [key, old] of windows) {
        if (t - old.start < windowMs && windows.size < maxAddresses) break;
        windows.delete(key);
      }
      windows.set(address, { start: t, count: 1 });
    },
    /** Takes one miss back (a sign-in counted as failed while its password was checked, which was right). */
    forgive(address: string): void {
      const w = current(address, now());
      if (w && w.count > 0) w.count--;
    },
    /** Forgets the address's misses (a successful sign-in clears its account's). */
    clear(address: string): void {
      windows.delete(address);
    },
  };
}
