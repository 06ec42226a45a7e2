import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import { createGroupCommitter, type GroupCommitOptions } from './group-commit.js';

/** A commit whose batches stay open until the test settles them. */
function controlledCommit() {
  const batches: Array<{ items: number[]; resolve: (results: string[]) => void; reject: (error: unknown) => void }> = [];
  let running = 0;
  let maxRunning = 0;
  const commit = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const done = () => { running--; };
      batches.push({
        items,
        resolve: (results) => { done(); resolve(results); },
        reject: (error) => { done(); reject(error); },
      });
    });
  return {
    commit,
    batches,
    get running() { return running; },
    get maxRunning() { return maxRunning; },
    /** Answers batch `i` with `item → "r<item>"`. */
    ok(i: number) { batches[i]!.resolve(batches[i]!.items.map((n) => `r${n}`)); },
  };
}

/** Lets setImmediate callbacks (the committer's scheduling) and promise continuations run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

function committer(overrides: Partial<GroupCommitOptions<number, string>> & Pick<GroupCommitOptions<number, string>, 'commit'>) {
  return createGroupCommitter<number, string>({ maxBatch: 100, maxInFlight: 1, maxQueue: 1000, ...overrides });
}

describe('createGroupCommitter', () => {
  it('commits requests submitted in the same tick together, once', async () => {
    const calls: number[][] = [];
    const gc = committer({ commit: async (items) => { calls.push(items); return items.map((n) => `r${n}`); } });
    const results = await Promise.all([gc.submit(1), gc.submit(2), gc.submit(3)]);
    expect(calls).toEqual([[1, 2, 3]]);
    expect(results).toEqual(['r1', 'r2', 'r3']);
  });

  it('answers each submitter with the result at its own position', async () => {
    const gc = committer({ commit: async (items) => items.map((n) => `result of ${n}`) });
    const [a, b, c] = await Promise.all([gc.submit(30), gc.submit(10), gc.submit(20)]);
    expect([a, b, c]).toEqual(['result of 30', 'result of 10', 'result of 20']);
  });

  it('does not commit before the current turn of the event loop ends', async () => {
    const c = controlledCommit();
    const gc = committer({ commit: c.commit });
    void gc.submit(1);
    await Promise.resolve();
    await Promise.resolve();
    void gc.submit(2);
    expect(c.batches).toHaveLength(0);
    await turn();
    expect(c.batches.map((b) => b.items)).toEqual([[1, 2]]);
    c.ok(0);
  });

  it('puts what arrives during a commit in the next batch', async () => {
    const c = controlledCommit();
    const gc = committer({ commit: c.commit });
    const first = gc.submit(1);
    await turn();
    const second = [gc.submit(2), gc.submit(3)];
    await turns();
    expect(c.batches.map((b) => b.items)).toEqual([[1]]);
    c.ok(0);
    await expect(first).resolves.toBe('r1');
    await turns();
    expect(c.batches.map((b) => b.items)).toEqual([[1], [2, 3]]);
    c.ok(1);
    await expect(Promise.all(second)).resolves.toEqual(['r2', 'r3']);
  });

  it('starts a batch beside a running commit only once the fixed rule\'s `waiting` items wait; fewer go as one batch after it', async () => {
    const c = controlledCommit();
    const gc = committer({ maxInFlight: 2, overlap: { kind: 'fixed', waiting: 3 }, commit: c.commit });
    const first = gc.submit(1);
    await turn();
    // Two waiting: below the threshold, no second commit while the first runs.
    const waiting = [gc.submit(2), gc.submit(3)];
    await turns();
    expect(c.batches.map((b) => b.items)).toEqual([[1]]);
    // The third makes three: a second commit starts beside the first.
    waiting.push(gc.submit(4));
    await turns();
    expect(c.batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
    expect(c.running).toBe(2);
    // Below the threshold again: they wait while either commit runs, then go as one batch.
    const late = [gc.submit(5), gc.submit(6)];
    await turns();
    expect(c.batches).toHaveLength(2);
    c.ok(0);
    await expect(first).resolves.toBe('r1');
    await turns();
    expect(c.batches).toHaveLength(2);
    c.ok(1);
    await turns();
    expect(c.batches.map((b) => b.items)).toEqual([[1], [2, 3, 4], [5, 6]]);
    c.ok(2);
    await expect(Promise.all([...waiting, ...late])).resolves.toEqual(['r2', 'r3', 'r4', 'r5', 'r6']);
  });

  it('balanced: a batch goes beside a running commit once as many items wait as the last batch held, at most `cap`', async () => {
    const c = controlledCommit();
    const gc = committer({ maxInFlight: 2, overlap: { kind: 'balanced', cap: 4 }, commit: c.commit });
    const items = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => gc.submit(from + i));
    const all = [...items(1, 1)];
    await turns();
    // Light load: the last batch held one item, so one waiting item goes at once.
    all.push(...items(2, 2));
    await turns();
    expect(c.batches.map((b) => b.items)).toEqual([[1], [2]]);
    all.push(...items(3, 5));
    await turns();
    c.ok(0);
    await turns();
    expect(c.batches.map((b) => b.items)).toEqual([[1], [2], [3, 4, 5]]);
    c.ok(1);
    await turns();
    // [3, 4, 5] commits: two waiting are fewer than it holds, the third makes a batch as large.
    all.push(...items(6, 7));
    await turns();
    expect(c.batches).toHaveLength(3);
    all.push(...items(8, 8));
    await turns();
    expect(c.batches.map((b) => b.items).at(-1)).toEqual([6, 7, 8]);
    c.ok(2);
    c.ok(3);
    await turns();
    all.push(...items(9, 14));
    await turns();
    expect(c.batches.map((b) => b.items).at(-1)).toEqual([9, 10, 11, 12, 13, 14]);
    // The last batch held 6; the cap (4) is the most that must wait.
    all.push(...items(15, 17));
    await turns();
    expect(c.batches).toHaveLength(5);
    all.push(...items(18, 18));
    await turns();
    expect(c.batches.map((b) => b.items).at(-1)).toEqual([15, 16, 17, 18]);
    c.ok(4);
    c.ok(5);
    await expect(Promise.all(all)).resolves.toEqual(Array.from({ length: 18 }, (_, i) => `r${i + 1}`));
  });

  it('rejects exactly the requests of a failed commit, and later batches still succeed', async () => {
    const c = controlledCommit();
    const outcomes: string[] = [];
    const gc = committer({ commit: c.commit, onBatch: (size, seconds, ok) => outcomes.push(`${size}:${ok}:${seconds >= 0}`) });
    const failed = [gc.submit(1), gc.submit(2)].map((p) => p.then(() => 'resolved', (e: Error) => e.message));
    await turn();
    const later = [gc.submit(3), gc.submit(4)];
    await turn();
    c.batches[0]!.reject(new Error('disk full'));
    expect(await Promise.all(failed)).toEqual(['disk full', 'disk full']);
    await turns();
    expect(c.batches[1]!.items).toEqual([3, 4]);
    c.ok(1);
    await expect(Promise.all(later)).resolves.toEqual(['r3', 'r4']);
    expect(outcomes).toEqual(['2:false:true', '2:true:true']);
  });

  it('rejects the batch when the commit throws synchronously', async () => {
    const gc = committer({ commit: () => { throw new Error('boom'); } });
    await expect(gc.submit(1)).rejects.toThrow('boom');
  });

  it('splits a burst into batches of at most maxBatch, in submission order', async () => {
    const calls: number[][] = [];
    const gc = committer({ maxBatch: 2, maxInFlight: 1, commit: async (items) => { calls.push(items); return items.map((n) => `r${n}`); } });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => gc.submit(n)));
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
    expect(results).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
  });

  it('never runs more than maxInFlight commits at once', async () => {
    const c = controlledCommit();
    const gc = committer({ maxBatch: 1, maxInFlight: 2, commit: c.commit });
    const all = [1, 2, 3, 4, 5].map((n) => gc.submit(n));
    await turns(5);
    expect(c.running).toBe(2);
    expect(c.batches.map((b) => b.items)).toEqual([[1], [2]]);
    expect(gc.depth).toBe(3);

    c.ok(1);
    await turns(5);
    expect(c.running).toBe(2);
    expect(c.batches.map((b) => b.items)).toEqual([[1], [2], [3]]);

    c.ok(0);
    await turns(5);
    c.ok(2);
    await turns(5);
    c.ok(3);
    await turns(5);
    c.ok(4);
    await expect(Promise.all(all)).resolves.toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(c.maxRunning).toBe(2);
    expect(gc.depth).toBe(0);
  });

  it('fails fast with AppError "overloaded" beyond maxQueue waiting items', async () => {
    const c = controlledCommit();
    const gc = committer({ maxQueue: 2, commit: c.commit });
    const accepted = [gc.submit(1), gc.submit(2)];
    const refused = gc.submit(3);
    await expect(refused).rejects.toBeInstanceOf(AppError);
    await expect(refused).rejects.toMatchObject({ code: 'overloaded', status: 503 });
    expect(gc.depth).toBe(2);

    // Once the batch is taken, the queue has room again.
    await turn();
    expect(gc.depth).toBe(0);
    const next = gc.submit(4);
    c.ok(0);
    await turns();
    c.ok(1);
    await expect(Promise.all([...accepted, next])).resolves.toEqual(['r1', 'r2', 'r4']);
  });

  it('drain() resolves at once when idle', async () => {
    const gc = committer({ commit: async (items) => items.map(String) });
    await expect(gc.drain()).resolves.toBeUndefined();
  });

  it('drain() resolves only after everything queued and in flight is committed', async () => {
    const c = controlledCommit();
    const gc = committer({ maxBatch: 1, maxInFlight: 1, commit: c.commit });
    const results = [gc.submit(1), gc.submit(2)];
    let drained = false;
    const drain = gc.drain().then(() => { drained = true; });

    await turns();
    expect(drained).toBe(false);
    c.ok(0);
    await turns();
    expect(drained).toBe(false);
    expect(c.batches).toHaveLength(2);

    const late = gc.submit(3);
    c.ok(1);
    await turns();
    expect(drained).toBe(false);
    c.ok(2);
    await drain;
    expect(drained).toBe(true);
    await expect(Promise.all([...results, late])).resolves.toEqual(['r1', 'r2', 'r3']);
  });

  it('drain() waits for every batch in flight, not just the first to finish', async () => {
    const c = controlledCommit();
    const gc = committer({ maxBatch: 1, maxInFlight: 2, commit: c.commit });
    void gc.submit(1);
    void gc.submit(2);
    await turns();
    expect(c.running).toBe(2);
    let drained = false;
    const drain = gc.drain().then(() => { drained = true; });
    c.ok(0);
    await turns();
    expect(drained).toBe(false);
    c.ok(1);
    await drain;
    expect(drained).toBe(true);
  });

  it('drain() also waits for a failed commit to settle', async () => {
    const c = controlledCommit();
    const gc = committer({ commit: c.commit });
    const failed = gc.submit(1).catch(() => 'rejected');
    let drained = false;
    const drain = gc.drain().then(() => { drained = true; });
    await turns();
    expect(drained).toBe(false);
    c.batches[0]!.reject(new Error('x'));
    await drain;
    expect(await failed).toBe('rejected');
  });

  it('keeps a committed batch committed when the batch observer throws', async () => {
    const c = committer({
      commit: async (items: number[]) => items.map((n) => `r${n}`),
      onBatch: () => {
        throw new Error('metrics broke');
      },
    });
    await expect(Promise.all([c.submit(1), c.submit(2)])).resolves.toEqual(['r1', 'r2']);
  });

  describe('the background lane (the reconciler)', () => {
    it('adds at most maxBackgroundPerBatch background items to each batch, after the requests', async () => {
      const calls: number[][] = [];
      const gc = committer({ maxBackgroundPerBatch: 2, commit: async (items) => { calls.push(items); return items.map((n) => `r${n}`); } });
      const background = [101, 102, 103, 104, 105].map((n) => gc.submit(n, 'background'));
      const requests = [1, 2, 3].map((n) => gc.submit(n));
      expect(gc.depth).toBe(8);
      await expect(Promise.all([...requests, ...background])).resolves.toEqual(['r1', 'r2', 'r3', 'r101', 'r102', 'r103', 'r104', 'r105']);
      expect(calls).toEqual([[1, 2, 3, 101, 102], [103, 104], [105]]);
    });

    it('lets requests that arrive later go before the background backlog, and drain() waits for both', async () => {
      const c = controlledCommit();
      const gc = committer({ maxBackgroundPerBatch: 1, commit: c.commit });
      const settled: string[] = [];
      for (const n of [101, 102, 103]) void gc.submit(n, 'background').then((r) => settled.push(r));
      await turns();
      expect(c.batches.map((b) => b.items)).toEqual([[101]]);
      void gc.submit(1).then((r) => settled.push(r));
      void gc.submit(2).then((r) => settled.push(r));
      let drained = false;
      void gc.drain().then(() => { drained = true; });
      c.ok(0);
      await turns();
      expect(c.batches.map((b) => b.items)).toEqual([[101], [1, 2, 102]]);
      c.ok(1);
      await turns();
      expect(drained).toBe(false);
      expect(c.batches.map((b) => b.items)).toEqual([[101], [1, 2, 102], [103]]);
      c.ok(2);
      await turns();
      expect(drained).toBe(true);
      expect(settled).toEqual(['r101', 'r1', 'r2', 'r102', 'r103']);
    });

    it('counts the background backlog against maxQueue', async () => {
      const c = controlledCommit();
      const gc = committer({ maxQueue: 2, commit: c.commit });
      void gc.submit(101, 'background');
      void gc.submit(102, 'background');
      await expect(gc.submit(1)).rejects.toMatchObject({ code: 'overloaded' });
    });
  });
});
