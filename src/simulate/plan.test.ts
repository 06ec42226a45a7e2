import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGenerator } from './generate.js';
import { countPlanned, planSends, type PlanOptions } from './plan.js';

const calls = (n: number, seed = 1) => {
  const g = createGenerator({ seed, scenario: 'mix', start: Date.parse('2026-01-05T08:00:00Z') });
  return Array.from({ length: n }, (_, i) => g.call(i));
};

const plan = (list: ReturnType<typeof calls>, options: PlanOptions) => [...planSends(list, options)];

describe('the send plan', () => {
  it('plans one start_call and one end_call per call, plus exact byte copies for the duplicates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, duplicates, outOfOrder) => {
        const list = calls(20, seed);
        const sends = plan(list, { seed, duplicates, outOfOrder });
        const originals = sends.filter((s) => !s.duplicate);
        expect(originals).toHaveLength(40);
        for (const call of list) {
          const own = sends.filter((s) => s.call === call.index);
          const start = own.find((s) => s.type === 'start_call' && !s.duplicate)!;
          const end = own.find((s) => s.type === 'end_call' && !s.duplicate)!;
          expect(start.body).toBe(call.startCall);
          expect(end.body).toBe(call.endCall);
          // The plan's order is the order a call's requests are sent in.
          expect(own.indexOf(end) < own.indexOf(start)).toBe(start.outOfOrder);
          for (const copy of own.filter((s) => s.duplicate)) {
            const original = copy.type === 'start_call' ? start : end;
            expect(copy.body).toBe(original.body);
            expect(own.indexOf(copy)).toBeGreaterThan(own.indexOf(original));
          }
        }
        for (let i = 1; i < sends.length; i++) expect(sends[i]!.slot).toBeGreaterThanOrEqual(sends[i - 1]!.slot);
      }),
      { numRuns: 100 },
    );
  });

  it('sends no duplicate and keeps every call in order at rates of 0, and copies everything at 1', () => {
    expect(plan(calls(30), { seed: 1, duplicates: 0, outOfOrder: 0 }).every((s) => !s.duplicate && !s.outOfOrder)).toBe(true);
    const all = plan(calls(30), { seed: 1, duplicates: 1, outOfOrder: 1 });
    expect(all).toHaveLength(120);
    expect(all.every((s) => s.outOfOrder)).toBe(true);
  });

  it('decides duplicates and order apart from the payloads: other rates, the same bodies', () => {
    const list = calls(50);
    const a = plan(list, { seed: 1, duplicates: 0, outOfOrder: 0 });
    const b = plan(list, { seed: 1, duplicates: 0.3, outOfOrder: 0.3 });
    expect(new Set(b.map((s) => s.body))).toEqual(new Set(a.map((s) => s.body)));
    expect(b.length).toBeGreaterThan(a.length);
    expect(b.some((s) => s.outOfOrder)).toBe(true);
  });

  it('streams the same order as sorting every request by due slot, and counts it beforehand', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, duplicates, outOfOrder) => {
        const list = calls(60, seed);
        const options = { seed, duplicates, outOfOrder };
        const streamed = plan(list, options);
        // The reference: every call's requests, in plan order, stably sorted by slot at once.
        const perCall = list.map((c) => streamed.filter((s) => s.call === c.index));
        const reference = perCall.flat().sort((a, b) => a.slot - b.slot);
        expect(streamed).toEqual(reference);
        expect(countPlanned(60, options)).toBe(streamed.length);
      }),
      { numRuns: 50 },
    );
  });
});
