/**
 * A rate as a bucket of send slots, one every 1000 / rate ms, apart from where the bucket is kept: in memory
 * (one process: relay/rate-limit.ts, SQLite's outbox) or in a destination's row, shared by every worker of a
 * PostgreSQL cluster (postgres/deliveries.ts states the same arithmetic in SQL). `next` is when the bucket's
 * next free slot is (null: a new bucket); a bucket that sat idle saves up `burstMs` of slots, no more, so a
 * new or idle one lets one burst's worth out at once.
 *
 * @example
 * reserveSlots(null, 0, 4, 6, 1000); // { waits: [0, 0, 0, 0, 250, 500], retryInMs: null, next: 750 }
 */
export interface Reservation {
  /** Each reserved slot's wait from `t` (ms, ascending); fewer than asked when the rest lie beyond `maxWaitMs`. */
  waits: number[];
  /** When the first slot not reserved is, from `t` (null: all were reserved). */
  retryInMs: number | null;
  /** The bucket's next free slot after the reservation. */
  next: number;
}

/** Reserves up to `count` slots at time `t`, only those that come within `maxWaitMs`. */
export function reserveSlots(next: number | null, t: number, perSecond: number, count: number, maxWaitMs: number, burstMs = 1000): Reservation {
  const interval = 1000 / perSecond;
  const first = Math.max(next ?? Number.NEGATIVE_INFINITY, t - burstMs + interval);
  // How many slots lie within the wait (a slot exactly at the bound counts; the epsilon absorbs float error).
  const fit = Math.min(count, Math.max(0, Math.floor((t + maxWaitMs - first) / interval + 1e-9) + 1));
  const waits = Array.from({ length: fit }, (_, i) => Math.max(0, first + i * interval - t));
  return { waits, retryInMs: fit < count ? first + fit * interval - t : null, next: first + fit * interval };
}

/** Buckets per key in memory, on `clock` (ms). null/0 rate: unlimited (every wait 0). */
export function createPaceBuckets(clock: () => number) {
  const buckets = new Map<string, number>();
  return {
    reserve(key: string, perSecond: number | null, count: number, maxWaitMs: number, burstMs = 1000): Omit<Reservation, 'next'> {
      if (!perSecond || perSecond <= 0) return { waits: new Array<number>(count).fill(0), retryInMs: null };
      const r = reserveSlots(buckets.get(key) ?? null, clock(), perSecond, count, maxWaitMs, burstMs);
      if (r.waits.length > 0) buckets.set(key, r.next);
      return { waits: r.waits, retryInMs: r.retryInMs };
    },
  };
}
