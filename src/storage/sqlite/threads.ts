import { AppError } from '../../domain/errors.js';
import type { ReadsAsk } from '../threads/serve.js';
import type { SqlReply, SqlRequest, SqlThreadData } from './sql-worker.js';
import { startStorageThread, type Answered, type StorageThread } from '../threads/client.js';

/** A statement, or the stats' hours or days computed whole on the thread (sql-worker.ts). */
export type SqlStatement = ReadsAsk;
export type SqlResult = Answered<SqlReply>;

export interface ThreadOptions {
  path: string;
  /** How long a connection waits for a lock held elsewhere before it fails with SQLITE_BUSY. */
  busyTimeoutMs: number;
}

/**
 * SQLite statements run on threads, off the thread that accepts webhooks: a better-sqlite3 statement is
 * synchronous, so a heavy read (stats over 13 months, a substring search) or a write waiting on another
 * process's lock would stop the event loop, and every ingest acknowledgement with it. Reads go to pools of
 * reader threads (WAL lets them read beside the writers), one statement per thread at a time; administrative
 * writes and transactions go to one admin writer thread, in turn (`createAdminWriter`). The ingest's
 * hot-path writes keep their own writer thread (writer.ts).
 *
 * better-sqlite3 cannot interrupt a statement: a read past its time limit is abandoned, its thread is
 * terminated (it stops once the statement returns to JavaScript) and a fresh one takes its place.
 */
export function createReaderPool(options: ThreadOptions & { size: number; nice: number }) {
  const spawn = () => createSqlThread({ path: options.path, readonly: true, busyTimeoutMs: options.busyTimeoutMs, nice: options.nice });
  const idle: SqlThread[] = [];
  const waiting: Array<{ resolve: (thread: SqlThread) => void; reject: (error: Error) => void }> = [];
  let started = 0;
  /** Threads handed out and not back yet (one handed from a caller to a waiting one stays counted). */
  let inUse = 0;
  let closed = false;
  /** Once closed: each thread is closed as it comes back, and close() waits for the last. */
  const closings: Array<Promise<void>> = [];
  let allBack: (() => void) | null = null;

  async function acquire(): Promise<SqlThread> {
    if (closed) throw new Error('the SQLite database is closed');
    const ready = idle.pop();
    if (ready || started < options.size) {
      inUse++;
      if (ready) return ready;
      started++;
      return spawn();
    }
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  }
  /** A thread back from a statement (null: it was abandoned after the pool closed). */
  function release(thread: SqlThread | null): void {
    const next = thread && !closed ? waiting.shift() : undefined;
    if (next) return next.resolve(thread!);
    inUse--;
    if (thread && !closed) return void idle.push(thread);
    if (thread) closings.push(thread.close());
    if (inUse === 0) allBack?.();
  }

  return {
    /** A statement on a reader thread; `{ write: true }` when it would write. */
    async read(statement: SqlStatement, timeoutMs: number): Promise<SqlResult> {
      const thread = await acquire();
      let timer: NodeJS.Timeout | undefined;
      try {
        await thread.ready;
        const ran = thread.send(statement);
        if (timeoutMs <= 0) return await ran;
        const expired = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AppError('query_timeout', { limit_ms: timeoutMs })), timeoutMs);
        });
        return await Promise.race([ran, expired]);
      } finally {
        clearTimeout(timer);
        // Past its limit (or dead): the thread is abandoned and replaced (unless closed), so the pool keeps its size.
        const abandoned = thread.busy || thread.dead;
        if (abandoned) thread.terminate();
        release(!abandoned ? thread : closed ? null : spawn());
      }
    },

    /**
     * Closes every thread's connection, those in use once their statement is over: none may stay open past the
     * writers' (index.ts), and none is started after (a periodic job still running when the server stops).
     */
    async close(): Promise<void> {
      closed = true;
      for (const waiter of waiting.splice(0)) waiter.reject(new Error('the SQLite database is closed'));
      const threads = idle.splice(0);
      if (inUse > 0) await new Promise<void>((resolve) => (allBack = resolve));
      await Promise.all([...threads.map((t) => t.close()), ...closings]);
    },
  };
}

/** The one thread that runs administrative writes and transactions, one caller at a time (`lockWriter`). */
export function createAdminWriter(options: ThreadOptions) {
  let writer: SqlThread | null = null;
  let closed = false;
  let tail: Promise<void> = Promise.resolve();
  return {
    /** Waits for the writer; the caller runs its statements (or transaction), then calls the release. */
    lockWriter(): Promise<() => void> {
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      const turn = tail.then(() => release);
      tail = tail.then(() => done);
      return turn;
    },

    /** A statement on the admin writer thread (the caller holds `lockWriter`). */
    write(statement: SqlStatement): Promise<SqlResult> {
      if (closed) return Promise.reject(new Error('the SQLite database is closed'));
      if (!writer || writer.dead) writer = createSqlThread({ path: options.path, readonly: false, busyTimeoutMs: options.busyTimeoutMs, nice: 0 });
      return writer.send(statement);
    },

    async close(): Promise<void> {
      closed = true;
      await writer?.close();
      writer = null;
    },
  };
}

export type ReaderPool = ReturnType<typeof createReaderPool>;
export type AdminWriter = ReturnType<typeof createAdminWriter>;

type SqlThread = StorageThread<SqlRequest, SqlReply>;

/** One worker thread with one connection (sql-worker.ts). */
function createSqlThread(data: SqlThreadData): SqlThread {
  return startStorageThread<SqlRequest, SqlReply>('sqlite/sql-worker.js', data, 16);
}
