import { Worker } from 'node:worker_threads';
import { workerHeapLimits } from './heap.js';
import { workerScript } from './script.js';
import type { ReplyError } from './serve.js';

/**
 * The protocol of a storage thread that answers requests (sqlite/sql-worker.ts, postgres/read-worker.ts; their
 * side: serve.ts):
 * it says `{ id: 0, ready: true }` once its connection is open, answers each `{ id, … }` with the same id
 * (an `error` when it failed), and `{ id, close: true }` with `{ id, closed: true }` before it exits.
 */
export type Answered<Reply> = Exclude<Reply, { error: ReplyError } | { closed: true } | { ready: true }>;

export interface StorageThread<Request, Reply> {
  /** Resolves once the thread has opened its connection. */
  readonly ready: Promise<void>;
  /** The thread's answer; its `error` reply rejects, with the error's message and code (storage/errors.ts reads it). */
  send(request: DistributiveOmit<Request, 'id'>): Promise<Answered<Reply>>;
  /** A request is running (or its answer is on its way). */
  readonly busy: boolean;
  readonly dead: boolean;
  terminate(): void;
  close(): Promise<void>;
}

/**
 * One worker thread (`script`, under src/storage/) answering requests; it keeps the process alive only while a
 * request runs. A thread that dies fails what it held and answers nothing more (`dead`): its owner starts
 * another.
 */
export function startStorageThread<Request extends { id: number }, Reply extends { id: number }>(
  script: string,
  workerData: unknown,
  youngGenerationMb: number,
): StorageThread<Request, Reply> {
  const worker = new Worker(workerScript(script), { workerData, resourceLimits: workerHeapLimits(youngGenerationMb) });
  worker.unref();
  const pending = new Map<number, { resolve: (reply: Answered<Reply>) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let dead = false;
  let closing = false;
  let opened!: () => void;
  let failed!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    opened = resolve;
    failed = reject;
  });
  ready.catch(() => {});

  function fail(error: Error): void {
    dead = true;
    failed(error);
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  }
  worker.on('message', (reply: Reply) => {
    if ('ready' in reply) return opened();
    const p = pending.get(reply.id);
    pending.delete(reply.id);
    // Closing, the thread holds the process until it has exited: an awaited close must settle.
    if (pending.size === 0 && !closing) worker.unref();
    if (!p) return;
    if ('error' in reply) {
      const { message, code } = reply.error as ReplyError;
      p.reject(Object.assign(new Error(message), code ? { code } : {}));
    } else p.resolve(reply as Answered<Reply>);
  });
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => fail(new Error(`storage thread ${script} exited (code ${code})`)));

  function send(request: DistributiveOmit<Request, 'id'>): Promise<Answered<Reply>> {
    if (dead) return Promise.reject(new Error(`storage thread ${script} is gone`));
    const id = nextId++;
    worker.ref();
    // A buffer the request hands the thread to write into is moved, not copied (serve.ts: StatementRequest).
    const into = (request as { into?: unknown }).into;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id }, into instanceof ArrayBuffer ? [into] : []);
    });
  }

  return {
    ready,
    send,
    get busy() {
      return pending.size > 0;
    },
    get dead() {
      return dead;
    },
    terminate() {
      fail(new Error(`storage thread ${script} terminated`));
      void worker.terminate();
    },
    async close() {
      if (dead) return;
      closing = true;
      worker.ref();
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      await send({ close: true } as unknown as DistributiveOmit<Request, 'id'>).catch(() => {});
      await exited;
    },
  };
}

export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
