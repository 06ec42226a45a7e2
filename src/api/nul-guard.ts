import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AppError } from '../domain/errors.js';

/**
 * PostgreSQL text cannot hold NUL (U+0000): a filter, id or name holding one fails the statement there (a
 * 500) where SQLite would store or compare it. Nothing stored holds one (domain/well-formed.ts), so such a
 * request is answered 400 before any route runs, the same on both backends. The ingest's raw bodies are
 * bytes kept as sent and are not looked at.
 */

// The guards here, the shutdown check and the limiters' hooks (server.ts, expensive.ts, auth-misses.ts,
// session-auth.ts) are callback hooks, not async ones: Fastify runs a callback hook that calls done() at once
// without a promise and a turn of the microtask queue each (docs/benchmarks.md, issue 15 part 2). The guards
// here, the expensive-request slots and the session cookie run only in the API's context (server.ts
// guardApi, routes.ts), not on the ingest (issue 15 part 3).

/**
 * `onRequest`: an API URL (`/v1/…`) with `%00` in its path or query. (`%2500` is the text %00, not NUL, and
 * passes.) Ingest URLs keep their contract: a token holding NUL is an unknown token, 404, checked by its shape
 * before any database lookup.
 */
export function refuseNul(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  done(nulInUrl(request));
}

/** The error for an API URL holding `%00`, else undefined. (Also asked by the not-found handler: an unknown `/v1/…` URL is outside the API's context.) */
export function nulInUrl(request: FastifyRequest): AppError | undefined {
  if (request.url.startsWith('/v1/') && /%00/i.test(request.url)) return new AppError('invalid_request', { detail: 'The URL holds NUL (%00), which no stored value can contain.' });
  return undefined;
}

/** `preValidation`: a JSON body with NUL in any string or key (the admin API's names, descriptions, headers). */
export function refuseNulInBody(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const body: unknown = request.body;
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body) && holdsNul(body)) {
    return done(new AppError('invalid_request', { detail: 'The body holds NUL (\\u0000), which no stored value can contain.' }));
  }
  done();
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
