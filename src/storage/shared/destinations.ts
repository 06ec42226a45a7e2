import type { Kysely } from 'kysely';
import type { Destinations } from '../ports.js';
import type { Database } from '../schema.js';

// Placeholder: being written (destinations administration through Kysely).
export function createDestinations(_db: Kysely<Database>): Destinations {
  const todo = () => Promise.reject(new Error('not implemented yet'));
  return { create: todo, get: todo, list: todo, update: todo, rotateSecret: todo, delete: todo };
}
