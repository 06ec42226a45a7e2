import { describe, expect, it } from 'vitest';
import { createRateLimits } from './rate-limit.js';

const forever = Number.POSITIVE_INFINITY;
const waits = (results: Array<{ waitMs: number } | { retryInMs: number }>) => results.map((r) => ('waitMs' in r ? r.waitMs : -r.retryInMs));

describe('per-destination rate limits', () => {
  it('lets a second’s burst through at once, then spaces sends by 1/rate', () => {
    let t = 10_000;
    const limits = createRateLimits(() => t);
    // Four at once (the burst), then 250 ms apart.
    expect(waits(Array.from({ length: 8 }, () => limits.take('dst_a', 4, forever)))).toEqual([0, 0, 0, 0, 250, 500, 750, 1000]);
    // Another destination has its own bucket.
    expect(limits.take('dst_b', 4, forever)).toEqual({ waitMs: 0 });
    // Time passing pays the debt back: a second later, the ninth waits 250 ms instead of 1,250.
    t += 1000;
    expect(limits.take('dst_a', 4, forever)).toEqual({ waitMs: 250 });
  });

  it('takes no token when the wait would exceed the bound, and says when to come back', () => {
    const limits = createRateLimits(() => 0);
    expect(waits(Array.from({ length: 6 }, () => limits.take('d', 2, 500)))).toEqual([0, 0, 500, -1000, -1000, -1000]);
  });

  it('refills no more than one second’s burst while idle', () => {
    let t = 0;
    const limits = createRateLimits(() => t);
    limits.take('d', 2, forever);
    t += 60_000;
    expect(waits([limits.take('d', 2, forever), limits.take('d', 2, forever), limits.take('d', 2, forever)])).toEqual([0, 0, 500]);
  });

  it('does not limit a destination without a rate', () => {
    const limits = createRateLimits(() => 0);
    expect(Array.from({ length: 100 }, () => limits.take('d', null, 0)).every((r) => 'waitMs' in r && r.waitMs === 0)).toBe(true);
  });
});
