/**
 * The mock's own error catalogue: what its call API answers when a request is refused. Convolo's public
 * documentation (help.convolo.ai, "Making calls through an API request") lists the parameters but not its
 * error answers, so these are ours: a stable `error` code (never renamed; add a new one instead), the HTTP
 * status and a message a developer can act on. Every error body is
 * `{ "success": false, "error": "<code>", "message": "…" }`, plus `field` when one parameter is at fault.
 */
export const mockErrorCatalogue = {
  invalid_json: { status: 400, message: 'The body is not a JSON object.' },
  missing_parameter: { status: 400, message: 'A required parameter is missing.' },
  invalid_parameter: { status: 400, message: 'A parameter has an invalid value.' },
  invalid_param_name: { status: 400, message: 'A custom parameter name must be lc_param_ followed by 1–20 of [A-Za-z0-9_].' },
  too_many_params: { status: 400, message: 'Too many custom parameters.' },
  invalid_phone: { status: 400, message: 'The phone number is not a phone number.' },
  unknown_widget: { status: 404, message: 'No widget has this widget_key.' },
  invalid_api_key: { status: 401, message: 'The api_key is not the API key of this widget.' },
  not_found: { status: 404, message: 'Nothing here. The call API is at /rest/v1/ext/add_call_api/.' },
  method_not_allowed: { status: 405, message: 'Use GET (query string) or POST (JSON or form body).' },
  payload_too_large: { status: 413, message: 'The body is larger than the limit.' },
  unsupported_media_type: { status: 415, message: 'Send the POST body as application/json or application/x-www-form-urlencoded.' },
  shutting_down: { status: 503, message: 'The mock is shutting down; no call was added.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type MockErrorCode = keyof typeof mockErrorCatalogue;

/**
 * A refusal of the mock's call API. The code decides the status.
 *
 * @example
 * throw new MockError('missing_parameter', 'widget_key is required.', 'widget_key');
 */
export class MockError extends Error {
  readonly code: MockErrorCode;
  readonly status: number;
  readonly field: string | undefined;

  constructor(code: MockErrorCode, message: string = mockErrorCatalogue[code].message, field?: string) {
    super(message);
    this.name = 'MockError';
    this.code = code;
    this.status = mockErrorCatalogue[code].status;
    this.field = field;
  }

  /** The JSON body the API answers with. */
  toJSON(): Record<string, unknown> {
    return { success: false, error: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}
