import { CatalogueError, defineErrors, type CodeOf, type EntryOptions } from '../domain/error-catalogue.js';

/**
 * The mock's own error catalogue (the API's machinery, domain/error-catalogue.ts, with its own codes): what its
 * call API answers when a request is refused. Convolo's public documentation (help.convolo.ai, "Making calls
 * through an API request") lists the parameters but not its error answers, so these are ours: a stable
 * `error` code (never renamed; add a new one instead), the HTTP status and a message a developer can act on.
 * Every error body is `{ "success": false, "error": "<code>", "message": "…" }`, plus `field` when one
 * parameter is at fault.
 */
export const mockErrors = defineErrors({
  invalid_json: { status: 400, message: 'The body is not valid JSON. Send an object such as {"widget_key":"…","api_key":"…","lc_number":"+1234567890"}.' },
  json_not_object: { code: 'invalid_json', status: 400, message: 'The body is JSON but not an object (it is {what}).' },
  missing_parameter: { status: 400, message: '{key} is required.' },
  invalid_parameter: { status: 400, message: '{key} must be a string or a number, not {what}.' },
  parameter_too_long: { code: 'invalid_parameter', status: 400, message: '{key} is longer than {max} characters.' },
  invalid_country: { code: 'invalid_parameter', status: 400, message: 'country must be a 2-letter ISO country code, such as "US" or "SE".' },
  invalid_outcome: { code: 'invalid_parameter', status: 400, message: 'mock_outcome must be one of answered, lead_not_answering, agent_not_answering, random.' },
  invalid_param_name: { status: 400, message: 'Custom parameter {shown}: the name after lc_param_ {why}.' },
  too_many_params: { status: 400, message: 'At most {max} custom parameters (lc_param_*) per call.' },
  invalid_phone: { status: 400, message: '{key} is not a phone number: it {why}.' },
  unknown_widget: { status: 404, message: 'No widget has this widget_key: check it on the widget\'s "Main" tab (or the keys the mock printed at start).' },
  invalid_api_key: { status: 401, message: 'The api_key is not the API key of this widget (see the widget\'s "Integrations" tab).' },
  invalid_list_api_key: { code: 'invalid_api_key', status: 401, message: 'api-key is missing or is not the API key of any widget (see the widget\'s "Integrations" tab).' },
  invalid_list_parameter: { code: 'invalid_parameter', status: 400, message: '{why}.' },
  invalid_fault: { code: 'invalid_parameter', status: 400, message: 'A call list fault is {"status": 100–599, "retry_after"?: seconds or an HTTP date, "body"?: text, "content_type"?: text, "times"?: 1 or more}: {why}.' },
  not_found: { status: 404, message: 'Nothing here. The call API is at /rest/v1/ext/add_call_api/, the call list at /api/v2/calls/payload-data-list.' },
  method_not_allowed: { status: 405, message: 'Use GET (query string) or POST (JSON or form body).' },
  read_only: { code: 'method_not_allowed', status: 405, message: 'This page is read-only: use GET.' },
  payload_too_large: { status: 413, message: 'The body is larger than {kib} KiB.' },
  unsupported_media_type: { status: 415, message: 'The body is {media}: send application/json (or a form, application/x-www-form-urlencoded).' },
  shutting_down: { status: 503, message: 'The mock is shutting down; no call was added.' },
});

type Errors = typeof mockErrors.catalogue;
export type MockErrorKind = keyof Errors;
export type MockErrorCode = CodeOf<Errors>;

/**
 * A refusal of the mock's call API. The kind decides code, status and message; `field` names the parameter
 * at fault.
 *
 * @example
 * throw new MockError('missing_parameter', { params: { key: 'widget_key' }, field: 'widget_key' });
 */
export class MockError<K extends MockErrorKind = MockErrorKind> extends CatalogueError<MockErrorCode> {
  readonly field: string | undefined;

  constructor(kind: K, ...[options]: EntryOptions<Errors[K], { field?: string }>) {
    super(mockErrors.resolve(kind, options?.params));
    this.name = 'MockError';
    this.field = options?.field;
  }

  /** The JSON body the API answers with. */
  toJSON(): Record<string, unknown> {
    return { success: false, error: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}
