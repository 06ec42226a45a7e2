import type { FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';

/**
 * PostgreSQL text cannot hold NUL (U+0000): a filter, id or name holding one fails the statement there (a
 * 500) where SQLite would store or compare it. Nothing stored holds one (domain/well-formed.ts), so such a
 * request is answered 400 before any route runs, the same on both backends. The ingest's raw bodies are
 * bytes kept as sent and are not looked at.
 */

/**
 * `onRequest`: an API URL (`/v1/…`) with `%00` in its path or query. (`%2500` is the text %00, not NUL, and
 * passes.) Ingest URLs keep their contract: a token holding NUL is an unknown token, 404, checked by its shape
 * before any database lookup.
 */
export async function refuseNul(request: FastifyRequest): Promise<void> {
  if (request.url.startsWith('/v1/') && /%00/i.test(request.url)) throw new AppError('invalid_request', { detail: 'The URL holds NUL (%00), which no stored value can contain.' });
}

/** `preValidation`: a JSON body with NUL in any string or key (the admin API's names, descriptions, headers). */
export async function refuseNulInBody(request: FastifyRequest): Promise<void> {
  const body: unknown = request.body;
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body) && holdsNul(body)) {
    throw new AppError('invalid_request', { detail: 'The body holds NUL (\\u0000), which no stored value can contain.' });
  }
}

/** Without recursion: a body is parsed JSON of any depth. */
function holdsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return true;
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (key.includes('\u0000')) return true;
        stack.push(child);
      }
    }
  }
  return false;
}
