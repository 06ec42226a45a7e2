import { Kysely } from 'kysely';
import { createPaceBuckets } from '../../domain/pace.js';
import type { OverlapRule, Storage, StorageOptions } from '../ports.js';
import type { Database } from '../schema.js';
import { createKyselyStorage } from '../shared/storage.js';
import { openConnection } from './connection.js';
import { SqliteThreadDialect } from './thread-dialect.js';
import { createAdminWriter, createReaderPool } from './threads.js';
import { createSqliteWriter } from './writer.js';

/**
 * The writer thread runs one transaction at a time, so a second batch handed over beside a committing one only
 * waits there, ready to start the moment the first ends. Handed over as soon as one event waits, it took what
 * came in one turn of the event loop: under a steady load a large batch, then a small one (5.4 events per
 * commit at 16 connections, 17.4 at 50). Balanced, the second goes once as many wait as the first holds:
 * 8 and 24.9 events per commit, bytes written per event −17 % at 16 connections and −10 % at 50; CPU per event −12 %
 * on the means of 8 pairs at 16 connections (lower or equal in 7), the same within the noise at 50 and 256
 * (docs/benchmarks.md, issue 15).
 */
const commitOverlap: OverlapRule = { kind: 'balanced', cap: 32 };
/** Checkpoint passes one upkeep runs at most, and what a pass may leave behind for the hot writer's restart. */
const maxCheckpointPasses = 8;
const fewFrames = 64;
/** How long the upkeep waits after finding a long read holding the WAL back. */
const longReadBackoffMs = 2000;

/**
 * SQLite on a real file: reads and administration through Kysely, each statement on a thread (threads.ts:
 * reader threads, an admin writer), the ingest appends on a writer thread's connection (writer.ts). WAL lets
 * them all work at once; nothing runs SQL on the thread that accepts webhooks.
 */
export function openSqlite(path: string, options: StorageOptions = {}): Storage {
  // Created (and put in WAL mode) here, once, so that the read-only threads find the file whatever comes first.
  openConnection(path).close();
  const thread = { path, busyTimeoutMs: options.busyTimeoutMs ?? 5000 };
  const size = options.readers ?? 2;
  const writer = createAdminWriter(thread);
  // Two pools of readers: the query API's reads (stats, the call list and export: they may be heavy), under
  // the statement time limit, and every other read (token and key lookups, the stream, a call's detail),
  // which must never wait behind a heavy one.
  const queryReaders = createReaderPool({ ...thread, size, nice: options.readerNice ?? 0 });
  // Lookups, the stream and details are light but many: never fewer than two threads for them.
  const otherReaders = createReaderPool({ ...thread, size: Math.max(2, size), nice: 0 });
  const db = new Kysely<Database>({ dialect: new SqliteThreadDialect({ readers: otherReaders, writer }) });
  const timeoutMs = options.statementTimeoutMs ?? 0;
  const reads = new Kysely<Database>({ dialect: new SqliteThreadDialect({ readers: queryReaders, writer, timeoutMs }) });
  // The writer starts on the first append, after migrations: it prepares its statements against the tables.
  const hotWriter = createSqliteWriter(path, options);
  /** The WAL's length (frames) at the last restart: an upkeep that finds it unchanged has nothing to do. */
  let restartedAt: number | null = null;
  /** How far the last look got when a reader held the WAL back (null: it was not held), and when to look again. */
  let heldAt: number | null = null;
  let heldUntil = 0;
  /** One PASSIVE pass: the WAL's length when it copied all of it (null: a reader's snapshot held some back), and how far it got. */
  const passive = async () => {
    const result = await writer.write({ sql: 'pragma wal_checkpoint(PASSIVE)', parameters: [], arrays: false });
    const [state] = 'rows' in result ? (result.rows as Array<{ log: number; checkpointed: number }>) : [];
    return { end: state && state.checkpointed === state.log ? state.log : null, checkpointed: state?.checkpointed ?? -1 };
  };
  // One process has the database (its lock file): its destinations' rate buckets are exact in its memory.
  const buckets = createPaceBuckets(() => performance.now());
  return createKyselyStorage(db, 'sqlite', {
    reads,
    append: hotWriter.append,
    commitOverlap,
    claim: hotWriter.claim,
    complete: hotWriter.complete,
    pace: async (requests, maxWaitMs) => requests.map((r) => buckets.reserve(r.destinationId, r.perSecond, r.count, maxWaitMs)),
    async arrayRows(query) {
      const result = await queryReaders.read({ sql: query.sql, parameters: query.parameters, arrays: true }, timeoutMs);
      if (!('rows' in result)) throw new Error('arrayRows runs selects only');
      return result.rows as unknown[][];
    },
    async timeBuckets(query) {
      const result = await queryReaders.read({ timeBuckets: query }, timeoutMs);
      if (!('json' in result)) throw new Error('timeBuckets answers JSON');
      return result.json;
    },
    async csvRows(query, into) {
      const result = await queryReaders.read({ sql: query.sql, parameters: query.parameters, arrays: true, csv: true, ...(into ? { into } : {}) }, timeoutMs);
      if (!('csv' in result)) throw new Error('csvRows runs selects only');
      return result.csv;
    },
    // PASSIVE: copies what no reader still needs and fsyncs the database file, without blocking the writer;
    // again while the pass before it left more than a few frames behind (the frames committed during it), so
    // that the last pass leaves only a few. Then the hot writer, between two batches, copies those and
    // restarts the WAL (writer-worker.ts, restartWal), when the first checkpoint reached the end of the WAL as
    // it found it (no reader held an older snapshot). The restart holds the ingest's commits for as long as it
    // copies: with one pass after the first, it copied what ~40 ms of load wrote and held them 40–100 ms, every
    // two seconds (the ingest's p99; docs/benchmarks.md, issue 16). It runs every SWITCHBOARD_CHECKPOINT_MS
    // (250 ms): the fsync that ends a pass writes out what the pass copied, and the commits' fsyncs wait behind
    // it on the disk, so many small ones hold them less than a few large ones (docs/benchmarks.md, issue 15).
    maintain: async () => {
      if (Date.now() < heldUntil) return;
      let { end, checkpointed } = await passive();
      // Nothing committed since the last restart (the WAL still ends where it did then) or ever: an idle
      // database costs one look.
      if (end === 0 || end === restartedAt) return;
      for (let pass = 1; end !== null && pass < maxCheckpointPasses; pass++) {
        const previous = end;
        ({ end, checkpointed } = await passive());
        if (end !== null && end - previous <= fewFrames) break;
      }
      if (end === null) {
        // A reader's snapshot holds the WAL back. Held at the same frame as at the last look, it is a long read
        // (a report over months): the next looks could copy nothing more, and looking every 250 ms beside
        // such reads made the ingest's p99 worse than every 2 s did (docs/benchmarks.md, issue 15), so wait.
        if (checkpointed === heldAt) heldUntil = Date.now() + longReadBackoffMs;
        heldAt = checkpointed;
        return;
      }
      heldAt = null;
      await hotWriter.restartWal();
      restartedAt = end;
    },
    // The readers first, the writers last: SQLite checkpoints the WAL and deletes it (and the -shm) when the last
    // connection closes, unless that one is read-only. Closed together, a reader was often last, and every clean
    // shutdown left both files beside the database.
    async beforeClose() {
      await Promise.all([queryReaders.close(), otherReaders.close()]);
      await hotWriter.close();
      await writer.close();
    },
  });
}
