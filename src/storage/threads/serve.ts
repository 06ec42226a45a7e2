import type { MessagePort } from 'node:worker_threads';
import type { CsvPage, Stats, TimeBuckets } from '../ports.js';
import type { createStats } from '../shared/stats.js';
import type { DistributiveOmit } from './client.js';

/** A storage thread's side of the protocol in client.ts. */
export type ReplyError = { message: string; code?: string };

/**
 * A statement the main thread's Kysely compiled; `arrays`: rows as arrays; `csv`: a select of `callCsvSelect`
 * answered as the export's page, written on the thread (storage/shared/call-csv.ts), into `into` if given (the
 * memory of a page already sent, moved to the thread with the request: client.ts).
 */
export type StatementRequest = { id: number; sql: string; parameters: readonly unknown[]; arrays: boolean; csv?: boolean; into?: ArrayBuffer };
/** What a thread of the query API's reads is asked (SQLite's sql-worker.ts, PostgreSQL's read-worker.ts). */
export type ReadsRequest = StatementRequest | { id: number; timeBuckets: TimeBuckets } | { id: number; close: true };
/** A statement or the stats' hours or days, as the main thread asks (the client gives the id). */
export type ReadsAsk = DistributiveOmit<Exclude<ReadsRequest, { close: true }>, 'id'>;
/** Its answers, beside each backend's rows and changes. */
export type ReadsReply =
  | { id: number; csv: CsvPage }
  | { id: number; json: Uint8Array }
  | { id: number; error: ReplyError }
  | { id: number; closed: true }
  | { id: 0; ready: true };

/**
 * The stats' hours and days, whole, on this thread: the ranges in the caller's zone, their aggregates (the
 * shared query code, storage/shared/stats.ts, over the thread's own connection, which `open` gives Kysely)
 * and the answer's JSON. 13 months of hours are 9,500 rows and 3 MB of text; made on the thread that
 * accepts webhooks they cost it ~60 ms of CPU and its collector more, each time (docs/benchmarks.md).
 * Kysely is loaded on the first such request (~110 ms of a thread's start that only lists and searches
 * would pay for nothing).
 */
export function timeBucketsHere(
  open: (kysely: typeof import('kysely'), stats: typeof createStats) => Stats,
): (query: TimeBuckets) => Promise<Uint8Array> {
  let stats: Promise<Stats> | null = null;
  return async (query) => {
    stats ??= Promise.all([import('kysely'), import('../shared/stats.js')])
      .then(([kysely, { createStats }]) => open(kysely, createStats))
      .catch((error: unknown) => {
        stats = null;
        throw error;
      });
    return (await stats).timeBuckets(query);
  };
}

/** The answer to a request that failed, as the client rejects it (with the error's code, if any: storage/errors.ts reads it). */
export function errorReply(id: number, error: unknown): { id: number; error: ReplyError } {
  const e = error as Error & { code?: unknown };
  return { id, error: { message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}) } };
}

/** Posts a reply, an export page's or a stats answer's bytes moved rather than copied (the main thread only writes them out). */
export function postReply(port: MessagePort, reply: { id: number; csv?: CsvPage; json?: Uint8Array }): void {
  const moved = reply.csv ? reply.csv.bytes.buffer : reply.json ? reply.json.buffer : null;
  port.postMessage(reply, moved ? [moved as ArrayBuffer] : []);
}
