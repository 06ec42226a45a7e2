/**
 * The one error catalogue: every error the HTTP API returns comes from here, with a stable `code`,
 * its HTTP status and a human message. Codes are part of the public contract (SPEC "Ingest", "Query API");
 * never rename one, add a new one instead. `retryAfterSec`: the answer carries `Retry-After` (seconds), telling
 * the sender (Convolo, a client) that nothing was kept and to come back.
 */
export const errorCatalogue = {
  invalid_json: { status: 400, message: 'The body is not a JSON object.' },
  invalid_request: { status: 400, message: 'The request is not valid.' },
  unauthorized: { status: 401, message: 'A valid API key is required: send "Authorization: Bearer sbk_…".' },
  forbidden: { status: 403, message: 'This API key does not have the scope this route needs.' },
  invalid_credentials: { status: 401, message: 'The email or the password is wrong.' },
  csrf_refused: { status: 403, message: 'A request signed in by the session cookie that changes something must come from the dashboard\'s own origin (Origin header).' },
  setup_token_invalid: { status: 410, message: 'This setup link is unknown, used or expired: restart Switchboard for a new one, or use "switchboard users add".' },
  setup_done: { status: 409, message: 'Switchboard has users already: sign in, or ask an admin for an account.' },
  email_taken: { status: 409, message: 'A user with this email exists already.' },
  last_admin: { status: 409, message: 'This is the last admin: add another admin before removing it.' },
  unknown_source: { status: 404, message: 'No active source has this token.' },
  not_found: { status: 404, message: 'Nothing was found at this address.' },
  conflict: { status: 409, message: 'The request conflicts with the current state of the resource.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed on this path.' },
  payload_too_large: { status: 413, message: 'The body is larger than the limit.' },
  unsupported_media_type: { status: 415, message: 'The content type is not supported.' },
  invalid_event: { status: 422, message: 'The event is missing required fields or has invalid ones.' },
  invalid_destination: { status: 422, message: 'This destination URL is not allowed.' },
  rate_limited: { status: 429, message: 'Too many requests for this key or source; retry after the time in Retry-After.' },
  internal: { status: 500, message: 'An unexpected error occurred.' },
  not_ready: { status: 503, message: 'The database is not reachable or its migrations are not applied.' },
  storage_unavailable: { status: 503, message: 'The event could not be stored; nothing was kept. Retry later.', retryAfterSec: 1 },
  overloaded: { status: 503, message: 'The server is overloaded; nothing was kept. Retry later.', retryAfterSec: 1 },
  query_timeout: { status: 503, message: 'The query ran past the statement time limit and was stopped; narrow it (a shorter range, a filter) or retry later.' },
  shutting_down: { status: 503, message: 'The server is shutting down; nothing was kept. Retry later.', retryAfterSec: 1 },
} as const satisfies Record<string, { status: number; message: string; retryAfterSec?: number }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error the API answers with: its code decides the status; extra fields are sent along. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extra: Record<string, unknown>;
  /** Seconds for the answer's Retry-After: the error's own (`retry_after_sec`), else its code's. */
  readonly retryAfterSec: number | undefined;

  constructor(code: ErrorCode, extra: Record<string, unknown> = {}, options: { message?: string; cause?: unknown } = {}) {
    super(options.message ?? errorCatalogue[code].message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.extra = extra;
    const entry = errorCatalogue[code];
    this.retryAfterSec = typeof extra.retry_after_sec === 'number' ? extra.retry_after_sec : 'retryAfterSec' in entry ? entry.retryAfterSec : undefined;
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.extra };
  }
}
