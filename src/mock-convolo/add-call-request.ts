/**
 * Reads one request to Convolo's call API (`/rest/v1/ext/add_call_api/`) into a validated `AddCallRequest`,
 * or refuses it with a `MockError`. Pure: the server gathers the fields (query string, JSON or form body)
 * and this decides what they mean. The parameters and their rules are those of Convolo's documentation
 * ("Initiating a call with API"): widget_key, api_key, lc_number (required), lc_number_2, country,
 * lc_message, lc_param_<name> with a name of 1–20 of [A-Za-z0-9_], case-insensitive.
 */
import { MockError } from './errors.js';
import { isOutcomeChoice, type OutcomeChoice } from './timeline.js';

export interface AddCallRequest {
  widgetKey: string;
  apiKey: string;
  leadPhone: string;
  leadPhone2: string | null;
  country: string | null;
  message: string | null;
  /** Lowercased names (without `lc_param_`) to their values, in the order first given. */
  customParams: Record<string, string>;
  /** The mock's own per-call override (`mock_outcome`), never one of Convolo's parameters. */
  outcome: OutcomeChoice | null;
}

/** Limits Convolo does not document; generous enough for any real integration, small enough to refuse abuse. */
export const addCallLimits = { maxParams: 50, maxValueLength: 1000 } as const;

const paramPrefix = /^lc_param_/i;
const paramName = /^[A-Za-z0-9_]{1,20}$/;

/**
 * Validates the fields of one add-call request (names as sent, values as parsed: strings from a query or a
 * form, any JSON value from a JSON body). Unknown fields are ignored, as an API that grows new options does.
 * The keys are checked first (missing, then `authenticate`), so a caller without valid keys learns nothing
 * about the rest of its request; then the parameters, in the order given.
 *
 * @example
 * const { request } = parseAddCallRequest([
 *   ['widget_key', 'w1'], ['api_key', 'k1'], ['lc_number', '+14155550100'], ['lc_param_Deal_ID', 'D-42'],
 * ], () => true);
 * request.customParams; // { deal_id: 'D-42' }
 */
export function parseAddCallRequest<W>(fields: Iterable<[string, unknown]>, authenticate: (widgetKey: string, apiKey: string) => W): { request: AddCallRequest; widget: W } {
  const plain = new Map<string, string>();
  const customParams: Record<string, string> = Object.create(null);
  let paramCount = 0;
  // The first problem with the parameters, thrown once the keys have been checked.
  let problem: MockError | null = null;
  // A plain field given but refused (too long, an object): a required one is then not "missing".
  const refused = new Map<string, MockError>();
  for (const [key, raw] of fields) {
    try {
      if (paramPrefix.test(key)) {
        const name = key.slice('lc_param_'.length);
        if (!paramName.test(name)) throw badParamName(key, name);
        const value = scalar(raw, key);
        if (value === null) continue;
        // Names are case-insensitive (Convolo's docs), so lc_param_Deal_ID and lc_param_deal_id are one
        // parameter: it is kept under its lowercased name, and when a request spells it twice the first
        // spelling given wins (JSON key order, then query order), as if the later one were a repeat.
        const canonical = name.toLowerCase();
        if (canonical in customParams) continue;
        if (++paramCount > addCallLimits.maxParams) {
          throw new MockError('too_many_params', { params: { max: addCallLimits.maxParams } });
        }
        customParams[canonical] = value;
        continue;
      }
      const value = scalar(raw, key);
      // The first value of a repeated plain field wins, like the custom parameters.
      if (value !== null && !plain.has(key)) plain.set(key, value);
    } catch (error) {
      problem ??= error as MockError;
      if (!paramPrefix.test(key) && !refused.has(key)) refused.set(key, error as MockError);
    }
  }
  const required = (key: string) => given(plain, key) ?? throwError(refused.get(key) ?? new MockError('missing_parameter', { params: { key }, field: key }));
  const widget = authenticate(required('widget_key'), required('api_key'));
  const leadPhone = phone(required('lc_number'), 'lc_number');
  if (problem) throw problem;
  const country = optional(plain, 'country');
  if (country !== null && !/^[A-Za-z]{2}$/.test(country)) {
    throw new MockError('invalid_country', { field: 'country' });
  }
  const second = optional(plain, 'lc_number_2');
  const outcome = optional(plain, 'mock_outcome');
  if (outcome !== null && !isOutcomeChoice(outcome)) {
    throw new MockError('invalid_outcome', { field: 'mock_outcome' });
  }
  const request: AddCallRequest = {
    widgetKey: required('widget_key'),
    apiKey: required('api_key'),
    leadPhone,
    leadPhone2: second === null ? null : phone(second, 'lc_number_2'),
    country: country === null ? null : country.toUpperCase(),
    message: optional(plain, 'lc_message'),
    customParams: { ...customParams },
    outcome: outcome as OutcomeChoice | null,
  };
  return { request, widget };
}

function badParamName(key: string, name: string): MockError {
  const shown = JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  let why = 'may use only the letters A–Z and a–z, the digits 0–9 and _';
  if (name.length === 0) why = 'is empty';
  else if (name.length > 20) why = `is ${name.length} characters long (at most 20)`;
  return new MockError('invalid_param_name', { params: { shown, why }, field: key.slice(0, 64) });
}

/** A field's value as text: numbers and booleans are written out, null and empty strings count as absent. */
function scalar(raw: unknown, key: string): string | null {
  if (raw === null || raw === undefined) return null;
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' || typeof raw === 'boolean') text = String(raw);
  else throw new MockError('invalid_parameter', { params: { key, what: Array.isArray(raw) ? 'an array' : 'an object' }, field: key.slice(0, 64) });
  if (text.length > addCallLimits.maxValueLength) {
    throw new MockError('parameter_too_long', { params: { key, max: addCallLimits.maxValueLength }, field: key.slice(0, 64) });
  }
  return text;
}

/** A field's trimmed value, or null when absent or empty. */
function given(fields: Map<string, string>, key: string): string | null {
  return fields.get(key)?.trim() || null;
}

function throwError(error: MockError): never {
  throw error;
}

function optional(fields: Map<string, string>, key: string): string | null {
  const value = fields.get(key)?.trim();
  return value ? value : null;
}

/**
 * Convolo takes international numbers, or local ones with a country code (its docs). So: an optional
 * leading +, then 6–15 digits (E.164 allows 15) with the usual separators; nothing else.
 */
function phone(value: string, key: string): string {
  const digits = value.replace(/[\s().-]/g, '');
  if (/^\+?\d{6,15}$/.test(digits)) return value;
  const why = /[^+\d\s().-]/.test(value) ? 'has characters other than digits, +, spaces, dots, dashes and parentheses' : 'must have 6 to 15 digits';
  return invalid(key, why);
}

function invalid(key: string, why: string): never {
  throw new MockError('invalid_phone', { params: { key, why }, field: key });
}
