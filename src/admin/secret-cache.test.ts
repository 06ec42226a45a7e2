import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import { hashSecret } from '../domain/secrets.js';
import { createSecretCache } from './secret-cache.js';

const shape = /^sbt_[A-Za-z0-9_-]{43}$/;
const token = (c: string) => `sbt_${c.repeat(43)}`;
/** Lets a background lookup that has its answer finish (its promise chain: a few turns of the microtask queue). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

function setup(options: { ttlMs?: number; maxEntries?: number; known?: Record<string, string> } = {}) {
  let clock = 1_000_000;
  const lookups: string[] = [];
  const byHash = new Map(Object.entries(options.known ?? {}).map(([secret, owner]) => [hashSecret(secret), owner]));
  const cache = createSecretCache<string>({
    shape,
    lookup: async (hash) => {
      lookups.push(hash);
      return byHash.get(hash) ?? null;
    },
    ttlMs: options.ttlMs,
    maxEntries: options.maxEntries,
    now: () => clock,
  });
  return {
    cache,
    lookups,
    byHash,
    advance(ms: number) { clock += ms; },
  };
}

describe('createSecretCache', () => {
  it('looks the secret up by its SHA-256 hex digest, never the secret itself', async () => {
    const { cache, lookups } = setup({ known: { [token('a')]: 'source A' } });
    await expect(cache.resolve(token('a'))).resolves.toBe('source A');
    expect(lookups).toEqual([hashSecret(token('a'))]);
    expect(lookups[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(lookups[0]).not.toContain('aaaa');
  });

  it('cached() answers what resolve() would from the cache, without a lookup; undefined when it would look up', async () => {
    const { cache, lookups, advance } = setup({ ttlMs: 1000, known: { [token('a')]: 'source A' } });
    expect(cache.cached(token('a'))).toBeUndefined();
    expect(cache.cached('sbt_short')).toBeNull();
    await cache.resolve(token('a'));
    await cache.resolve(token('b'));
    expect(cache.cached(token('a'))).toBe('source A');
    expect(cache.cached(token('b'))).toBeNull();
    expect(lookups).toHaveLength(2);
    advance(1001);
    expect(cache.cached(token('a'))).toBeUndefined();
    expect(cache.cached(token('b'))).toBeUndefined();
  });

  it('answers a repeated hit from the cache within the ttl', async () => {
    const { cache, lookups, advance } = setup({ ttlMs: 1000, known: { [token('a')]: 'source A' } });
    await cache.resolve(token('a'));
    advance(700); // the last fifth of the ttl is where a hit is refreshed (below)
    await expect(cache.resolve(token('a'))).resolves.toBe('source A');
    expect(lookups).toHaveLength(1);
  });

  it('refreshes a hit in use in the background near the end of its ttl, serving it meanwhile, so it never leaves the cache', async () => {
    const { cache, lookups, byHash, advance } = setup({ ttlMs: 1000, known: { [token('a')]: 'source A' } });
    await cache.resolve(token('a'));
    byHash.set(hashSecret(token('a')), 'source A, renamed');
    advance(850);
    // Served from the cache at once, and one lookup started however often it is asked for meanwhile.
    expect(cache.cached(token('a'))).toBe('source A');
    expect(cache.cached(token('a'))).toBe('source A');
    await expect(cache.resolve(token('a'))).resolves.toBe('source A');
    expect(lookups).toHaveLength(2);
    await Promise.resolve(); // the lookup's answer
    expect(cache.cached(token('a'))).toBe('source A, renamed');
    // Its ttl counts from the new lookup: past the first one's end, still cached.
    advance(500);
    expect(cache.cached(token('a'))).toBe('source A, renamed');
    expect(lookups).toHaveLength(2);
  });

  it('never serves a hit past its ttl: a refresh that finds the secret revoked, or that fails, leaves it to expire', async () => {
    let failing = false;
    const byHash = new Map([[hashSecret(token('a')), 'source A'], [hashSecret(token('b')), 'source B']]);
    let clock = 0;
    const cache = createSecretCache<string>({
      shape, ttlMs: 1000, now: () => clock,
      lookup: async (hash) => {
        if (failing) throw new Error('connect ECONNREFUSED');
        return byHash.get(hash) ?? null;
      },
    });
    await cache.resolve(token('a'));
    await cache.resolve(token('b'));
    byHash.delete(hashSecret(token('a'))); // revoked elsewhere
    clock = 900;
    expect(cache.cached(token('a'))).toBe('source A');
    await settled();
    expect(cache.cached(token('a'))).toBeNull(); // the refresh saw the revocation
    failing = true;
    expect(cache.cached(token('b'))).toBe('source B');
    await settled();
    clock = 999;
    expect(cache.cached(token('b'))).toBe('source B'); // the failed refresh left it as it was
    clock = 1000;
    expect(cache.cached(token('b'))).toBeUndefined();
    await expect(cache.resolve(token('b'))).rejects.toMatchObject({ code: 'storage_unavailable' });
  });

  it('looks a secret up once for all the requests that find it uncached at the same time', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const lookups: string[] = [];
    const cache = createSecretCache<string>({
      shape,
      lookup: async (hash) => {
        lookups.push(hash);
        await gate;
        return 'source A';
      },
    });
    const answers = Promise.all(Array.from({ length: 20 }, () => cache.resolve(token('a'))));
    release();
    expect(await answers).toEqual(Array(20).fill('source A'));
    expect(lookups).toHaveLength(1);
    await cache.resolve(token('b'));
    expect(lookups).toHaveLength(2);
  });

  it('does not remember what a lookup under way at clear() read (it may predate a revocation)', async () => {
    let release!: () => void;
    let gate = new Promise<void>((resolve) => (release = resolve));
    const byHash = new Map([[hashSecret(token('a')), 'source A']]);
    const lookups: string[] = [];
    const cache = createSecretCache<string>({
      shape,
      lookup: async (hash) => {
        lookups.push(hash);
        const answer = byHash.get(hash) ?? null; // read before the revocation
        await gate;
        return answer;
      },
    });
    const before = cache.resolve(token('a'));
    byHash.delete(hashSecret(token('a')));
    cache.clear(); // the revocation on this node
    release();
    await expect(before).resolves.toBe('source A'); // a request that came before it
    expect(cache.cached(token('a'))).toBeUndefined();
    gate = Promise.resolve();
    await expect(cache.resolve(token('a'))).resolves.toBeNull();
    expect(lookups).toHaveLength(2);
  });

  it('caches misses too', async () => {
    const { cache, lookups, advance } = setup({ ttlMs: 1000 });
    await expect(cache.resolve(token('x'))).resolves.toBeNull();
    advance(500);
    await expect(cache.resolve(token('x'))).resolves.toBeNull();
    expect(lookups).toHaveLength(1);
  });

  it('looks again once the ttl has passed, and sees a change then', async () => {
    const { cache, lookups, byHash, advance } = setup({ ttlMs: 1000, known: { [token('a')]: 'source A' } });
    await cache.resolve(token('a'));
    byHash.delete(hashSecret(token('a'))); // revoked elsewhere
    advance(500);
    await expect(cache.resolve(token('a'))).resolves.toBe('source A');
    advance(500); // exactly ttl after the lookup: expired
    await expect(cache.resolve(token('a'))).resolves.toBeNull();
    expect(lookups).toHaveLength(2);
  });

  it('defaults the ttl to 5 seconds', async () => {
    const { cache, lookups, advance } = setup();
    await cache.resolve(token('a'));
    advance(4_999);
    await cache.resolve(token('a'));
    expect(lookups).toHaveLength(1);
    advance(1);
    await cache.resolve(token('a'));
    expect(lookups).toHaveLength(2);
  });

  it('keeps different secrets apart', async () => {
    const { cache } = setup({ known: { [token('a')]: 'source A', [token('b')]: 'source B' } });
    await expect(cache.resolve(token('a'))).resolves.toBe('source A');
    await expect(cache.resolve(token('b'))).resolves.toBe('source B');
    await expect(cache.resolve(token('c'))).resolves.toBeNull();
    await expect(cache.resolve(token('a'))).resolves.toBe('source A');
  });

  it('refuses secrets of the wrong shape without a lookup', async () => {
    const { cache, lookups } = setup({ known: { [token('a')]: 'source A' } });
    for (const wrong of ['', 'sbt_short', `sbk_${'a'.repeat(43)}`, `${token('a')}x`, `sbt_${'a'.repeat(42)}!`, ` ${token('a')}`]) {
      await expect(cache.resolve(wrong), wrong).resolves.toBeNull();
    }
    expect(lookups).toEqual([]);
  });

  it('clear() forgets cached hits and misses at once', async () => {
    const { cache, lookups, byHash } = setup({ ttlMs: 60_000, known: { [token('a')]: 'source A' } });
    await cache.resolve(token('a'));
    await cache.resolve(token('b'));
    byHash.delete(hashSecret(token('a')));
    byHash.set(hashSecret(token('b')), 'source B');
    cache.clear();
    await expect(cache.resolve(token('a'))).resolves.toBeNull();
    await expect(cache.resolve(token('b'))).resolves.toBe('source B');
    expect(lookups).toHaveLength(4);
  });

  it('holds at most maxEntries secrets, dropping the oldest first', async () => {
    const { cache, lookups } = setup({ maxEntries: 2, ttlMs: 60_000 });
    await cache.resolve(token('a'));
    await cache.resolve(token('b'));
    await cache.resolve(token('c')); // evicts a
    expect(lookups).toHaveLength(3);
    await cache.resolve(token('c'));
    await cache.resolve(token('b'));
    expect(lookups).toHaveLength(3);
    await cache.resolve(token('a')); // looked up again, evicts b
    expect(lookups).toHaveLength(4);
    await cache.resolve(token('b'));
    expect(lookups).toHaveLength(5);
  });

  it('stays bounded under a flood of distinct bogus secrets', async () => {
    const { cache, lookups } = setup({ maxEntries: 10, ttlMs: 60_000 });
    const flood = Array.from({ length: 100 }, (_, i) => `sbt_${i.toString().padStart(43, '0')}`);
    for (const secret of flood) await cache.resolve(secret);
    expect(lookups).toHaveLength(100);
    // only the last 10 are still cached
    for (const secret of flood.slice(-10)) await cache.resolve(secret);
    expect(lookups).toHaveLength(100);
    await cache.resolve(flood[0]!);
    expect(lookups).toHaveLength(101);
  });
  it('keeps valid secrets cached through a flood of misses (hits and misses are held apart)', async () => {
    const { cache, lookups } = setup({ maxEntries: 2, ttlMs: 60_000, known: { [token('a')]: 'source A' } });
    await cache.resolve(token('a'));
    for (let i = 0; i < 50; i++) await cache.resolve(`sbt_${i.toString().padStart(43, '0')}`);
    expect(lookups).toHaveLength(51);
    await expect(cache.resolve(token('a'))).resolves.toBe('source A');
    expect(lookups).toHaveLength(51);
  });

  it('isKnown() tells a secret that resolved before (even once expired) from one that never did', async () => {
    const { cache, advance } = setup({ ttlMs: 1000, known: { [token('a')]: 'source A' } });
    await cache.resolve(token('a'));
    await cache.resolve(token('b'));
    advance(5000);
    expect(cache.isKnown(token('a'))).toBe(true);
    expect(cache.isKnown(token('b'))).toBe(false);
    expect(cache.isKnown('nonsense')).toBe(false);
  });

  it('turns a failing lookup into storage_unavailable (503), with the message of the entry it was given', async () => {
    const cache = createSecretCache({ shape, lookup: async () => { throw new Error('connect ECONNREFUSED 127.0.0.1:5432'); }, unavailable: 'key_check_unavailable' });
    const error = await cache.resolve(token('a')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'storage_unavailable', status: 503, message: 'The database is unavailable: the API key could not be checked. Retry later.' });
  });
});

describe('a lookup the database never answers', () => {
  it('fails after lookupTimeoutMs with storage_unavailable (or its own entry), is not shared with later requests, and is tried again', async () => {
    let answering = false;
    const cache = createSecretCache<string>({
      shape, lookupTimeoutMs: 50, unavailable: 'key_check_unavailable',
      lookup: (hash) => (answering ? Promise.resolve(hash === hashSecret(token('a')) ? 'source A' : null) : new Promise<never>(() => {})),
    });
    const started = Date.now();
    await expect(cache.resolve(token('a'))).rejects.toMatchObject({ code: 'storage_unavailable', kind: 'key_check_unavailable' });
    expect(Date.now() - started).toBeLessThan(1000);
    answering = true;
    expect(await cache.resolve(token('a'))).toBe('source A');
  });
});
