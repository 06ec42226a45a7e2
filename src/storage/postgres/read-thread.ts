import {
  PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult,
} from 'kysely';
import type { CsvPage, TimeBuckets } from '../ports.js';
import { reviveBuffers } from '../threads/cloned.js';
import { startStorageThread, type StorageThread } from '../threads/client.js';
import type { ReadsAsk } from '../threads/serve.js';
import type { ReadReply, ReadRequest, ReadThreadData } from './read-worker.js';

/**
 * The query API's reads on PostgreSQL, sent to the read thread (read-worker.ts), which holds their pool. A
 * thread that dies fails the reads it held; the next read starts another.
 */
export function createReadThread(data: ReadThreadData) {
  let thread: StorageThread<ReadRequest, ReadReply> | null = null;
  async function send(request: ReadsAsk) {
    if (!thread || thread.dead) thread = startStorageThread<ReadRequest, ReadReply>('postgres/read-worker.js', data, 16);
    await thread.ready;
    return thread.send(request);
  }
  const select = (query: CompiledQuery, arrays: boolean) => ({ sql: query.sql, parameters: query.parameters, arrays });

  return {
    async rows(query: CompiledQuery, arrays: boolean): Promise<{ rows: unknown[]; changes?: number }> {
      const reply = await send(select(query, arrays));
      if (!('rows' in reply)) throw new Error('the read thread answered no rows');
      return reply;
    },
    async csvRows(query: CompiledQuery, into?: ArrayBuffer): Promise<CsvPage> {
      const reply = await send({ ...select(query, true), csv: true, ...(into ? { into } : {}) });
      if (!('csv' in reply)) throw new Error('the read thread answered no CSV page');
      return reply.csv;
    },
    async timeBuckets(query: TimeBuckets): Promise<Uint8Array> {
      const reply = await send({ timeBuckets: query });
      if (!('json' in reply)) throw new Error('the read thread answered no JSON');
      return reply.json;
    },
    async close(): Promise<void> {
      await thread?.close();
      thread = null;
    },
  };
}

export type ReadThread = ReturnType<typeof createReadThread>;

/**
 * Kysely's PostgreSQL dialect with every statement run on the read thread: the shared query code
 * (storage/shared/) does not know. Reads only: no transactions.
 */
export class ReadThreadDialect implements Dialect {
  constructor(private readonly thread: ReadThread) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    const connection: DatabaseConnection = {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        const { rows, changes } = await this.thread.rows(query, false);
        return { rows: rows.map(reviveBuffers) as R[], ...(changes !== undefined ? { numAffectedRows: BigInt(changes) } : {}) };
      },
      streamQuery: () => {
        throw new Error('the read thread does not stream');
      },
    };
    const noTransactions = async () => {
      throw new Error('the query API reads run no transactions');
    };
    return {
      init: async () => {},
      acquireConnection: async () => connection,
      beginTransaction: noTransactions,
      commitTransaction: noTransactions,
      rollbackTransaction: noTransactions,
      releaseConnection: async () => {},
      // The thread belongs to the storage, which closes it (postgres/index.ts).
      destroy: async () => {},
    };
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}
