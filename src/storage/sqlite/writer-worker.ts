import { parentPort, workerData } from 'node:worker_threads';
import type { ClaimShare, DeliveryOutcome, NewEvent, StorageOptions } from '../ports.js';
import { createSqliteAppend } from './append.js';
import { openConnection } from './connection.js';
import { decodeBatch, type EncodedBatch } from './batch-codec.js';
import { asBuffer } from '../threads/cloned.js';
import { createSqliteDeliveryWrites } from './deliveries.js';
import { nameThread } from '../threads/name.js';

/** The SQLite writer thread: runs the hot-path writes on its own connection, one at a time, and answers each. */
export type WriterRequest =
  | { id: number; op: 'append'; batch: EncodedBatch; stored: boolean }
  | { id: number; op: 'claim'; now: number; limit: number; leaseMs: number; share?: ClaimShare }
  | { id: number; op: 'complete'; outcomes: DeliveryOutcome[]; now: number }
  | { id: number; op: 'restartWal' }
  | { id: number; op: 'close' };
/** `code`: SQLite's error code (SQLITE_CONSTRAINT_…), which the callers tell refusals by. */
export type WriterReply = { id: number; results?: unknown; error?: string; code?: string };

const { path, options } = workerData as { path: string; options: StorageOptions };
nameThread('sb-writer');
const db = openConnection(path);
// Appends land on random pages of the call indexes; with SQLite's default 2 MB page cache most of them
// would be read back from the file first. 16 MB keeps the hot part of the indexes in memory.
db.pragma('cache_size = -16384');
// No checkpoint inside the ingest's commits: while a long read holds an old snapshot the WAL cannot be reset,
// so SQLite would try one after every commit past 1,000 pages, and when the read ends, copy everything it
// had held back and fsync the database file inside the next commit (the ingest's p99 under read load).
// The admin writer thread checkpoints instead, every SWITCHBOARD_CHECKPOINT_MS (storage.maintain()).
db.pragma('wal_autocheckpoint = 0');
const append = createSqliteAppend(db, options);
const deliveries = createSqliteDeliveryWrites(db, append);
const port = parentPort!;

const revive = (events: NewEvent[]) => events.map((e) => (e.body ? { ...e, body: asBuffer(e.body) } : e));

function run(request: Exclude<WriterRequest, { op: 'close' }>): unknown {
  switch (request.op) {
    case 'append':
      // Without the call record (ports.ts, AppendResult.call): a few fields cross back, not an object graph;
      // its stored text too when the stream wants the events (a string, copied once; writer.ts).
      return append(decodeBatch(request.batch)).map(({ call: _call, callText, ...result }) =>
        request.stored && callText !== undefined ? { ...result, callText } : result);
    case 'claim':
      return deliveries.claim(request.now, request.limit, request.leaseMs, request.share);
    case 'complete': {
      // Only an outcome with events is copied (their bodies crossed as bytes; a success, the common case, has none).
      const outcomes = request.outcomes.map((o) => (o.raises || o.disabledEvent ? {
        ...o, ...(o.raises ? { raises: revive([...o.raises]) } : {}), ...(o.disabledEvent ? { disabledEvent: revive([o.disabledEvent])[0] } : {}),
      } : o));
      const { stale, appended, rescheduled } = deliveries.complete(outcomes, request.now);
      // The raised events' results without their call records, as an append's (the recorder only counts them).
      return { stale, ...(rescheduled ? { rescheduled } : {}), appended: appended.map(({ call: _call, callText: _text, ...result }) => result) };
    }
    case 'restartWal':
      return restartWal();
  }
}

/**
 * Lets the next commit write the WAL from its start again, between two batches, right after the admin writer
 * has checkpointed (storage.maintain()): only the frames committed meanwhile are left to copy. Under steady
 * load the admin writer's checkpoint never catches up with the end of the WAL, which SQLite needs before it
 * restarts the file, so the WAL grew by every commit (~20 KB per event in the ingest bench) and each append
 * to the file's end made the kernel zero new pages (7 % of the server's CPU). Waits for nothing: a reader
 * still on an older snapshot leaves the WAL as it is, until the next try.
 */
function restartWal(): unknown {
  const busyTimeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    return db.pragma('wal_checkpoint(RESTART)', { simple: false });
  } finally {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
}

port.on('message', (request: WriterRequest) => {
  if (request.op === 'close') {
    db.close();
    port.postMessage({ id: request.id } satisfies WriterReply);
    port.close();
    return;
  }
  try {
    port.postMessage({ id: request.id, results: run(request) } satisfies WriterReply);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    port.postMessage({ id: request.id, error: (error as Error).message, ...(typeof code === 'string' ? { code } : {}) } satisfies WriterReply);
  }
});
