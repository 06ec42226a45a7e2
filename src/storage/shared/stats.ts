import type { Kysely } from 'kysely';
import type { Dialect } from '../migrations.js';
import type { Stats } from '../ports.js';
import type { Database } from '../schema.js';

// Being built (issue 4): stats grouped by hour, day, widget, agent or source.
export function createStats(_db: Kysely<Database>, _dialect: Dialect): Stats {
  return {};
}
