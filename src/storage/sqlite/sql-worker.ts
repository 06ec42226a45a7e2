import BetterSqlite3, { type Statement } from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { Database } from '../schema.js';
import { callCsvPage } from '../shared/call-csv.js';
import { csvRows } from './csv-rows.js';
import { openConnection } from './connection.js';
import { asBuffer } from '../threads/cloned.js';
import { errorReply, postReply, timeBucketsHere, type ReadsReply, type ReadsRequest, type StatementRequest } from '../threads/serve.js';
import { nameThread, niceThread } from '../threads/name.js';

/**
 * A SQLite connection on a thread of its own (threads.ts): runs the statements the main thread's Kysely
 * compiles, one at a time, and answers each with its rows or its changes. A reader opens the file read-only
 * and answers `write` for a statement that would write, which the main thread sends to the admin writer.
 */
export interface SqlThreadData {
  path: string;
  readonly: boolean;
  busyTimeoutMs: number;
  /** The thread's nice value (Linux; 0: as the process). */
  nice: number;
}
export type SqlRequest = ReadsRequest;
export type SqlReply =
  | ReadsReply
  | { id: number; rows: unknown[] }
  | { id: number; changes: number; lastInsertRowid: number | bigint }
  | { id: number; write: true };

const { path, readonly, busyTimeoutMs, nice } = workerData as SqlThreadData;
nameThread(readonly ? 'sb-reader' : 'sb-admin');
niceThread(nice);
// A reader needs no WAL setup: the file was opened (and put in WAL mode) by openSqlite before any thread.
const db = readonly ? new BetterSqlite3(path, { readonly: true, fileMustExist: true }) : openConnection(path);
db.pragma(`busy_timeout = ${busyTimeoutMs}`);
const port = parentPort!;
// Starting a thread and opening the file take a while on a busy machine: the time limit counts from here.
port.postMessage({ id: 0, ready: true } satisfies SqlReply);

// The API's query shapes are few (one per combination of filters); an export runs one per page, thousands.
const statements = new Map<string, Statement>();
function prepare(sql: string): Statement {
  let statement = statements.get(sql);
  if (!statement) {
    if (statements.size >= 128) statements.clear();
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}


function run(request: StatementRequest): SqlReply {
  const statement = prepare(request.sql);
  if (readonly && !statement.readonly) return { id: request.id, write: true };
  const parameters = request.parameters.map(asBuffer);
  // The page's text leaves as one buffer, moved rather than copied; the main thread only writes it out.
  if (request.csv) return { id: request.id, csv: callCsvPage(csvRows(prepare, request.sql, statement, parameters), request.into) };
  if (statement.reader) return { id: request.id, rows: statement.raw(request.arrays).all(...parameters) };
  const { changes, lastInsertRowid } = statement.run(...parameters);
  return { id: request.id, changes, lastInsertRowid };
}

const timeBuckets = timeBucketsHere((kysely, createStats) =>
  createStats(new kysely.Kysely<Database>({ dialect: new kysely.SqliteDialect({ database: db }) }), 'sqlite'));

const answer = (reply: SqlReply) => postReply(port, reply);

port.on('message', (request: SqlRequest) => {
  if ('close' in request) {
    db.close();
    port.postMessage({ id: request.id, closed: true } satisfies SqlReply);
    port.close();
    return;
  }
  if ('timeBuckets' in request) {
    timeBuckets(request.timeBuckets).then(
      (json) => answer({ id: request.id, json }),
      (error) => answer(errorReply(request.id, error)),
    );
    return;
  }
  try {
    answer(run(request));
  } catch (error) {
    answer(errorReply(request.id, error));
  }
});
