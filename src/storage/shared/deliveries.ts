import type { Kysely } from 'kysely';
import type { Deliveries } from '../ports.js';
import type { Database } from '../schema.js';

// Placeholder: being written (deliveries listing, retry, replay through Kysely).
export function createDeliveryReads(_db: Kysely<Database>): Omit<Deliveries, 'claim' | 'complete'> {
  const todo = () => Promise.reject(new Error('not implemented yet'));
  return { get: todo, list: todo, retry: todo, replay: todo, pendingCount: todo };
}
