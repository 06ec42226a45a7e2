import type { Kysely } from 'kysely';
import type { Dialect } from '../migrations.js';
import type { CallQueries } from '../ports.js';
import type { Database } from '../schema.js';

// Being built (issue 4): the call list with its filters and cursor, and the CSV export's reads.
export function createCallQueries(_db: Kysely<Database>, _dialect: Dialect): CallQueries {
  return {};
}
