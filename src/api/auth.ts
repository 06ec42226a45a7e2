import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveSession } from '../admin/sessions.js';
import { AppError } from '../domain/errors.js';
import type { ApiKeyId, UserId } from '../domain/ids.js';
import type { StreamOwner } from '../relay/stream-keys.js';
import type { ApiKey, Scope } from '../storage/ports.js';

/** Who a request acts for: an API key, or a person signed in to the dashboard (viewer: `read`, admin: `admin`). */
export type Principal =
  | { kind: 'key'; id: ApiKeyId; scope: Scope }
  | { kind: 'user'; id: UserId; scope: Scope; /** The session's digest. */ session: string };

/** The dashboard session a request's cookie names, as api/session-auth.ts found it. */
export interface CookieSession extends ActiveSession {
  /** The cookie's value. */
  token: string;
  /** False when the request changes something and does not come from our own origin: it is refused (CSRF). */
  writeAllowed: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
    /** Set by requireScope: who is asking. */
    principal?: Principal;
    /** Set before the routes' hooks when the session cookie is valid and may be used (session-auth.ts). */
    cookieSession?: CookieSession;
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

/** The scope a person's role gives, as an API key's. */
export const scopeOfRole = (role: 'viewer' | 'admin'): Scope => (role === 'admin' ? 'admin' : 'read');

/**
 * An onRequest hook: the request must carry an active key with `scope`, from `Authorization: Bearer sbk_…`
 * or, where `present` says so, elsewhere (the stream also takes `access_token`, for EventSource). Without a
 * key, the dashboard's session cookie does as well (a viewer's as a `read` key, an admin's as an `admin`
 * one), when session-auth.ts accepted it; a request with a key never uses the cookie.
 */
export function requireScope(scope: Scope, resolveKey: (key: string) => Promise<ApiKey | null>, present: (request: FastifyRequest) => string | undefined = bearerKey) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const presented = present(request);
    if (presented === undefined && request.cookieSession) {
      const { user, session, writeAllowed } = request.cookieSession;
      if (!writeAllowed) throw new AppError('csrf_refused');
      const granted = scopeOfRole(user.role);
      if (scope === 'admin' && granted !== 'admin') throw new AppError('admin_only');
      request.principal = { kind: 'user', id: user.id, scope: granted, session: session.tokenHash };
      return;
    }
    const key = presented ? await resolveKey(presented) : null;
    if (!key) throw new AppError('unauthorized');
    if (scope === 'admin' && key.scope !== 'admin') throw new AppError('forbidden');
    request.apiKey = key;
    request.principal = { kind: 'key', id: key.id, scope: key.scope };
  };
}

/**
 * What the stream counts open streams by, and checks for revocation every heartbeat (relay/stream-keys.ts):
 * the key's id, or `session:` and the session's digest.
 */
export function streamOwner(principal: Principal): StreamOwner {
  return principal.kind === 'key' ? principal.id : `session:${principal.session}`;
}

/** What the stream's limit per key counts streams by: the key's id, or the person's (all their sessions together). */
export function streamQuota(principal: Principal): string {
  return principal.kind === 'key' ? principal.id : `user:${principal.id}`;
}
