import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { iso } from './presenters.js';

describe('iso', () => {
  it('writes exactly what Date#toISOString writes, for any instant and in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 253_402_300_799_999 }), fc.integer({ min: -1e13, max: 1e13 }), fc.double({ min: 0, max: 2e12, noNaN: true })), { minLength: 1, maxLength: 20 }), (instants) => {
        for (const ms of instants) expect(iso(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps null as null and the edges of a day', () => {
    expect(iso(null)).toBeNull();
    for (const ms of [0, 86_399_999, 86_400_000, Date.parse('2026-10-25T23:59:59.999Z'), Date.parse('2028-02-29T00:00:00.001Z')]) expect(iso(ms)).toBe(new Date(ms).toISOString());
  });
});
