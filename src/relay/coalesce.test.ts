import { describe, expect, it } from 'vitest';
import { coalesce, singleFlight } from './coalesce.js';

/** A run that waits until the test lets it finish, counting how many started and how many run at once. */
function gatedRun() {
  const gates: Array<() => void> = [];
  const state = { started: 0, running: 0, most: 0 };
  const run = async () => {
    state.started++;
    state.running++;
    state.most = Math.max(state.most, state.running);
    await new Promise<void>((resolve) => gates.push(resolve));
    state.running--;
  };
  const finishOne = async () => {
    gates.shift()?.();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { run, state, finishOne };
}

describe('coalesce', () => {
  it('runs at once when idle, and once more after the run under way for any number of asks meanwhile', async () => {
    const { run, state, finishOne } = gatedRun();
    const runs = coalesce(run, () => {});
    const first = runs.trigger();
    expect(state.started).toBe(1);
    const asks = [runs.trigger(), runs.trigger(), runs.trigger()];
    expect(asks[1]).toBe(asks[0]);
    expect(state.started).toBe(1);
    await finishOne();
    await first;
    expect(state.started).toBe(2);
    await finishOne();
    await Promise.all(asks);
    expect(state).toEqual({ started: 2, running: 0, most: 1 });
  });

  it('hands an error to onError, ends only that run, and still makes the run asked for meanwhile', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    let release!: () => void;
    const runs = coalesce(async () => {
      calls++;
      if (calls === 1) {
        await new Promise<void>((resolve) => (release = resolve));
        throw new Error('database away');
      }
    }, (error) => errors.push(error));
    const first = runs.trigger();
    const second = runs.trigger();
    release();
    await first;
    await second;
    expect(calls).toBe(2);
    expect(errors).toEqual([new Error('database away')]);
    await runs.trigger();
    expect(calls).toBe(3);
  });

  it('idle() waits for the run under way and the one asked for meanwhile', async () => {
    const { run, state, finishOne } = gatedRun();
    const runs = coalesce(run, () => {});
    await runs.idle();
    void runs.trigger();
    void runs.trigger();
    let idle = false;
    const waiting = runs.idle().then(() => (idle = true));
    await finishOne();
    expect(idle).toBe(false);
    await finishOne();
    await waiting;
    expect(idle).toBe(true);
    expect(state.started).toBe(2);
  });
});

describe('singleFlight', () => {
  it('lets callers join the run under way, and starts a new one only once it has ended', async () => {
    const { run, state, finishOne } = gatedRun();
    const runs = singleFlight(run);
    const first = runs.join();
    expect(runs.join()).toBe(first);
    expect(state.started).toBe(1);
    await finishOne();
    await first;
    void runs.join();
    expect(state.started).toBe(2);
    await finishOne();
    expect(state.most).toBe(1);
  });

  it('fresh() waits the run under way out, even a failing one, then starts its own', async () => {
    let release!: () => void;
    let calls = 0;
    const runs = singleFlight(async () => {
      calls++;
      if (calls === 1) {
        await new Promise<void>((resolve) => (release = resolve));
        throw new Error('database away');
      }
      return calls;
    });
    const first = runs.join();
    const fresh = runs.fresh();
    expect(calls).toBe(1);
    release();
    await expect(first).rejects.toThrow('database away');
    expect(await fresh).toBe(2);
  });
});
