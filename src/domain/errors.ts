import { CatalogueError, defineErrors, type CodeOf, type EntryOptions } from './error-catalogue.js';

/**
 * The one error catalogue: every error the HTTP API returns comes from here, with a stable `code`, its HTTP
 * status and a human message (a template where the message names what was asked for). Codes are part of the
 * public contract (SPEC "Ingest", "Query API"); never rename one, add a new one instead. An entry with a
 * `code` words that code for one case (`no_such_id` answers `not_found`). `retryAfterSec`: the answer carries
 * `Retry-After` (seconds), telling the sender (Convolo, a client) that nothing was kept and to come back.
 */
export const apiErrors = defineErrors({
  invalid_json: { status: 400, message: 'The body is not a JSON object.' },
  invalid_request: { status: 400, message: 'The request is not valid.' },
  unknown_fields: { code: 'invalid_request', status: 400, message: 'unknown field(s): {fields}' },
  no_retention: { code: 'invalid_request', status: 400, message: 'No retention is set: pass retention_days, or set SWITCHBOARD_RETENTION_DAYS on the server.' },
  unauthorized: { status: 401, message: 'A valid API key is required: send "Authorization: Bearer sbk_…".' },
  forbidden: { status: 403, message: 'This API key does not have the scope this route needs.' },
  admin_only: { code: 'forbidden', status: 403, message: 'Only an admin may do this.' },
  invalid_credentials: { status: 401, message: 'The email or the password is wrong.' },
  wrong_password: { code: 'invalid_credentials', status: 401, message: 'The current password is wrong.' },
  metrics_unauthorized: { code: 'unauthorized', status: 401, message: 'The metrics need this server\'s metrics token (SWITCHBOARD_METRICS_TOKEN): send "Authorization: Bearer <token>".' },
  not_signed_in: { code: 'unauthorized', status: 401, message: 'Not signed in: POST /v1/auth/login.' },
  csrf_refused: { status: 403, message: 'A request signed in by the session cookie that changes something must come from the dashboard\'s own origin (Origin header).' },
  setup_token_invalid: { status: 410, message: 'This setup link is unknown, used or expired: restart Switchboard for a new one, or use "switchboard users add".' },
  setup_done: { status: 409, message: 'Switchboard has users already: sign in, or ask an admin for an account.' },
  invitation_invalid: { status: 410, message: 'This invitation link is unknown, used, revoked or expired: ask an admin for a new one.' },
  email_taken: { status: 409, message: 'A user with this email exists already.' },
  last_admin: { status: 409, message: 'This is the last admin: add another admin before removing it.' },
  unknown_source: { status: 404, message: 'No active source has this token.' },
  not_found: { status: 404, message: 'Nothing was found at this address.' },
  no_such_id: { code: 'not_found', status: 404, message: 'No {what} has this id.' },
  no_such_call: { code: 'not_found', status: 404, message: 'No call has this call_id.' },
  destination_deleted: { code: 'not_found', status: 404, message: 'The destination of this delivery was deleted.' },
  conflict: { status: 409, message: 'The request conflicts with the current state of the resource.' },
  source_revoked: { code: 'conflict', status: 409, message: 'This source is revoked: create a new one.' },
  no_convolo_key: { code: 'conflict', status: 409, message: 'This source has no Convolo API key: set one first (PUT /v1/sources/:id/convolo, or switchboard sources set-convolo).' },
  key_revokes_itself: { code: 'conflict', status: 409, message: 'A key cannot revoke itself: use another admin key (create one with POST /v1/keys).' },
  delivery_pending: { code: 'conflict', status: 409, message: 'Delivery {id} of the same event to this destination is pending: it goes out anyway, and a retry beside it would send the event twice.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed on this path.' },
  payload_too_large: { status: 413, message: 'The body is larger than the limit.' },
  unsupported_media_type: { status: 415, message: 'The content type is not supported.' },
  invalid_event: { status: 422, message: 'The event is missing required fields or has invalid ones.' },
  invalid_destination: { status: 422, message: 'This destination URL is not allowed.' },
  rate_limited: { status: 429, message: 'Too many requests for this key or source; retry after the time in Retry-After.' },
  auth_misses: { code: 'rate_limited', status: 429, message: 'Too many failed authentications from this address; retry after the time in Retry-After.' },
  sign_ins_limited: { code: 'rate_limited', status: 429, message: 'Too many failed sign-ins for this account or from this address; retry after the time in Retry-After.' },
  streams_full: { code: 'rate_limited', status: 429, message: 'This API key has as many streams open as it may (SWITCHBOARD_STREAM_MAX_PER_KEY); close one first.' },
  internal: { status: 500, message: 'An unexpected error occurred.' },
  not_ready: { status: 503, message: 'The database is not reachable or its migrations are not applied.' },
  storage_unavailable: { status: 503, message: 'The event could not be stored; nothing was kept. Retry later.', retryAfterSec: 1 },
  database_unavailable: { code: 'storage_unavailable', status: 503, message: 'The database is unavailable; nothing was changed. Retry later.', retryAfterSec: 1 },
  database_locked: { code: 'storage_unavailable', status: 503, message: 'The database is locked by another process; nothing was changed. Retry later.', retryAfterSec: 1 },
  session_check_unavailable: { code: 'storage_unavailable', status: 503, message: 'The database is unavailable: the session could not be checked. Retry later.', retryAfterSec: 1 },
  key_check_unavailable: { code: 'storage_unavailable', status: 503, message: 'The database is unavailable: the API key could not be checked. Retry later.', retryAfterSec: 1 },
  overloaded: { status: 503, message: 'The server is overloaded; nothing was kept. Retry later.', retryAfterSec: 1 },
  query_timeout: { status: 503, message: 'The query ran past the statement time limit and was stopped; narrow it (a shorter range, a filter) or retry later.' },
  shutting_down: { status: 503, message: 'The server is shutting down; nothing was kept. Retry later.', retryAfterSec: 1 },
});

type Errors = typeof apiErrors.catalogue;
/** The name of a catalogue entry. */
export type ErrorKind = keyof Errors;
/** The `error` field clients read. */
export type ErrorCode = CodeOf<Errors>;

/**
 * An error the API answers with: its kind decides code, status and message (the template filled with
 * `params`); `extra` fields are sent along.
 *
 * @example
 * throw new AppError('no_such_id', {}, { params: { what: 'destination' } });
 * throw new AppError('invalid_request', { detail: 'from must be earlier than to' });
 */
export class AppError<K extends ErrorKind = ErrorKind> extends CatalogueError<ErrorCode> {
  readonly extra: Record<string, unknown>;

  constructor(kind: K, extra: Record<string, unknown> = {}, ...[options]: EntryOptions<Errors[K], { cause?: unknown }>) {
    const entry = apiErrors.resolve(kind, options?.params);
    // A limiter's own wait (`retry_after_sec`) wins over the entry's.
    const retryAfterSec = typeof extra.retry_after_sec === 'number' ? extra.retry_after_sec : entry.retryAfterSec;
    super({ ...entry, retryAfterSec }, { cause: options?.cause });
    this.name = 'AppError';
    this.extra = extra;
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.extra };
  }
}
