import {
  CompiledQuery, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult,
} from 'kysely';
import type { AdminWriter, ReaderPool, SqlResult, SqlStatement } from './threads.js';
import { reviveBuffers } from '../threads/cloned.js';

export interface ThreadDialectOptions {
  readers: ReaderPool;
  writer: AdminWriter;
  /** The time limit of each read (0: none). */
  timeoutMs?: number;
}

/**
 * Kysely's SQLite dialect with every statement run on a thread (threads.ts) rather than on the caller's:
 * the shared query code (storage/shared/) is the same on both backends and does not know. Outside a
 * transaction, a statement goes to a reader, and on to the admin writer when it writes; a transaction holds
 * the admin writer from `begin immediate` to its end, so no other statement lands inside it.
 *
 * `timeoutMs` (0: none) limits each read: past it the read answers `query_timeout` (threads.ts).
 */
export class SqliteThreadDialect implements Dialect {
  constructor(private readonly threads: ThreadDialectOptions) {}

  createAdapter() {
    return new TransactionalDdlAdapter();
  }
  createDriver(): Driver {
    return new ThreadDriver(this.threads);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db);
  }
}

/**
 * SQLite's DDL is transactional, but Kysely's SQLite adapter says otherwise, so its migrator ran each statement
 * of an upgrade in a commit of its own: an upgrade cut by a crash or a failing statement left a migration half
 * applied and unrecorded, which the next start could not run again; and each statement waited for its own sync
 * to the disk. Told the truth, the migrator runs the pending migrations in one transaction, as on PostgreSQL.
 */
class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ThreadDriver implements Driver {
  constructor(private readonly threads: ThreadDialectOptions) {}

  async init(): Promise<void> {}
  async acquireConnection(): Promise<ThreadConnection> {
    return new ThreadConnection(this.threads);
  }
  async beginTransaction(connection: ThreadConnection): Promise<void> {
    await connection.begin();
  }
  async commitTransaction(connection: ThreadConnection): Promise<void> {
    await connection.end('commit');
  }
  async rollbackTransaction(connection: ThreadConnection): Promise<void> {
    await connection.end('rollback');
  }
  async releaseConnection(connection: ThreadConnection): Promise<void> {
    connection.unlock();
  }
  // The threads belong to the storage, which closes them (sqlite/index.ts).
  async destroy(): Promise<void> {}
}

class ThreadConnection implements DatabaseConnection {
  private release: (() => void) | null = null;

  constructor(private readonly threads: ThreadDialectOptions) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const statement: SqlStatement = { sql: query.sql, parameters: query.parameters, arrays: false };
    const { readers, writer } = this.threads;
    if (this.release) return toResult(await writer.write(statement));
    const read = await readers.read(statement, this.threads.timeoutMs ?? 0);
    if (!('write' in read)) return toResult(read);
    const release = await writer.lockWriter();
    try {
      return toResult(await writer.write(statement));
    } finally {
      release();
    }
  }

  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming is not supported by the SQLite thread dialect');
  }

  /** IMMEDIATE: the write lock is taken now, so the transaction cannot fail later on upgrading to it. */
  async begin(): Promise<void> {
    this.release = await this.threads.writer.lockWriter();
    try {
      await this.threads.writer.write({ sql: 'begin immediate', parameters: [], arrays: false });
    } catch (error) {
      this.unlock();
      throw error;
    }
  }

  /** A failed commit is rolled back here, before the writer is released to anyone else. */
  async end(command: 'commit' | 'rollback'): Promise<void> {
    if (!this.release) return;
    try {
      await this.threads.writer.write({ sql: command, parameters: [], arrays: false });
    } catch (error) {
      if (command === 'commit') await this.threads.writer.write({ sql: 'rollback', parameters: [], arrays: false }).catch(() => {});
      throw error;
    } finally {
      this.unlock();
    }
  }

  unlock(): void {
    this.release?.();
    this.release = null;
  }
}

function toResult<R>(result: SqlResult): QueryResult<R> {
  if ('rows' in result) return { rows: result.rows.map(reviveBuffers) as R[] };
  if ('changes' in result) return { numAffectedRows: BigInt(result.changes), insertId: BigInt(result.lastInsertRowid), rows: [] };
  throw new Error('a read-only thread was asked to write');
}
