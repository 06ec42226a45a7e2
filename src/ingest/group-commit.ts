import { AppError } from '../domain/errors.js';
import type { OverlapRule } from '../storage/ports.js';

/**
 * Group commit: requests that arrive together share one transaction, and each is answered only after that
 * transaction commits. Whatever arrives while commits run forms the next batch. Up to `maxInFlight` batches
 * are handed to the storage at once, so the next one is ready the moment the disk finishes the current one;
 * the storage keeps them in order (SQLite: one writer thread; PostgreSQL: a transaction lock). A failed commit
 * rejects exactly the requests that were in it.
 *
 * Background items (the reconciler's appends) wait in their own queue and join each batch a few at a time, so
 * that a long backlog of them never doubles the batches the ingest's requests wait on.
 */
export interface GroupCommitter<I, R> {
  submit(item: I, lane?: 'background'): Promise<R>;
  /** Resolves once nothing is queued and no commit is running. */
  drain(): Promise<void>;
  readonly depth: number;
}

export interface GroupCommitOptions<I, R> {
  commit: (items: I[]) => Promise<R[]>;
  maxBatch: number;
  /** Batches handed to the storage at the same time. */
  maxInFlight: number;
  /** When a batch is handed to the storage beside one still committing (default: as soon as one item waits). */
  overlap?: OverlapRule;
  /** Beyond this many waiting items, submit() fails fast with `overloaded` instead of queueing. */
  maxQueue: number;
  /** Background items one batch takes at most (default 4). */
  maxBackgroundPerBatch?: number;
  onBatch?: (size: number, seconds: number, ok: boolean) => void;
}

interface Pending<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export function createGroupCommitter<I, R>(options: GroupCommitOptions<I, R>): GroupCommitter<I, R> {
  let queue: Array<Pending<I, R>> = [];
  let background: Array<Pending<I, R>> = [];
  const maxBackground = options.maxBackgroundPerBatch ?? 4;
  const waiting = (): number => queue.length + background.length;
  let inFlight = 0;
  let scheduled = false;
  let idleWaiters: Array<() => void> = [];

  const overlap = options.overlap ?? { kind: 'fixed', waiting: 1 };
  /** The size of the batch handed over last (the `balanced` rule's threshold). */
  let lastBatch = 1;
  const overlapAt = (): number => (overlap.kind === 'fixed' ? overlap.waiting : Math.min(lastBatch, overlap.cap));

  function schedule(): void {
    if (inFlight >= options.maxInFlight || scheduled || waiting() === 0) return;
    if (inFlight > 0 && waiting() < overlapAt()) return;
    scheduled = true;
    // setImmediate, not a microtask: every request whose body finished arriving in this turn of the event
    // loop joins the batch before it is committed.
    setImmediate(() => {
      scheduled = false;
      void run();
      schedule();
    });
  }

  async function run(): Promise<void> {
    inFlight++;
    const batch = queue.slice(0, options.maxBatch);
    queue = queue.slice(batch.length);
    const extra = background.slice(0, Math.min(maxBackground, options.maxBatch - batch.length));
    background = background.slice(extra.length);
    batch.push(...extra);
    lastBatch = batch.length;
    const started = performance.now();
    let ok = false;
    try {
      const results = await options.commit(batch.map((p) => p.item));
      ok = true;
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      batch.forEach((p) => p.reject(error));
    } finally {
      try {
        options.onBatch?.(batch.length, (performance.now() - started) / 1000, ok);
      } catch {
        // Observing a batch must never change its outcome.
      }
      inFlight--;
      schedule();
      if (waiting() === 0 && inFlight === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        waiters.forEach((w) => w());
      }
    }
  }

  return {
    submit(item, lane) {
      if (waiting() >= options.maxQueue) return Promise.reject(new AppError('overloaded'));
      return new Promise<R>((resolve, reject) => {
        (lane === 'background' ? background : queue).push({ item, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (waiting() === 0 && inFlight === 0 && !scheduled) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    get depth() {
      return waiting();
    },
  };
}
