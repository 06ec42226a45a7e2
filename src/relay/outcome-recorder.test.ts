import { describe, expect, it } from 'vitest';
import type { CompleteResult, DeliveryOutcome } from '../storage/ports.js';
import { createOutcomeRecorder } from './outcome-recorder.js';

const now = 1_000_000;
const outcome = (id: string, result: DeliveryOutcome['result'], lease: number | null = now + 30_000): DeliveryOutcome => ({
  deliveryId: id as DeliveryOutcome['deliveryId'], destinationId: 'dst_1' as DeliveryOutcome['destinationId'], result, attempt: null, nextAttemptAt: null, disableDestination: null, lease,
});

/** A recorder over a `complete` that answers from `answers` in turn (an Error is thrown), recording what it saw. */
function recorder(answers: (CompleteResult | Error)[], closing = false) {
  const batches: string[][] = [];
  const counted: string[] = [];
  const seen = { appended: 0, written: 0, errors: 0 };
  const r = createOutcomeRecorder({
    complete: async (outcomes) => {
      batches.push(outcomes.map((o) => o.deliveryId));
      const answer = answers.shift() ?? { stale: [], appended: [] };
      if (answer instanceof Error) throw answer;
      return answer;
    },
    now: () => now,
    metrics: { deliveryAttempts: { inc: ({ result }) => counted.push(result) } },
    onAppended: () => seen.appended++,
    onError: () => seen.errors++,
    onWritten: () => seen.written++,
    closing: () => closing,
  });
  return { r, batches, counted, seen };
}

describe('createOutcomeRecorder', () => {
  it('writes the outcomes of one tick in one batch and counts the attempts storage kept', async () => {
    const { r, batches, counted, seen } = recorder([{ stale: ['dlv_3' as never], appended: [{} as never] }]);
    r.add(outcome('dlv_1', 'delivered'));
    r.add(outcome('dlv_2', 'deferred'));
    r.add(outcome('dlv_3', 'retry'));
    r.add(outcome('dlv_4', 'failed'));
    await r.drain();
    expect(batches).toEqual([['dlv_1', 'dlv_2', 'dlv_3', 'dlv_4']]);
    // Deferred: not an attempt; dlv_3: its lease had run out, so nothing was recorded.
    expect(counted).toEqual(['delivered', 'failed']);
    expect(r.recorded).toBe(4);
    expect(seen).toMatchObject({ appended: 1, errors: 0 });
    expect(seen.written).toBeGreaterThanOrEqual(1);
  });

  it('holds the outcomes whose lease still holds when a write fails, and writes them once storage answers', async () => {
    const { r, batches, seen } = recorder([new Error('database away')]);
    r.add(outcome('dlv_1', 'delivered'));
    r.add(outcome('dlv_2', 'delivered', now - 1));
    r.add(outcome('dlv_3', 'delivered', null));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(r.failing).toBe(true);
    await r.drain();
    expect(batches).toEqual([['dlv_1', 'dlv_2', 'dlv_3'], ['dlv_1']]);
    expect(r.failing).toBe(false);
    expect(r.recorded).toBe(1);
    expect(seen.errors).toBe(1);
  });

  it('drops the outcomes of a failed write while the worker is closing', async () => {
    const { r, batches } = recorder([new Error('database away')], true);
    r.add(outcome('dlv_1', 'delivered'));
    await r.drain();
    expect(batches).toEqual([['dlv_1']]);
    expect(r.failing).toBe(false);
    expect(r.recorded).toBe(0);
  });
});
