import { Worker } from 'node:worker_threads';
import type { AppendOptions, AppendResult, ClaimShare, CompleteResult, Delivery, DeliveryOutcome, NewEvent, StorageOptions } from '../ports.js';
import { storedEventOf } from '../shared/event-log.js';
import type { SqliteAppendResult } from './append.js';
import { encodeBatch } from './batch-codec.js';
import { workerScript } from '../threads/script.js';
import { workerHeapLimits } from '../threads/heap.js';
import type { DistributiveOmit } from '../threads/client.js';
import type { WriterReply, WriterRequest } from './writer-worker.js';

/**
 * Runs the SQLite hot-path writes (the append, and the delivery worker's claims and outcomes) in a worker
 * thread, so that one connection does all the frequent writing and they never wait on each other's locks. better-sqlite3 is synchronous, so an append on the main thread
 * would stop the event loop for the whole transaction, statements and fsync; in a worker, the main thread
 * keeps reading and parsing the next batch's requests meanwhile, and the merge of calls runs off the thread
 * that serves HTTP (docs/architecture.md, "One query code where the dialects allow").
 */
export function createSqliteWriter(path: string, options: StorageOptions = {}) {
  let worker: Worker | null = null;
  /** Closed: no writer starts again (its connection would outlive the others, and keep the WAL on disk). */
  let closed = false;
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  function failAll(error: Error): void {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    worker = null;
  }

  function start(): Worker {
    // A small young generation: the writer allocates little per batch, and the default lets its heap
    // grow by tens of megabytes under load for nothing.
    const w = new Worker(workerScript('sqlite/writer-worker.js'), { workerData: { path, options }, resourceLimits: workerHeapLimits(8) });
    w.on('message', (reply: WriterReply) => {
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      // With the database's code, as the same error thrown on this thread would have it.
      if (reply.error !== undefined) p?.reject(Object.assign(new Error(reply.error), reply.code === undefined ? {} : { code: reply.code }));
      else p?.resolve(reply.results);
    });
    // A writer that dies fails only the batches it held; the next append starts a new one.
    w.on('error', (error) => failAll(error));
    w.on('exit', (code) => failAll(new Error(`SQLite writer exited (code ${code})`)));
    return w;
  }

  function send(request: DistributiveOmit<WriterRequest, 'id'>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (closed && !worker) return Promise.reject(new Error('the SQLite database is closed'));
    worker ??= start();
    const target = worker;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      target.postMessage({ id, ...request }, transfer);
    });
  }

  return {
    /**
     * With `stored`, each fresh event's result holds the event as `readAfter` would read it, made here from
     * the batch (its bodies are still this thread's: encodeBatch copied them) and the record's text the
     * writer stored beside it.
     */
    append: async (batch: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult[]> => {
      const encoded = encodeBatch(batch);
      const stored = options.stored === true;
      const results = (await send({ op: 'append', batch: encoded, stored }, [encoded.bodies])) as SqliteAppendResult[];
      if (!stored) return results;
      return results.map(({ callText, ...result }, i) => (callText === undefined ? result : { ...result, stored: storedEventOf(batch[i]!, result.seq, callText) }));
    },
    claim: (now: number, limit: number, leaseMs: number, share?: ClaimShare) => send({ op: 'claim', now, limit, leaseMs, share }) as Promise<Delivery[]>,
    complete: (outcomes: readonly DeliveryOutcome[], now: number) => send({ op: 'complete', outcomes: [...outcomes], now }) as Promise<CompleteResult>,
    /** Restarts the WAL between two batches (writer-worker.ts); nothing when the writer has not started. */
    restartWal: async (): Promise<void> => {
      if (worker) await send({ op: 'restartWal' });
    },
    async close(): Promise<void> {
      closed = true;
      if (!worker) return;
      const w = worker;
      const exited = new Promise((resolve) => w.once('exit', resolve));
      await send({ op: 'close' }).catch(() => {});
      await exited;
    },
  };
}
