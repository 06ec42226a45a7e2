import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { sessionCookieName, type SessionService } from '../admin/sessions.js';
import { presentedKey } from './auth.js';

/**
 * The dashboard's session cookie, read before the routes' own hooks (requireScope uses what this finds).
 * The cookie is used only from the dashboard's own origin:
 * - a request with an API key ignores it;
 * - a request whose `Origin` is another origin's ignores it (a GET answers 401 without a key);
 * - a request that changes something (POST, PATCH, PUT, DELETE) must name our origin in `Origin`, or say
 *   `Sec-Fetch-Site: same-origin` when it sends no Origin, else it is refused with 403 `csrf_refused`.
 * SameSite=Strict already keeps browsers from sending the cookie on cross-site requests; this holds where
 * that does not (a same-site sibling origin, an old browser). CORS never allows credentials (api/server.ts).
 *
 * Our own origin: the configured public URL's, or `http(s)://<Host>` when none is configured.
 */
export function sessionAuth(options: { sessions: SessionService; publicUrl: string }) {
  const configured = configuredOrigin(options.publicUrl);
  // A callback hook: it runs on every request, and all but the dashboard's go on at once (no promise each, nul-guard.ts).
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    // The route's path (the router decodes the URL's: `/%761/calls` is `/v1/calls`).
    if (request.routeOptions.url?.startsWith('/v1/') !== true) return done();
    const token = sessionCookie(request);
    if (token === undefined || presentedKey(request) !== undefined) return done();
    const origin = originOf(request, configured);
    const writes = !safeMethods.has(request.method);
    if (origin === 'foreign' && !writes) return done();
    options.sessions.resolve(token).then((found) => {
      if (found) {
        const sameOrigin = origin === 'same' || (origin === 'absent' && request.headers['sec-fetch-site'] === 'same-origin');
        request.cookieSession = { ...found, token, writeAllowed: !writes || sameOrigin };
      }
      done();
    }, done);
  };
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session cookie's value, if the request sends one. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === sessionCookieName) return part.slice(at + 1).trim() || undefined;
  }
  return undefined;
}

/** The origin of the configured public URL, or null when none is configured (then the Host header's is ours). */
export function configuredOrigin(publicUrl: string): string | null {
  return publicUrl ? new URL(publicUrl).origin : null;
}

/** Whether the request's `Origin` is our own origin, another one, or absent. */
export function originOf(request: FastifyRequest, configuredOrigin: string | null): 'same' | 'foreign' | 'absent' {
  const origin = request.headers.origin;
  if (origin === undefined) return 'absent';
  const own = configuredOrigin ?? `${request.protocol}://${request.host}`;
  return origin === own ? 'same' : 'foreign';
}

/**
 * The Set-Cookie value of a new session: HttpOnly (no script reads it), SameSite=Strict (no other site's
 * page sends it), Path=/, Secure when the public URL is https, and kept until the session's expiry.
 */
export function sessionSetCookie(token: string, maxAgeSec: number, secure: boolean): string {
  return `${sessionCookieName}=${token}; Max-Age=${maxAgeSec}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The Set-Cookie value that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return sessionSetCookie('', 0, secure);
}
