import { inject } from 'vitest';
import { createDatabase } from '../../scripts/pg-cluster.mjs';

/** URL of a new, empty database on the test server, for one test's exclusive use. */
export async function freshPgDatabase(): Promise<string> {
  return createDatabase(inject('pgUrl'));
}
