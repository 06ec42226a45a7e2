import { createPaceBuckets } from '../domain/pace.js';

/**
 * Token buckets per key, on the real clock: per source for the ingest (api/rate-limits.ts: a minute's worth
 * of burst). One process's: a destination's rate goes through the outbox (Outbox.pace), shared by a cluster.
 *
 * @example
 * const limits = createRateLimits();
 * const wait = limits.take('src_…', 10, 1000); // ms to wait before sending, or retryInMs: not within a second
 */
export function createRateLimits(clock: () => number = () => performance.now()) {
  const buckets = createPaceBuckets(clock);
  return {
    /**
     * Takes a token when one is free within `maxWaitMs` and says how long to wait for it (0: now); else
     * takes nothing and answers `retryInMs`: when one will be. null/0 rate: unlimited. `burstMs`: how much
     * idle time a bucket saves up (domain/pace.ts).
     */
    take(key: string, perSecond: number | null, maxWaitMs: number, burstMs = 1000): { waitMs: number } | { retryInMs: number } {
      const { waits, retryInMs } = buckets.reserve(key, perSecond, 1, maxWaitMs, burstMs);
      return waits.length > 0 ? { waitMs: waits[0]! } : { retryInMs: retryInMs! };
    },
  };
}
