/**
 * Token buckets per key, on the real clock: per destination for outbound webhooks (burst = one second's
 * worth, the default), per source for the ingest (api/rate-limits.ts: a minute's worth).
 *
 * @example
 * const limits = createRateLimits();
 * const wait = limits.take('dst_…', 10, 1000); // ms to wait before sending, or null: not within a second
 */
export function createRateLimits(clock: () => number = () => performance.now()) {
  const buckets = new Map<string, { next: number }>();
  return {
    /**
     * Takes a token when one is free within `maxWaitMs` and says how long to wait for it (0: now); else
     * takes nothing and answers null, with `retryInMs` set to when one will be. null/0 rate: unlimited.
     * Waiting is bounded so that a slow destination holds few of the worker's send slots; the rest go back
     * to the outbox, due again when the bucket has room. `burstMs`: how much idle time a bucket saves up.
     */
    take(key: string, perSecond: number | null, maxWaitMs: number, burstMs = 1000): { waitMs: number } | { retryInMs: number } {
      if (!perSecond || perSecond <= 0) return { waitMs: 0 };
      const interval = 1000 / perSecond;
      const t = clock();
      // A new bucket is full: a burst's worth goes out at once.
      const bucket = buckets.get(key) ?? { next: -Infinity };
      buckets.set(key, bucket);
      // A bucket that sat idle refills up to one burst, no more.
      const start = Math.max(bucket.next, t - burstMs + interval);
      const waitMs = Math.max(0, start - t);
      if (waitMs > maxWaitMs) return { retryInMs: waitMs };
      bucket.next = start + interval;
      return { waitMs };
    },
  };
}
