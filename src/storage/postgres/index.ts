import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Storage } from '../ports.js';
import type { Database } from '../schema.js';
import { createKyselyStorage } from '../shared/storage.js';
import { createPostgresAppend } from './append.js';

// bigint (int8) arrives as a string by default; our bigints are epoch milliseconds and sequence numbers,
// all far below 2^53, so numbers are exact.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function openPostgres(url: string, options: { maxConnections?: number } = {}): Storage {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, types });
  // An idle client that loses its connection emits 'error'; without a listener it would crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return createKyselyStorage(db, 'postgres', { append: createPostgresAppend(db) });
}
