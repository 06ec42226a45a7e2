import { hashSecret } from '../domain/secrets.js';

/**
 * Resolves a presented secret (source token, API key) to what it belongs to, by its SHA-256 digest.
 * Looking up the digest, never the secret, means no comparison ever runs on attacker-chosen prefixes, so the
 * cost of a lookup does not depend on how much of a guess matches. Results, misses included, are cached
 * for `ttlMs` so a flood of bogus tokens does not reach the database; a revocation made on another node
 * takes effect within that time.
 */
export function createSecretCache<T>(options: {
  shape: RegExp;
  lookup: (hash: string) => Promise<T | null>;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}) {
  const ttlMs = options.ttlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: T | null; expires: number }>();

  return {
    async resolve(secret: string): Promise<T | null> {
      if (!options.shape.test(secret)) return null;
      const hash = hashSecret(secret);
      const hit = cache.get(hash);
      if (hit && hit.expires > now()) return hit.value;
      const value = await options.lookup(hash);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      cache.set(hash, { value, expires: now() + ttlMs });
      return value;
    },
    /** Forget everything: after a local rotation or revocation, so this node sees it at once. */
    clear(): void {
      cache.clear();
    },
  };
}
