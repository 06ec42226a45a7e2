import { describe, expect, it } from 'vitest';
import type { CompleteResult, DeliveryOutcome } from '../storage/ports.js';
import { createOutcomeRecorder, textNotStored } from './outcome-recorder.js';

const now = 1_000_000;
const outcome = (id: string, result: DeliveryOutcome['result'], lease: number | null = now + 30_000): DeliveryOutcome => ({
  deliveryId: id as DeliveryOutcome['deliveryId'], destinationId: 'dst_1' as DeliveryOutcome['destinationId'], result, attempt: null, nextAttemptAt: null, disableDestination: null, lease,
});

/** A recorder over a `complete` that answers from `answers` in turn (an Error is thrown), recording what it saw. */
function recorder(answers: (CompleteResult | Error)[], closing = false) {
  const batches: string[][] = [];
  /** The attempts' text of each batch written: [responseBody, error] per outcome with an attempt. */
  const texts: Array<Array<[string | null, string | null]>> = [];
  const counted: string[] = [];
  const seen = { appended: 0, written: 0, errors: 0 };
  const r = createOutcomeRecorder({
    complete: async (outcomes) => {
      batches.push(outcomes.map((o) => o.deliveryId));
      texts.push(outcomes.flatMap((o) => (o.attempt ? [[o.attempt.responseBody, o.attempt.error] as [string | null, string | null]] : [])));
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
  return { r, batches, texts, counted, seen };
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

  /**
   * A recorder over a `complete` that refuses (a data exception: `code`) any batch holding `bad`'s outcome (with
   * `textOnly`, only with its attempt's text), and records the others (`written`, their text in `texts`);
   * `clock` is its now.
   */
  function refusing(bad: string, { code = '22003', textOnly = false } = {}) {
    const clock = { now };
    const batches: string[][] = [];
    const written: string[] = [];
    const texts = new Map<string, [string | null, string | null]>();
    const counted: string[] = [];
    const errors: unknown[] = [];
    const r = createOutcomeRecorder({
      complete: async (outcomes) => {
        const ids = outcomes.map((o) => o.deliveryId as string);
        batches.push(ids);
        if (outcomes.some((o) => o.deliveryId === bad && (!textOnly || o.attempt?.responseBody !== null))) throw Object.assign(new Error('refused'), { code });
        written.push(...ids);
        for (const o of outcomes) if (o.attempt) texts.set(o.deliveryId, [o.attempt.responseBody, o.attempt.error]);
        return { stale: [], appended: [] };
      },
      now: () => clock.now,
      metrics: { deliveryAttempts: { inc: ({ result }) => counted.push(result) } },
      onAppended: () => {},
      onError: (error) => errors.push(error),
      onWritten: () => {},
      closing: () => false,
    });
    return { r, clock, batches, written, texts, counted, errors };
  }
  /** Waits for the writes, or 200 ms (a held write is tried again until its lease runs out: the drain would wait for it). */
  const settled = (r: { drain(): Promise<void> }) => Promise.race([r.drain(), new Promise((resolve) => setTimeout(resolve, 200))]);
  const answered = (id: string): DeliveryOutcome => ({
    ...outcome(id, 'failed'), attempt: { attempt: 1, attemptedAt: now, status: 500, latencyMs: 3, responseBody: `body of ${id}`, error: 'answered 500' },
  });

  it("writes the outcome whose attempt's text the database refuses (a data exception) once more without that text; the others keep theirs", async () => {
    // PostgreSQL's 22021: text it cannot hold. Every retry of the same batch would fail, and the worker claims
    // nothing while writes fail.
    const { r, written, texts, counted, errors } = refusing('dlv_2', { code: '22021', textOnly: true });
    r.add(answered('dlv_1'));
    r.add(answered('dlv_2'));
    r.add(outcome('dlv_3', 'deferred'));
    r.add(answered('dlv_4'));
    await settled(r);
    expect(written.sort()).toEqual(['dlv_1', 'dlv_2', 'dlv_3', 'dlv_4']);
    expect(Object.fromEntries(texts)).toEqual({
      dlv_1: ['body of dlv_1', 'answered 500'], dlv_2: [null, textNotStored], dlv_4: ['body of dlv_4', 'answered 500'],
    });
    expect(r.failing).toBe(false);
    expect(counted).toEqual(['failed', 'failed', 'failed']);
    expect(errors).toHaveLength(1);
  });

  it('records the others of a batch the database refuses one outcome of, even without its text, at once: only that one is held, not the worker', async () => {
    const { r, written, counted, errors } = refusing('dlv_3');
    for (const id of ['dlv_1', 'dlv_2', 'dlv_3', 'dlv_4', 'dlv_5']) r.add(answered(id));
    await settled(r);
    expect(written.sort()).toEqual(['dlv_1', 'dlv_2', 'dlv_4', 'dlv_5']);
    expect(counted).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(r.recorded).toBe(4);
    // The worker claims again: the refused outcome does not hold it back until its lease runs out.
    expect(r.failing).toBe(false);
    // Said once, naming the delivery and the database's code (nothing of the attempt's text).
    const said = errors.map(String).filter((e) => e.includes('dlv_3'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('22003');
    expect(said[0]).not.toContain('body of');
  });

  it('tries a refused outcome again alone until its lease runs out, then drops it (the delivery goes out again), saying so once', async () => {
    const { r, clock, batches, errors } = refusing('dlv_1');
    r.add(answered('dlv_1'));
    await settled(r);
    expect(r.failing).toBe(false);
    const tried = batches.length;
    await new Promise((resolve) => setTimeout(resolve, 250));
    await settled(r);
    expect(batches.length).toBeGreaterThan(tried);
    expect(batches.slice(tried).every((b) => b.length === 1 && b[0] === 'dlv_1')).toBe(true);
    clock.now = now + 30_000;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await settled(r);
    const after = batches.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(batches.length).toBe(after);
    expect(r.failing).toBe(false);
    expect(r.recorded).toBe(0);
    expect(errors.map(String).filter((e) => e.includes('dlv_1'))).toHaveLength(1);
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
