import { describe, expect, it } from 'vitest';
import { createMissCounter } from './auth-misses.js';

describe('createMissCounter', () => {
  it('blocks an address for the rest of its minute once it reaches perMin misses, and lets it try again after', () => {
    let clock = 0;
    const misses = createMissCounter({ perMin: 2, now: () => clock });
    misses.miss('a');
    expect(misses.blockedFor('a')).toBe(0);
    clock = 10_000;
    misses.miss('a');
    expect(misses.blockedFor('a')).toBe(50_000);
    expect(misses.blockedFor('b')).toBe(0);
    clock = 60_000;
    expect(misses.blockedFor('a')).toBe(0);
    misses.miss('a');
    expect(misses.blockedFor('a')).toBe(0);
  });

  it('tracks at most maxAddresses, forgetting the oldest windows first', () => {
    let clock = 0;
    const misses = createMissCounter({ perMin: 1, now: () => clock, maxAddresses: 3 });
    for (const address of ['a', 'b', 'c', 'd']) {
      misses.miss(address);
      clock++;
    }
    expect(misses.blockedFor('a')).toBe(0);
    expect(['b', 'c', 'd'].map((x) => misses.blockedFor(x) > 0)).toEqual([true, true, true]);
  });
});
