import { AppError } from '../domain/errors.js';

/**
 * Group commit: requests that arrive together share one transaction, and each is answered only after that
 * transaction commits. At most one commit runs at a time, so the log's order is the commit order; whatever
 * arrives while it runs forms the next batch. A failed commit rejects exactly the requests that were in it.
 */
export interface GroupCommitter<I, R> {
  submit(item: I): Promise<R>;
  /** Resolves once nothing is queued and no commit is running. */
  drain(): Promise<void>;
  readonly depth: number;
}

export interface GroupCommitOptions<I, R> {
  commit: (items: I[]) => Promise<R[]>;
  maxBatch: number;
  /** Beyond this many waiting items, submit() fails fast with `overloaded` instead of queueing. */
  maxQueue: number;
  onBatch?: (size: number, seconds: number, ok: boolean) => void;
}

interface Pending<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export function createGroupCommitter<I, R>(options: GroupCommitOptions<I, R>): GroupCommitter<I, R> {
  let queue: Array<Pending<I, R>> = [];
  let running = false;
  let scheduled = false;
  let idleWaiters: Array<() => void> = [];

  function schedule(): void {
    if (running || scheduled || queue.length === 0) return;
    scheduled = true;
    // setImmediate, not a microtask: every request whose body finished arriving in this turn of the event
    // loop joins the batch before it is committed.
    setImmediate(() => {
      scheduled = false;
      void run();
    });
  }

  async function run(): Promise<void> {
    running = true;
    const batch = queue.slice(0, options.maxBatch);
    queue = queue.slice(batch.length);
    const started = performance.now();
    try {
      const results = await options.commit(batch.map((p) => p.item));
      options.onBatch?.(batch.length, (performance.now() - started) / 1000, true);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      options.onBatch?.(batch.length, (performance.now() - started) / 1000, false);
      batch.forEach((p) => p.reject(error));
    } finally {
      running = false;
      schedule();
      if (queue.length === 0 && !running) {
        const waiters = idleWaiters;
        idleWaiters = [];
        waiters.forEach((w) => w());
      }
    }
  }

  return {
    submit(item) {
      if (queue.length >= options.maxQueue) return Promise.reject(new AppError('overloaded'));
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (queue.length === 0 && !running && !scheduled) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    get depth() {
      return queue.length;
    },
  };
}
