import { Type, type Static } from '@sinclair/typebox';
import { apiErrors } from '../errors.js';

const errorFields = {
  error: Type.String({ description: 'A stable code from the error catalogue: programs branch on it.' }),
  message: Type.String({ description: 'For people; may change.' }),
};
const errorDoc =
  'Every error: a stable `error` code and a human `message`, with the error\'s own fields beside them when it has ' +
  'some: `detail` (what exactly was wrong), `fields` (the fields at fault), `retry_after_sec` (also in Retry-After), ' +
  '`quarantine_id` (ingest: the quarantine record kept), `reason` and `port` (a refused destination), `delivery_id` (a retry refused: the delivery of its event pending beside it).';

/**
 * Every error the API answers with (SPEC "Ingest", "Query API"): a stable `error` code from the catalogue
 * (domain/errors.ts) and a human `message`. Only those two are typed: the error's own fields stay open, so
 * a route that serializes with the schema writes them exactly as JSON.stringify does. Shared by `$id`
 * (the app adds it with `addSchema`), so /openapi.json holds it once, as a component.
 */
export const ErrorBody = Type.Object(errorFields, { $id: 'ErrorBody', additionalProperties: true, description: errorDoc });
export type ErrorBody = Static<typeof ErrorBody> & Record<string, unknown>;

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 410 | 413 | 415 | 422 | 429 | 500 | 503;

/** An error answer: the shared envelope, described with the catalogue's codes of its status. */
type ErrorAnswer = ReturnType<typeof errorOfStatus>;

/**
 * The error answers of a route, keyed by status as Fastify's `schema.response` wants them.
 *
 * @example
 * const response = { 200: CallPage, ...errorResponses(400, 401, 429, 500, 503) };
 */
export function errorResponses<const S extends ErrorStatus>(...statuses: S[]): Record<S, ErrorAnswer> {
  return Object.fromEntries(statuses.map((status) => [status, errorOfStatus(status)])) as Record<S, ErrorAnswer>;
}

function errorOfStatus(status: number) {
  // The public codes (an entry that words another code's case is documented under that code).
  const codes = Object.entries(apiErrors.catalogue).flatMap(([code, entry]) => (!('code' in entry) && entry.status === status ? [`\`${code}\``] : []));
  return Type.Ref(ErrorBody, { description: codes.length > 0 ? `error: ${codes.join(', ')}` : 'An error.' });
}
