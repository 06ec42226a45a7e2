import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorResponses, type ErrorStatus } from '../domain/contract/errors.js';

/** Any route may answer these: a malformed request (or a body where none is taken), an unexpected error, a shutdown. */
const everywhere = [400, 500, 503] as const satisfies ErrorStatus[];
/** A `/v1` route with the `read` scope: no key or an unknown one, and the per-key rate limit. */
export const readErrors = [401, 429] as const satisfies ErrorStatus[];
/** A `/v1` route with the `admin` scope: also a key without that scope. */
export const adminErrors = [401, 403, 429] as const satisfies ErrorStatus[];
/** A route that takes a JSON body: too large, or not JSON. */
export const bodyErrors = [413, 415] as const satisfies ErrorStatus[];

/**
 * A route's `schema.response`: its success answers (domain/contract/) and the error envelope for every
 * status it can fail with.
 *
 * @example
 * app.get('/v1/calls', { schema: { querystring: ListQuery, response: answers({ 200: CallPage }, ...readErrors) } }, handler);
 */
export function answers<R extends Record<number, unknown>>(success: R, ...errors: ErrorStatus[]) {
  return { ...success, ...errorResponses(...everywhere, ...errors) };
}

/**
 * The routes of `app` (a plugin) keep writing their answers with JSON.stringify: their response schemas
 * document them (/openapi.json, the SDK's types) without fast-json-stringify writing them, which measured
 * slower than V8's JSON.stringify on a page of 100 calls (the numbers are in the commit that chose this),
 * and which would drop or coerce whatever a schema does not foresee.
 */
export function serializeWithJsonStringify(app: FastifyInstance): void {
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/**
 * A request answered once long work is over, nothing sent meanwhile: minutes for a first retention or a replay over a
 * large log, a reprocess of a large quarantine. The connection timeout (a client that stalls) would close the
 * connection under it, and the command would say no server answers while the work goes on: it is lifted on this
 * request's connection. (A request answered in-process has no socket.)
 */
export function answerWhenDone(request: FastifyRequest): void {
  request.raw.socket?.setTimeout?.(0);
}
