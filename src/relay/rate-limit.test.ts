import { describe, expect, it } from 'vitest';
import { createRateLimits } from './rate-limit.js';

describe('per-destination rate limits', () => {
  it('lets a second’s burst through at once, then spaces sends by 1/rate', () => {
    let t = 10_000;
    const limits = createRateLimits(() => t);
    const waits = Array.from({ length: 8 }, () => limits.reserve('dst_a', 4));
    // Four at once (the burst), then 250 ms apart.
    expect(waits).toEqual([0, 0, 0, 0, 250, 500, 750, 1000]);
    // Another destination has its own bucket.
    expect(limits.reserve('dst_b', 4)).toBe(0);
    // Time passing pays the debt back: a second later, the ninth waits 250 ms instead of 1,250.
    t += 1000;
    expect(limits.reserve('dst_a', 4)).toBe(250);
  });

  it('refills no more than one second’s burst while idle', () => {
    let t = 0;
    const limits = createRateLimits(() => t);
    limits.reserve('d', 2);
    t += 60_000;
    expect([limits.reserve('d', 2), limits.reserve('d', 2), limits.reserve('d', 2)]).toEqual([0, 0, 500]);
  });

  it('does not limit a destination without a rate', () => {
    const limits = createRateLimits(() => 0);
    expect(Array.from({ length: 100 }, () => limits.reserve('d', null)).every((w) => w === 0)).toBe(true);
  });
});
