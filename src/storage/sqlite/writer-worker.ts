import { parentPort, workerData } from 'node:worker_threads';
import type { NewEvent } from '../ports.js';
import { createSqliteAppend } from './append.js';
import { openConnection } from './connection.js';

/** The SQLite writer thread: appends batches on its own connection, one at a time, and answers each. */
export type WriterRequest = { id: number; batch: NewEvent[] } | { id: number; close: true };
export type WriterReply = { id: number; results?: unknown; error?: string };

const db = openConnection((workerData as { path: string }).path);
// Appends land on random pages of the call indexes; with SQLite's default 2 MB page cache most of them
// would be read back from the file first. 16 MB keeps the hot part of the indexes in memory.
db.pragma('cache_size = -16384');
const append = createSqliteAppend(db);
const port = parentPort!;

port.on('message', (request: WriterRequest) => {
  if ('close' in request) {
    db.close();
    port.postMessage({ id: request.id } satisfies WriterReply);
    port.close();
    return;
  }
  try {
    // Buffers arrive as plain Uint8Arrays after the structured clone.
    const batch = request.batch.map((e) => (e.body ? { ...e, body: Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength) } : e));
    port.postMessage({ id: request.id, results: append(batch) } satisfies WriterReply);
  } catch (error) {
    port.postMessage({ id: request.id, error: (error as Error).message } satisfies WriterReply);
  }
});
