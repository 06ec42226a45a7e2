import type { FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';

/**
 * An `onRequest` hook: a URL holding NUL (`%00`, in its path or query) is answered 400 before any route
 * runs. PostgreSQL text cannot hold NUL, so such a filter or id fails the query (a 500) where SQLite would
 * match nothing; nothing stored holds one either (domain/well-formed.ts). `%2500`, an encoded `%00` text,
 * is not NUL and passes.
 */
export async function refuseNul(request: FastifyRequest): Promise<void> {
  if (/%00/i.test(request.url)) throw new AppError('invalid_request', { detail: 'The URL holds NUL (%00), which no stored value can contain.' });
}
