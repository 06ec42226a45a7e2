import { parentPort, workerData } from 'node:worker_threads';
import type { Database } from '../schema.js';
import { callCsvPage } from '../shared/call-csv.js';
import { asBuffer } from '../threads/cloned.js';
import { nameThread, niceThread } from '../threads/name.js';
import { errorReply, postReply, timeBucketsHere, type ReadsReply, type ReadsRequest, type StatementRequest } from '../threads/serve.js';
import { openPool, poolLimits, types } from './pool.js';

/**
 * The query API's reads on PostgreSQL (stats, the call list, the CSV export), on a thread of their own with
 * the read pool (read-thread.ts): what a heavy read costs this process (parsing thousands of rows, writing a
 * 3 MB stats answer or an export page) is spent here, not on the thread that accepts webhooks.
 */
export interface ReadThreadData {
  url: string;
  /** Connections: the query API's heavy reads at once (SWITCHBOARD_DB_READERS). */
  max: number;
  /** Each statement's limit (0: none); PostgreSQL cancels a read past it (57014, answered query_timeout). */
  statementTimeoutMs: number;
  /** The thread's nice value (Linux; 0: as the process). */
  nice: number;
  /** How long a read waits for a connection (SWITCHBOARD_PG_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
}
export type ReadRequest = ReadsRequest;
export type ReadReply = ReadsReply | { id: number; rows: unknown[]; changes?: number };

const { url, max, statementTimeoutMs, nice, connectTimeoutMs } = workerData as ReadThreadData;
nameThread('sb-pg-reads');
niceThread(nice);
// No parallel workers: PostgreSQL would give one report up to three cores (two workers and the leader), so
// SWITCHBOARD_DB_READERS would not bound what reports take from the ingest's commits.
const pool = openPool({
  connectionString: url,
  max,
  types,
  application_name: 'switchboard-reads',
  ...poolLimits(statementTimeoutMs, connectTimeoutMs, ' -c max_parallel_workers_per_gather=0'),
});
const port = parentPort!;
// The pool connects on its first read.
port.postMessage({ id: 0, ready: true } satisfies ReadReply);

async function run(request: StatementRequest): Promise<ReadReply> {
  const result = await pool.query({ text: request.sql, values: request.parameters.map(asBuffer), ...(request.arrays ? { rowMode: 'array' as const } : {}) });
  if (request.csv) return { id: request.id, csv: callCsvPage(result.rows as unknown[][], request.into) };
  // As Kysely's PostgreSQL driver counts affected rows.
  const writes = result.command === 'INSERT' || result.command === 'UPDATE' || result.command === 'DELETE' || result.command === 'MERGE';
  return { id: request.id, rows: result.rows ?? [], ...(writes ? { changes: result.rowCount ?? 0 } : {}) };
}

const timeBuckets = timeBucketsHere((kysely, createStats) =>
  createStats(new kysely.Kysely<Database>({ dialect: new kysely.PostgresDialect({ pool }) }), 'postgres'));

port.on('message', (request: ReadRequest) => {
  if ('close' in request) {
    void pool.end().finally(() => {
      port.postMessage({ id: request.id, closed: true } satisfies ReadReply);
      port.close();
    });
    return;
  }
  const answered: Promise<ReadReply> =
    'timeBuckets' in request ? timeBuckets(request.timeBuckets).then((json) => ({ id: request.id, json })) : run(request);
  answered.then(
    (reply) => postReply(port, reply),
    (error: unknown) => postReply(port, errorReply(request.id, error)),
  );
});
