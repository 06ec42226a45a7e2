import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import { storageAppError } from '../storage/errors.js';
import { redactUrl } from '../domain/redact.js';
import { nulInUrl, refuseNulInBody } from './nul-guard.js';

/**
 * Maps every error to the SPEC's error format `{ error, message, … }` with a code from the catalogue.
 * Fastify's own errors (validation, body limits, malformed headers) get the matching catalogue code;
 * anything unexpected is logged and answered with a plain 500.
 */
export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const e = error as FastifyError;
  const fromStorage = storageAppError(error);
  if (fromStorage) return fromStorage;
  const extra = e.validation?.[0]?.keyword === 'additionalProperties' ? (e.validation[0].params as { additionalProperty?: unknown }).additionalProperty : undefined;
  if (typeof extra === 'string') return unknownFields([`${pathOf(e.validation![0]!.instancePath)}${extra}`]);
  if (e.validation) return new AppError('invalid_request', { detail: e.message });
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('payload_too_large');
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('unsupported_media_type');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError(e.statusCode === 404 ? 'not_found' : 'invalid_request', { detail: e.message });
  }
  return new AppError('internal');
}

/**
 * The answer to body fields a route does not know (strict-bodies.ts, or ajv on a nested object):
 * `{"error":"invalid_request","message":"unknown field(s): paused, colour","fields":["paused","colour"]}`.
 */
export function unknownFields(fields: string[]): AppError {
  return new AppError('unknown_fields', { fields }, { params: { fields: fields.join(', ') } });
}

/** ajv's instancePath (`/headers`) as a field prefix (`headers.`). */
function pathOf(instancePath: string): string {
  return instancePath === '' ? '' : `${instancePath.slice(1).replaceAll('/', '.')}.`;
}

/** A 5xx answer's log line: the cause, the URL with its secrets hidden, the code (never the request's body). */
export function logFailure(log: FastifyBaseLogger, url: string, appError: AppError, error: Error): void {
  if (appError.status >= 500) log.error({ err: appError.cause ?? error, url: redactUrl(url), code: appError.code }, 'request failed');
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: FastifyError | Error): FastifyReply {
  const appError = toAppError(error);
  logFailure(request.log, request.url, appError, error);
  // A limiter that already set the header (@fastify/rate-limit) keeps its own.
  if (appError.retryAfterSec !== undefined && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(appError.retryAfterSec));
  return reply.code(appError.status).send(appError.toJSON());
}

/**
 * The error handler and the not-found answer. An unknown URL is outside every route's context, so the API's
 * NUL guards (nul-guard.ts) are applied to it here: `/v1/…%00…` answers 400 as on a known API route.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler({ preValidation: refuseNulInBody }, (request, reply) => sendError(request, reply, nulInUrl(request) ?? new AppError('not_found')));
}
