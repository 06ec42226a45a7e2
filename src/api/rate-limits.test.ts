import { describe, expect, it } from 'vitest';
import { createSourceLimiter } from './rate-limits.js';

describe('createSourceLimiter', () => {
  it("lets a minute's allowance through at once, then one request per 60/perMin seconds, per source", () => {
    let t = 0;
    const limit = createSourceLimiter(6, () => t);
    for (let i = 0; i < 6; i++) expect(limit.take('src_a')).toBe(0);
    expect(limit.take('src_a')).toBe(10_000);
    expect(limit.take('src_b')).toBe(0);
    t = 9_999;
    expect(limit.take('src_a')).toBe(1);
    t = 10_000;
    expect(limit.take('src_a')).toBe(0);
    expect(limit.take('src_a')).toBe(10_000);
    // Idle for an hour: full again, never more than a minute's allowance.
    t = 3_600_000;
    for (let i = 0; i < 6; i++) expect(limit.take('src_a')).toBe(0);
    expect(limit.take('src_a')).toBeGreaterThan(0);
  });
});
