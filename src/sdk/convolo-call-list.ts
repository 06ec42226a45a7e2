/**
 * Convolo's call list API: `GET /api/v2/calls/payload-data-list`, documented in Convolo's help article
 * "Getting a list of calls via an API" (Speed To Lead). It answers "the list of corresponding webhooks" for a
 * period: the `end_call` payloads of the widget's calls. The article gives the parameters but not the
 * response body, so this module accepts the shapes an API like it plausibly answers and refuses the rest
 * with the answer's first bytes instead of guessing (see `readCallListBody`).
 *
 * The API key travels in the `api-key` query parameter, as Convolo documents: it is therefore part of the
 * URL, and nothing this module throws ever contains that URL or the key (messages, stacks and causes are
 * written here, never taken over from the HTTP stack as they are).
 */

import { retryAfterSeconds } from './http.js';

export { retryAfterSeconds };

/**
 * A query of the call list API. Every field is optional; names are Convolo's in camelCase
 * (`filterTalkTimeFrom` → `filter_talk_time_from`).
 *
 * @example
 * const query: CallListQuery = { dateFrom: '2026-01-01', dateTo: '2026-01-31', widgetIds: ['38a7…'], maxCalls: 500, status: 'NO_ANSWER' };
 */
export interface CallListQuery {
  /** `YYYY-MM-DD`, inclusive. Convolo's default: the last 30 days. */
  dateFrom?: string;
  /** `YYYY-MM-DD`, inclusive. */
  dateTo?: string;
  /** Sent as `widget_ids=a,b`. */
  widgetIds?: string[];
  /** 1..500, default 20 (Convolo's default) → `max_calls`. */
  maxCalls?: number;
  /** From 1. */
  page?: number;
  searchString?: string;
  /** `NO_ANSWER` missed, `OPERATOR_ANSWERED` the agent answered but not the lead, `CLIENT_ANSWERED` both answered. */
  status?: CallListStatus;
  filterUrl?: string;
  filterReferer?: string;
  filterLeadNumber?: string;
  filterAgent?: string;
  /** Seconds. */
  filterAnswerTimeFrom?: number;
  filterAnswerTimeTo?: number;
  filterTalkTimeFrom?: number;
  filterTalkTimeTo?: number;
}

/**
 * The `status` values Convolo documents.
 *
 * @example
 * const missed: CallListStatus = 'NO_ANSWER';
 */
export type CallListStatus = 'NO_ANSWER' | 'OPERATOR_ANSWERED' | 'CLIENT_ANSWERED';

/** @example callListStatuses.includes('NO_ANSWER'); // true */
export const callListStatuses: readonly CallListStatus[] = ['NO_ANSWER', 'OPERATOR_ANSWERED', 'CLIENT_ANSWERED'];

/** Convolo's documented maximum (and default) of `max_calls`. @example Math.min(n, callListMaxCalls) */
export const callListMaxCalls = 500;
/** @example const perPage = query.maxCalls ?? callListDefaultMaxCalls; */
export const callListDefaultMaxCalls = 20;

/**
 * Each field of `CallListQuery` and the query parameter Convolo names it, with its kind. One table serves
 * the client (writing a query) and `switchboard mock-convolo` (reading one).
 *
 * @example
 * callListParams.filterTalkTimeFrom; // { name: 'filter_talk_time_from', kind: 'seconds' }
 */
export const callListParams = {
  dateFrom: { name: 'date_from', kind: 'date' },
  dateTo: { name: 'date_to', kind: 'date' },
  widgetIds: { name: 'widget_ids', kind: 'list' },
  maxCalls: { name: 'max_calls', kind: 'count' },
  page: { name: 'page', kind: 'count' },
  searchString: { name: 'search_string', kind: 'text' },
  status: { name: 'status', kind: 'status' },
  filterUrl: { name: 'filter_url', kind: 'text' },
  filterReferer: { name: 'filter_referer', kind: 'text' },
  filterLeadNumber: { name: 'filter_lead_number', kind: 'text' },
  filterAgent: { name: 'filter_agent', kind: 'text' },
  filterAnswerTimeFrom: { name: 'filter_answer_time_from', kind: 'seconds' },
  filterAnswerTimeTo: { name: 'filter_answer_time_to', kind: 'seconds' },
  filterTalkTimeFrom: { name: 'filter_talk_time_from', kind: 'seconds' },
  filterTalkTimeTo: { name: 'filter_talk_time_to', kind: 'seconds' },
} as const satisfies Record<keyof CallListQuery, { name: string; kind: 'date' | 'list' | 'count' | 'text' | 'status' | 'seconds' }>;

/**
 * One page of the call list: `items` are `end_call` payload objects as Convolo gave them.
 *
 * @example
 * const { page, items } = await convolo.listCalls({ page: 2 });
 */
export interface CallListPage {
  page: number;
  items: Array<Record<string, unknown>>;
}

/**
 * Why a call list request failed.
 * - `unauthorized`: 401/403 (a wrong or revoked API key);
 * - `rate_limited`: 429, with `retryAfterSec` when Convolo sent `Retry-After` (seconds or an HTTP date);
 * - `server_error`: 5xx; `http_error`: any other non-2xx;
 * - `malformed_json`: a 2xx answer that is not JSON; `unexpected_shape`: JSON but no list of objects
 *   (`firstBytes` holds the answer's first 256 bytes as text, the key removed);
 * - `too_large`: a 2xx answer longer than the client's `maxPageBytes` (nothing of it is returned);
 * - `network`: no answer (refused, reset, DNS); `timeout`: no answer within `timeoutMs`.
 *
 * @example
 * const retryLater = (e: ConvoloCallListError) => e.code === 'rate_limited' || e.code === 'server_error' || e.code === 'network' || e.code === 'timeout';
 */
export type ConvoloCallListErrorCode = 'unauthorized' | 'rate_limited' | 'server_error' | 'http_error' | 'malformed_json' | 'unexpected_shape' | 'too_large' | 'network' | 'timeout';

/**
 * Thrown by `ConvoloClient.listCalls`/`listAllCalls`. Its message, stack and fields never contain the API
 * key nor the URL that carries it.
 *
 * @example
 * try {
 *   await convolo.listCalls();
 * } catch (error) {
 *   if (error instanceof ConvoloCallListError && error.code === 'rate_limited') await sleep((error.retryAfterSec ?? 60) * 1000);
 * }
 */
export class ConvoloCallListError extends Error {
  readonly code: ConvoloCallListErrorCode;
  /** The HTTP status, when Convolo answered. */
  readonly status?: number;
  /** From `Retry-After` on a 429 (an HTTP date is turned into seconds from now, at least 0). */
  readonly retryAfterSec?: number;
  /** The answer's first 256 bytes as text (key redacted), for `unexpected_shape`, `malformed_json` and HTTP errors. */
  readonly firstBytes?: string;

  constructor(code: ConvoloCallListErrorCode, message: string, details: { status?: number; retryAfterSec?: number; firstBytes?: string } = {}) {
    super(message);
    this.name = 'ConvoloCallListError';
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterSec !== undefined) this.retryAfterSec = details.retryAfterSec;
    if (details.firstBytes !== undefined) this.firstBytes = details.firstBytes;
  }
}

/** Where the list sits in an object answer, tried in this order: the first of these keys holding an array. */
export const callListBodyKeys = ['data', 'calls', 'items', 'results', 'list', 'payload', 'webhooks'] as const;
/** An item without its own `call_id` whose only object-valued one of these keys has one is unwrapped. */
const itemEnvelopeKeys = ['payload', 'data', 'webhook', 'body', 'call'] as const;

/**
 * The items of a call list answer (already parsed JSON), or null when its shape is not one this client
 * accepts. Accepted: a JSON array of objects; or an object holding that array under the first of
 * `callListBodyKeys` (`data`, `calls`, `items`, `results`, `list`, `payload`, `webhooks`) that is an array.
 * An item with no `call_id` of its own that is an envelope (`{payload: {...}}`, `{data: {...}}`,
 * `{webhook: {...}}`, `{body: {...}}`, `{call: {...}}`) whose inner object has a `call_id` is replaced by
 * that inner object. Any other item that is an object is kept as it is (the caller validates payloads);
 * an item that is not an object makes the whole answer unexpected.
 *
 * @example
 * readCallListBody({ data: [{ call_id: 'a' }], total: 1 }); // [{ call_id: 'a' }]
 * readCallListBody([{ payload: { call_id: 'a' } }]);         // [{ call_id: 'a' }]
 * readCallListBody({ success: false });                      // null
 */
export function readCallListBody(body: unknown): Array<Record<string, unknown>> | null {
  let list: unknown = body;
  if (isObject(body)) list = callListBodyKeys.map((key) => body[key]).find(Array.isArray);
  if (!Array.isArray(list)) return null;
  const items: Array<Record<string, unknown>> = [];
  for (const item of list) {
    if (!isObject(item)) return null;
    items.push(unwrapItem(item));
  }
  return items;
}

function unwrapItem(item: Record<string, unknown>): Record<string, unknown> {
  if ('call_id' in item) return item;
  const inner = itemEnvelopeKeys.map((key) => item[key]).filter((value): value is Record<string, unknown> => isObject(value) && 'call_id' in value);
  return inner.length === 1 ? inner[0]! : item;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const datePattern = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The query string of a call list request (without the key), checking each value: dates `YYYY-MM-DD`,
 * `maxCalls` 1..500, `page` ≥ 1, seconds ≥ 0, a documented `status`. A wrong value throws a RangeError
 * before anything is sent; `label` names a field in that error (`switchboard mock-convolo` gives Convolo's names).
 *
 * @example
 * callListSearchParams({ widgetIds: ['a', 'b'], maxCalls: 500 }).toString(); // 'widget_ids=a%2Cb&max_calls=500'
 */
export function callListSearchParams(query: CallListQuery, label: (field: keyof CallListQuery) => string = (field) => `CallListQuery.${field}`): URLSearchParams {
  const params = new URLSearchParams();
  for (const [field, { name, kind }] of Object.entries(callListParams) as Array<[keyof CallListQuery, (typeof callListParams)[keyof CallListQuery]]>) {
    const value = query[field];
    if (value === undefined) continue;
    const wrong = (what: string) => new RangeError(`${label(field)} ${what} (got ${JSON.stringify(value)}).`);
    if (kind === 'list') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '' || v.includes(','))) throw wrong('must be non-empty ids without commas');
      if (value.length > 0) params.set(name, value.join(','));
    } else if (kind === 'date') {
      if (typeof value !== 'string' || !datePattern.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw wrong('must be a date YYYY-MM-DD');
      params.set(name, value);
    } else if (kind === 'count' || kind === 'seconds') {
      const max = field === 'maxCalls' ? callListMaxCalls : Number.MAX_SAFE_INTEGER;
      const min = kind === 'count' ? 1 : 0;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw wrong(`must be a whole number from ${min}${max === callListMaxCalls ? ` to ${max}` : ''}`);
      params.set(name, String(value));
    } else if (kind === 'status') {
      if (!callListStatuses.includes(value as CallListStatus)) throw wrong(`must be one of ${callListStatuses.join(', ')}`);
      params.set(name, value as string);
    } else {
      if (typeof value !== 'string') throw wrong('must be a string');
      if (value !== '') params.set(name, value);
    }
  }
  return params;
}

export interface CallListRequestOptions {
  /** `{callListBaseUrl}` without a trailing slash. */
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  /** The most bytes of an answer read (default: no limit); a 2xx answer longer than this is `too_large`. */
  maxBytes?: number;
  signal?: AbortSignal | undefined;
}

const firstBytesLength = 256;

/**
 * One page, as `ConvoloClient.listCalls` fetches it (exported for the client; use the client).
 *
 * @example
 * const page = await fetchCallListPage({ baseUrl, apiKey, timeoutMs: 15_000 }, { page: 1, maxCalls: 500 });
 */
export async function fetchCallListPage(options: CallListRequestOptions, query: CallListQuery): Promise<CallListPage> {
  const params = callListSearchParams(query);
  const url = new URL(`${options.baseUrl}/api/v2/calls/payload-data-list`);
  url.searchParams.set('api-key', options.apiKey);
  for (const [name, value] of params) url.searchParams.set(name, value);
  const redact = redactor(options.apiKey);
  const where = `Convolo's call list at ${redact(`${url.origin}${url.pathname}`)}`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;

  const maxBytes = options.maxBytes ?? Infinity;
  let response: Response;
  let bytes: Uint8Array;
  let over: boolean;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal });
    ({ bytes, over } = await readAtMost(response, maxBytes));
  } catch (error) {
    // The caller's own abort is theirs to recognise: its reason, untouched (it never holds the URL).
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted) throw new ConvoloCallListError('timeout', `${where} did not answer within ${options.timeoutMs} ms.`);
    throw new ConvoloCallListError('network', `Could not reach ${where}: ${redact(describeNetworkError(error))}.`);
  }
  const text = new TextDecoder().decode(bytes);
  const firstBytes = redact(new TextDecoder().decode(bytes.subarray(0, firstBytesLength)));
  const status = response.status;
  if (!response.ok) {
    const said = firstBytes === '' ? response.statusText : firstBytes.slice(0, 120);
    if (status === 401 || status === 403) throw new ConvoloCallListError('unauthorized', `${where} refused the API key (${status}): ${said}`, { status, firstBytes });
    if (status === 429) {
      const retryAfterSec = retryAfterSeconds(response.headers.get('retry-after'));
      const wait = retryAfterSec === undefined ? '' : `; retry after ${retryAfterSec} s`;
      throw new ConvoloCallListError('rate_limited', `${where} is rate limiting (429)${wait}.`, { status, firstBytes, ...(retryAfterSec === undefined ? {} : { retryAfterSec }) });
    }
    if (status >= 500) throw new ConvoloCallListError('server_error', `${where} failed (${status}): ${said}`, { status, firstBytes });
    throw new ConvoloCallListError('http_error', `${where} answered ${status}: ${said}`, { status, firstBytes });
  }
  if (over) {
    throw new ConvoloCallListError('too_large', `${where} answered ${status} with a page larger than ${sizeOf(maxBytes)}, the most one page may be: nothing of it was used.`, { status });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ConvoloCallListError('malformed_json', `${where} answered ${status} with something that is not JSON.`, { status, firstBytes });
  }
  const items = readCallListBody(body);
  if (items === null) {
    throw new ConvoloCallListError('unexpected_shape', `${where} answered ${status} with JSON that is neither a list of calls nor an object holding one under ${callListBodyKeys.join(', ')}.`, { status, firstBytes });
  }
  return { page: query.page ?? 1, items };
}

/**
 * Every page from `fromPage` (or `page`, or 1) until one holds no item. Not until a short one: Convolo does
 * not document its page size, and a server that served fewer than `maxCalls` per page (a cap lower than the
 * documented 500) would otherwise end the walk after its first page and hide every later call. One more
 * request per walk buys that certainty.
 * Stops with `unexpected_shape` when a full page repeats the previous one's call ids (a server that
 * ignores `page` would otherwise be read forever).
 *
 * @example
 * for await (const page of pagesOfCallList((q) => fetchCallListPage(options, q), { maxCalls: 500 })) console.log(page.page, page.items.length);
 */
export async function* pagesOfCallList(
  fetchPage: (query: CallListQuery) => Promise<CallListPage>,
  query: CallListQuery & { fromPage?: number },
): AsyncGenerator<CallListPage, void, undefined> {
  const { fromPage, ...rest } = query;
  let previous: string | null = null;
  for (let page = fromPage ?? rest.page ?? 1; ; page++) {
    const result = await fetchPage({ ...rest, page });
    const ids = result.items.map((item) => String(item.call_id ?? '')).join(',');
    if (previous !== null && ids === previous && result.items.length > 0) {
      throw new ConvoloCallListError('unexpected_shape', `Convolo's call list answered page ${page} with the same calls as page ${page - 1}: it seems to ignore page.`);
    }
    previous = ids;
    yield result;
    if (result.items.length === 0) return;
  }
}

/**
 * An answer's body, read up to `maxBytes`: `over` when it is longer (declared so, or found so while reading),
 * then with only what was read by then (the rest is not downloaded).
 */
async function readAtMost(response: Response, maxBytes: number): Promise<{ bytes: Uint8Array; over: boolean }> {
  if (maxBytes === Infinity) return { bytes: new Uint8Array(await response.arrayBuffer()), over: false };
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (!response.body) return { bytes: new Uint8Array(0), over: false };
  if (declared > maxBytes) {
    await response.body.cancel().catch(() => {});
    return { bytes: new Uint8Array(0), over: true };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return { bytes: concat(chunks).subarray(0, firstBytesLength), over: true };
    }
  }
  return { bytes: concat(chunks), over: false };
}

/** The chunks as one array (without Buffer: the SDK runs in browsers too). */
function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** `16 MiB`, or a number of bytes that is no whole MiB. */
const sizeOf = (bytes: number): string => (bytes % 1_048_576 === 0 ? `${bytes / 1_048_576} MiB` : `${bytes} bytes`);

/** Replaces the key (as given and as URL-encoded, which it is in the URL) by `***` in any text. */
function redactor(apiKey: string): (text: string) => string {
  const forms = [...new Set([apiKey, encodeURIComponent(apiKey), new URLSearchParams({ k: apiKey }).toString().slice(2)])].filter((form) => form !== '');
  return (text) => forms.reduce((out, form) => out.split(form).join('***'), text).replace(/(api-key=)[^&\s"']*/gi, '$1***');
}

/** What went wrong on the wire, from undici's error and its cause (codes such as ECONNREFUSED). */
function describeNetworkError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}
