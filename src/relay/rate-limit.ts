/**
 * Per-destination rate limits for outbound webhooks: a token bucket per destination (burst = one second's
 * worth), on the real clock. `reserve` takes a token and says how long to wait before using it.
 */
export function createRateLimits(clock: () => number = () => performance.now()) {
  const buckets = new Map<string, { next: number }>();
  return {
    /** Milliseconds to wait before sending (0: now); null/0 rate means unlimited. */
    reserve(key: string, perSecond: number | null): number {
      if (!perSecond || perSecond <= 0) return 0;
      const interval = 1000 / perSecond;
      const t = clock();
      // A new bucket is full: a second's burst goes out at once.
      const bucket = buckets.get(key) ?? { next: -Infinity };
      // A bucket that sat idle refills up to one second's burst, no more.
      const start = Math.max(bucket.next, t - 1000 + interval);
      bucket.next = start + interval;
      buckets.set(key, bucket);
      return Math.max(0, start - t);
    },
  };
}
