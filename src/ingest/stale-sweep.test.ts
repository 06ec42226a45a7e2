import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../storage/ports.js';
import { createStaleSweep } from './stale-sweep.js';

/** Calls in progress, each "marked" (gone from the candidates) once its stale event is appended. */
function fakeCalls(count: number) {
  const open = new Set(Array.from({ length: count }, (_, i) => `call-${i}`));
  const appended: NewEvent[] = [];
  const cutoffs: number[] = [];
  return {
    appended,
    cutoffs,
    calls: {
      async staleCandidates(before: number, limit: number) {
        cutoffs.push(before);
        return [...open].slice(0, limit).map((callId) => ({ sourceId: 'src_a' as never, callId }));
      },
    },
    ingest: {
      async appendSystem(events: readonly NewEvent[]) {
        appended.push(...events);
        // The first call of each batch was marked by another node meanwhile: the append skips it.
        return events.map((event, i) => {
          open.delete(event.callId!);
          return { skipped: i === 0 } as never;
        });
      },
    },
  };
}

describe('createStaleSweep', () => {
  it('marks every stale call in batches and counts only the ones it marked', async () => {
    const fake = fakeCalls(5);
    const sweep = createStaleSweep({ ...fake, staleAfterMin: 120, now: () => 10_000_000, batch: 2 });
    expect(await sweep()).toBe(5 - 3); // three batches (2, 2, 1), each with one already marked elsewhere
    expect(fake.appended.map((e) => e.callId)).toEqual(['call-0', 'call-1', 'call-2', 'call-3', 'call-4']);
    expect(fake.appended.every((e) => e.type === 'call.stale')).toBe(true);
    expect(fake.cutoffs[0]).toBe(10_000_000 - 120 * 60_000);
  });

  it('stops after a short batch without asking again', async () => {
    const fake = fakeCalls(1);
    const sweep = createStaleSweep({ ...fake, staleAfterMin: 1, now: () => 0, batch: 2 });
    await sweep();
    expect(fake.cutoffs).toHaveLength(1);
  });
});
