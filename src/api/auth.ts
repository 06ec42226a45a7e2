import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { ApiKey, Scope } from '../storage/ports.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
}

const bearer = /^Bearer\s+(\S+)$/i;

/** The key in `Authorization: Bearer …`, if any. */
export function bearerKey(request: FastifyRequest): string | undefined {
  return bearer.exec(request.headers.authorization ?? '')?.[1];
}

/** The key a request presents: `Authorization: Bearer …`, else `access_token` in the query (EventSource). */
export function presentedKey(request: FastifyRequest): string | undefined {
  const fromHeader = bearerKey(request);
  if (fromHeader) return fromHeader;
  const token = (request.query as { access_token?: unknown } | undefined)?.access_token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/**
 * An onRequest hook: the request must carry an active key with `scope`, from `Authorization: Bearer sbk_…`
 * or, where `present` says so, elsewhere (the stream also takes `access_token`, for EventSource).
 */
export function requireScope(scope: Scope, resolveKey: (key: string) => Promise<ApiKey | null>, present: (request: FastifyRequest) => string | undefined = bearerKey) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const presented = present(request);
    const key = presented ? await resolveKey(presented) : null;
    if (!key) throw new AppError('unauthorized');
    if (scope === 'admin' && key.scope !== 'admin') throw new AppError('forbidden');
    request.apiKey = key;
  };
}
