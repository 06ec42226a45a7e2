import type { preValidationHookHandler, RouteOptions } from 'fastify';
import { AppError } from '../domain/errors.js';
import { unknownFields } from './errors.js';

/**
 * Refuses a request body field the route does not know, rather than ignoring it: `PATCH /v1/destinations/{id}`
 * with `{"paused": true}` used to answer 200 having changed nothing. For `onRoute`: every route that can take
 * a body (not GET, HEAD, OPTIONS) checks the body's top-level keys against its body schema's `properties`
 * (a route without a body schema knows none) before validation, so every unknown key is named at once
 * (ajv stops at the first). The ingest (`/hooks/…`) is exempt: Convolo's payloads stay open (SPEC).
 * Nested objects declare `additionalProperties: false` themselves, refused by ajv (`removeAdditional: false`).
 *
 * @example
 * server.addHook('onRoute', refuseUnknownFields);
 * // PATCH /v1/destinations/dst_1 {"paused": true} → 400 {"error":"invalid_request","message":"unknown field(s): paused","fields":["paused"]}
 */
export function refuseUnknownFields(route: RouteOptions): void {
  const methods = [route.method].flat();
  if (route.url.startsWith('/hooks/') || methods.every((m) => m === 'GET' || m === 'HEAD' || m === 'OPTIONS')) return;
  const properties = (route.schema?.body as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const check: preValidationHookHandler = (request, _reply, done) => {
    const body: unknown = request.body;
    if (body === undefined || body === null || body === '') return done();
    if (typeof body !== 'object' || Array.isArray(body)) {
      // Not an object: the body schema's validation says what is wrong; a route without one takes none.
      return done(route.schema?.body ? undefined : new AppError('invalid_request', { detail: 'this route takes no body' }));
    }
    const unknown = Object.keys(body).filter((key) => !Object.hasOwn(properties, key));
    done(unknown.length > 0 ? unknownFields(unknown) : undefined);
  };
  route.preValidation = [check, ...[route.preValidation ?? []].flat()];
}
