import { describe, expect, it } from 'vitest';
import { createCircuitBreakers } from './breaker.js';

describe('circuit breakers per destination', () => {
  it('opens after the threshold of unanswered attempts in a row, lets one probe through after the cool-down, and closes on an answer', () => {
    const circuits = createCircuitBreakers({ threshold: 3, cooldownMs: 1000 });
    expect(circuits.record('dst_a', 0, false)).toBeNull();
    expect(circuits.record('dst_a', 0, true)).toBeNull(); // an answer resets the count
    expect([1, 2, 3].map((t) => circuits.record('dst_a', t, false))).toEqual([null, null, 'opened']);
    expect(circuits.allowed('dst_a', 3)).toBe(0);
    expect(circuits.allowed('dst_b', 3)).toBe(Number.POSITIVE_INFINITY); // each destination on its own
    expect(circuits.open).toBe(1);
    expect(circuits.caps(3)).toEqual({ dst_a: 0 });
    expect(circuits.caps(1003)).toEqual({ dst_a: 1 });
    expect(circuits.allowed('dst_a', 1002)).toBe(0);
    expect(circuits.allowed('dst_a', 1003)).toBe(1);
    // The probe fails: another cool-down from then.
    expect(circuits.record('dst_a', 1500, false)).toBeNull();
    expect(circuits.allowed('dst_a', 2499)).toBe(0);
    expect(circuits.allowed('dst_a', 2500)).toBe(1);
    expect(circuits.record('dst_a', 2600, true)).toBe('closed');
    expect(circuits.allowed('dst_a', 2600)).toBe(Number.POSITIVE_INFINITY);
    expect(circuits.open).toBe(0);
    expect(circuits.caps(2600)).toEqual({});
  });

  it('does not extend the cool-down for attempts that were in flight when it opened', () => {
    const circuits = createCircuitBreakers({ threshold: 1, cooldownMs: 1000 });
    expect(circuits.record('dst_a', 0, false)).toBe('opened');
    expect(circuits.record('dst_a', 500, false)).toBeNull();
    expect(circuits.allowed('dst_a', 1000)).toBe(1);
  });
});
