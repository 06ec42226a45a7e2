import { describe, expect, it } from 'vitest';
import { createInFlight } from './in-flight.js';

describe('createInFlight', () => {
  it('counts work per destination until it settles, and settle() waits for work tracked meanwhile', async () => {
    const inFlight = createInFlight();
    const releases: (() => void)[] = [];
    const work = () => new Promise<void>((resolve) => releases.push(resolve));
    inFlight.track('dst_a', work());
    inFlight.track('dst_a', work());
    inFlight.track('dst_b', work());
    expect(inFlight.size).toBe(3);
    expect(inFlight.busy()).toEqual({ dst_a: 2, dst_b: 1 });

    releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(inFlight.busy()).toEqual({ dst_a: 1, dst_b: 1 });

    let settled = false;
    const settling = inFlight.settle().then(() => (settled = true));
    releases.shift()!();
    inFlight.track('dst_c', work());
    releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(inFlight.busy()).toEqual({ dst_c: 1 });
    releases.shift()!();
    await settling;
    expect(inFlight.size).toBe(0);
    expect(inFlight.busy()).toEqual({});
  });
});
