import { Type, type Static } from '@sinclair/typebox';
import { errorCatalogue } from '../errors.js';

/**
 * Every error the API answers with (SPEC "Ingest", "Query API"): a stable `error` code from the catalogue
 * (domain/errors.ts) and a human `message`, with the error's own fields beside them (`detail`, `fields`,
 * `retry_after_sec`, `quarantine_id`, …).
 */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'A stable code from the error catalogue: programs branch on it.' }),
    message: Type.String({ description: 'For people; may change.' }),
    detail: Type.Optional(Type.String({ description: 'What exactly was wrong, when known.' })),
    fields: Type.Optional(Type.Array(Type.String(), { description: 'The fields at fault (unknown or missing ones).' })),
  },
  { additionalProperties: true },
);
export type ErrorBody = Static<typeof ErrorBody>;

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

/**
 * The error answers of a route, keyed by status as Fastify's `schema.response` wants them, each described
 * with the catalogue's codes of that status.
 *
 * @example
 * const response = { 200: CallPage, ...errorResponses(400, 401, 429, 500, 503) };
 */
export function errorResponses<const S extends ErrorStatus>(...statuses: S[]): Record<S, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, errorOfStatus(status)])) as Record<S, typeof ErrorBody>;
}

const byStatus = new Map<number, typeof ErrorBody>();

function errorOfStatus(status: number): typeof ErrorBody {
  let schema = byStatus.get(status);
  if (!schema) {
    const codes = Object.entries(errorCatalogue).flatMap(([code, entry]) => (entry.status === status ? [`\`${code}\``] : []));
    schema = Type.Object(ErrorBody.properties, { additionalProperties: true, description: codes.length > 0 ? `error: ${codes.join(', ')}` : 'An error.' });
    byStatus.set(status, schema);
  }
  return schema;
}
