import { describe, expect, it } from 'vitest';
import { createPaceBuckets, reserveSlots } from './pace.js';

describe('reserving send slots of a rate', () => {
  it('lets a new bucket burst one second, then spaces the slots by 1/rate, reserving only those within the wait', () => {
    expect(reserveSlots(null, 10_000, 4, 8, 1000)).toEqual({ waits: [0, 0, 0, 0, 250, 500, 750, 1000], retryInMs: null, next: 11_250 });
    // Past the longest wait: not reserved (the bucket keeps none of them), and when the first of them would be.
    expect(reserveSlots(null, 10_000, 4, 12, 1000)).toEqual({ waits: [0, 0, 0, 0, 250, 500, 750, 1000], retryInMs: 1250, next: 11_250 });
    expect(reserveSlots(12_000, 10_000, 4, 3, 1000)).toEqual({ waits: [], retryInMs: 2000, next: 12_000 });
  });

  it('continues from the bucket as it was left, and saves up no more than the burst while idle', () => {
    expect(reserveSlots(10_500, 10_000, 2, 2, 1000)).toEqual({ waits: [500, 1000], retryInMs: null, next: 11_500 });
    expect(reserveSlots(10_500, 70_000, 2, 3, 1000)).toEqual({ waits: [0, 0, 500], retryInMs: null, next: 71_000 });
  });

  it('reserves the same slots one at a time as all at once (the in-memory buckets and the shared row agree)', () => {
    for (const rate of [1, 3, 7, 10, 333, 10_000]) {
      const all = reserveSlots(null, 5000, rate, 50, 1000);
      let next: number | null = null;
      const one: number[] = [];
      for (let i = 0; i < 50; i++) {
        const r = reserveSlots(next, 5000, rate, 1, 1000);
        if (r.waits.length === 0) break;
        one.push(r.waits[0]!);
        next = r.next;
      }
      expect(one).toHaveLength(all.waits.length);
      one.forEach((w, i) => expect(w).toBeCloseTo(all.waits[i]!, 6));
    }
  });

  it('keeps buckets per key in memory; a destination without a rate waits for nothing', () => {
    let t = 0;
    const buckets = createPaceBuckets(() => t);
    expect(buckets.reserve('a', 2, 3, 1000)).toEqual({ waits: [0, 0, 500], retryInMs: null });
    expect(buckets.reserve('b', 2, 1, 1000)).toEqual({ waits: [0], retryInMs: null });
    expect(buckets.reserve('a', 2, 2, 1000)).toEqual({ waits: [1000], retryInMs: 1500 });
    t += 1000;
    expect(buckets.reserve('a', 2, 1, 1000)).toEqual({ waits: [500], retryInMs: null });
    expect(buckets.reserve('c', null, 3, 0)).toEqual({ waits: [0, 0, 0], retryInMs: null });
  });
});
