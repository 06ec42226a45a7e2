import { AppError } from '../domain/errors.js';
import { hashSecret } from '../domain/secrets.js';
import { within } from '../runtime/deadline.js';

/**
 * Resolves a presented secret (source token, API key) to what it belongs to, by its SHA-256 digest.
 * Looking up the digest, never the secret, means no comparison ever runs on attacker-chosen prefixes, so the
 * cost of a lookup does not depend on how much of a guess matches. Results are cached for `ttlMs`, so a
 * revocation made on another node takes effect within that time (at once where it is announced: app.ts). Hits and misses are cached apart, each
 * holding at most `maxEntries`: a flood of bogus secrets (each a miss) can only push out other misses,
 * never the valid secrets serving real traffic. (What bounds the lookups such a flood costs is the limit on
 * failed attempts per address, api/auth-misses.ts.)
 *
 * A lookup that fails (the database is unreachable, or silent for `lookupTimeoutMs`) throws `storage_unavailable` (503 with Retry-After), so
 * the sender retries, rather than a 500; `unavailable` picks the entry that says what could not be done.
 *
 * A secret in use is never looked up by many requests at once, and never leaves the cache while it is used:
 *  - one lookup at a time per secret: the requests that find it uncached share the lookup under way;
 *  - a hit seen in the last `refreshAheadMs` of its life (default: the last fifth of the ttl, at most 1 s)
 *    starts that lookup in the background and is served meanwhile. A steady sender's token thus stays cached,
 *    where each expiry used to send every request of the next few milliseconds to a lookup of its own (and
 *    the ingest's off its fast path). No entry is served past its ttl: a revocation still takes effect
 *    within `ttlMs` of the last lookup.
 */
export function createSecretCache<T>(options: {
  shape: RegExp;
  lookup: (hash: string) => Promise<T | null>;
  ttlMs?: number;
  refreshAheadMs?: number;
  maxEntries?: number;
  now?: () => number;
  unavailable?: 'storage_unavailable' | 'key_check_unavailable' | 'session_check_unavailable';
  /** How long a lookup may take before it is answered as failed (default 5 s). */
  lookupTimeoutMs?: number;
}) {
  const ttlMs = options.ttlMs ?? 5_000;
  const refreshAheadMs = options.refreshAheadMs ?? Math.min(1000, ttlMs / 5);
  const maxEntries = options.maxEntries ?? 10_000;
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 5_000;
  const now = options.now ?? Date.now;
  const hits = new Map<string, { value: T; expires: number }>();
  const misses = new Map<string, number>();
  /**
   * The hashes whose last lookup found something, kept through clear(): an address over its limit on failed
   * authentications lets them through (isKnown), and someone else's revocation must not lock them out. One
   * that has ended is let through to a lookup once, which finds it gone and forgets it.
   */
  const known = new Map<string, true>();
  /** The lookup under way for each hash, shared by whoever needs it meanwhile. */
  const lookups = new Map<string, Promise<T | null>>();
  /** Bumped by clear(): a lookup that started before is answered but not remembered (it may have read what was just revoked). */
  let generation = 0;

  /** Insertion order is age: the oldest entry goes first once a map is full. */
  function remember<V>(map: Map<string, V>, hash: string, entry: V): void {
    map.delete(hash);
    if (map.size >= maxEntries) map.delete(map.keys().next().value!);
    map.set(hash, entry);
  }

  /** The hash's lookup: the one under way, or a new one whose answer is cached. */
  function lookUp(hash: string): Promise<T | null> {
    const underWay = lookups.get(hash);
    if (underWay) return underWay;
    const startedIn = generation;
    // One indexed read: unanswered after this long, the database is not answering (a hung server, a black-holed
    // address, a pooled connection gone silent), and every request needing the secret would wait on it for ever.
    const read = within(options.lookup(hash), lookupTimeoutMs, () => new Error(`the database did not answer a lookup within ${lookupTimeoutMs} ms`));
    const lookup = read.then(
      (value) => {
        if (value === null) known.delete(hash);
        else remember(known, hash, true);
        if (startedIn !== generation) return value;
        if (value === null) {
          hits.delete(hash);
          remember(misses, hash, now() + ttlMs);
        } else {
          misses.delete(hash);
          remember(hits, hash, { value, expires: now() + ttlMs });
        }
        return value;
      },
      (cause: unknown) => {
        throw new AppError(options.unavailable ?? 'storage_unavailable', {}, { cause });
      },
    );
    const settled = () => {
      if (lookups.get(hash) === lookup) lookups.delete(hash);
    };
    lookup.then(settled, settled);
    lookups.set(hash, lookup);
    return lookup;
  }

  /** What the cache says of a secret's hash (null: a malformed secret): its value, null (malformed, or a recent miss), undefined (to look up). */
  function cachedByHash(hash: string | null): T | null | undefined {
    if (hash === null) return null;
    const t = now();
    const hit = hits.get(hash);
    if (hit && hit.expires > t) {
      // Near its end: refreshed in the background (a failure is the next resolve()'s to report, once it expired).
      if (hit.expires - t <= refreshAheadMs && !lookups.has(hash)) lookUp(hash).catch(() => {});
      return hit.value;
    }
    const missExpires = misses.get(hash);
    if (missExpires !== undefined && missExpires > t) return null;
    return undefined;
  }
  const hashOf = (secret: string) => (options.shape.test(secret) ? hashSecret(secret) : null);

  return {
    async resolve(secret: string): Promise<T | null> {
      const hash = hashOf(secret);
      const known = cachedByHash(hash);
      if (known !== undefined) return known;
      return lookUp(hash!);
    },
    /** What resolve() would answer at once from the cache, without a promise; undefined when it would look the secret up. */
    cached(secret: string): T | null | undefined {
      return cachedByHash(hashOf(secret));
    },
    /**
     * Whether this secret's last lookup found something (a clear() since does not change that): such a secret
     * is served even from an address over its failed-attempt limit.
     */
    isKnown(secret: string): boolean {
      return options.shape.test(secret) && known.has(hashSecret(secret));
    },
    /** Forget every lookup's answer: after a local rotation or revocation, so this node sees it at once. */
    clear(): void {
      generation++;
      lookups.clear();
      hits.clear();
      misses.clear();
    },
  };
}
