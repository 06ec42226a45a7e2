import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Storage, StorageOptions } from '../ports.js';
import type { Database } from '../schema.js';
import { createKyselyStorage } from '../shared/storage.js';
import { appendChannel, createPostgresAppend } from './append.js';
import { createPostgresDeliveryWrites } from './deliveries.js';

// bigint (int8) arrives as a string by default; our bigints are epoch milliseconds and sequence numbers,
// all far below 2^53, so numbers are exact.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function openPostgres(url: string, options: StorageOptions & { maxConnections?: number } = {}): Storage {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, types });
  // An idle client that loses its connection emits 'error'; without a listener it would crash the process.
  pool.on('error', () => {});
  // A client in use when its connection drops (the database restarts, the network cuts) errors its query
  // and also emits 'error', which the pool listens for only while the client is idle: without this, one
  // query in flight at that moment would crash the process instead of failing (then answered 503).
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // The query API's reads (stats, the call list and export) on a small pool of their own whose sessions
  // carry the statement time limit: the server cancels a read past it (57014, answered as query_timeout),
  // and heavy reads can neither take every connection from the ingest and the worker nor, more than
  // SWITCHBOARD_DB_READERS at once, the database server's cores. Migrations and pruning, which may rightly
  // run long, stay on the main pool.
  const readPool = new pg.Pool({ connectionString: url, max: options.readers ?? 2, types, statement_timeout: options.statementTimeoutMs ?? 0 });
  readPool.on('error', () => {});
  const reads = new Kysely<Database>({ dialect: new PostgresDialect({ pool: readPool }) });
  const deliveries = createPostgresDeliveryWrites(db);
  return createKyselyStorage(db, 'postgres', {
    reads,
    append: createPostgresAppend(db, options.callObjectMaxBytes),
    claim: deliveries.claim,
    complete: deliveries.complete,
    arrayRows: async (query) => (await readPool.query({ text: query.sql, values: [...query.parameters], rowMode: 'array' })).rows as unknown[][],
    watchAppends: (onAppend) => watchAppends(url, onAppend),
  });
}

/**
 * LISTEN on a connection of its own (a pooled one would be handed to queries). Every append notifies in its
 * transaction, so other nodes' streams and workers wake at once; if the connection drops, it is opened again
 * after a second, and `onAppend` is called then too, since notifications may have been missed meanwhile.
 */
async function watchAppends(url: string, onAppend: () => void): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', () => onAppend());
    c.on('error', () => {
      c.end().catch(() => {});
      if (!stopped) retry = setTimeout(() => void connect().then(onAppend, () => {}), 1000);
    });
    await c.connect();
    await c.query(`listen ${appendChannel}`);
    client = c;
  }
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}
