import { describe, expect, it } from 'vitest';
import { fairCut, roomOf } from './claim-plan.js';

const offer = (destination: string, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: `${destination}-${i}`, next_attempt_at: from + i, event_seq: from + i }));

describe('sharing a claim among destinations', () => {
  it('takes every destination’s oldest first, then their second oldest, so a long backlog does not crowd out the rest', () => {
    const cut = fairCut([offer('busy', 10), offer('quiet', 1, 100), offer('other', 2, 50)], 5);
    expect(cut.map((c) => c.id)).toEqual(['busy-0', 'other-0', 'quiet-0', 'busy-1', 'other-1']);
  });

  it('gives a destination its cap (its own, else the default; lowered by its circuit) less what is in flight, never more than the claim', () => {
    const share = { perDestination: 16, busy: { a: 10, b: 3 }, caps: { c: 0, d: 1 } };
    expect(roomOf(share, { id: 'a', max_concurrency: null }, 256)).toBe(6);
    expect(roomOf(share, { id: 'b', max_concurrency: 2 }, 256)).toBe(0);
    expect(roomOf(share, { id: 'c', max_concurrency: null }, 256)).toBe(0);
    expect(roomOf(share, { id: 'd', max_concurrency: null }, 256)).toBe(1);
    expect(roomOf(share, { id: 'e', max_concurrency: 500 }, 256)).toBe(256);
    expect(roomOf(undefined, { id: 'e', max_concurrency: 1 }, 40)).toBe(40);
  });
});
