import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { ApiKey, Scope } from '../storage/ports.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
}

const bearer = /^Bearer\s+(\S+)$/i;

/** An onRequest hook: the request must carry an active key (`Authorization: Bearer sbk_…`) with `scope`. */
export function requireScope(scope: Scope, resolveKey: (key: string) => Promise<ApiKey | null>) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const presented = bearer.exec(request.headers.authorization ?? '')?.[1];
    const key = presented ? await resolveKey(presented) : null;
    if (!key) throw new AppError('unauthorized');
    if (scope === 'admin' && key.scope !== 'admin') throw new AppError('forbidden');
    request.apiKey = key;
  };
}
