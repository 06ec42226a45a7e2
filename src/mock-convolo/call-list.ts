/**
 * The mock's side of Convolo's call list API (`GET /api/v2/calls/payload-data-list`, "Getting a list of
 * calls via an API"): every call the mock made, as the `end_call` payload it posted (or would have posted),
 * filtered and paged as Convolo's parameters say. Convolo does not document its answer's body; the mock
 * answers a bare JSON array of payloads, newest call first (see README.md).
 *
 * Also the test hooks of this endpoint: faults to answer for the next N requests (429 with Retry-After, 500,
 * a body that is not JSON, an unexpected shape).
 */
import {
  callListDefaultMaxCalls, callListMaxCalls, callListParams, callListSearchParams, type CallListQuery, type CallListStatus,
} from '../sdk/convolo-call-list.js';
import { MockError } from './errors.js';
import { endCallPayload } from './payloads.js';
import type { SimulatedCall } from './simulated-call.js';
import type { Outcome } from './timeline.js';
import type { Widget } from './widgets.js';

/** Convolo's `status` values and the `call_status` each means (`NO_ANSWER`: missed, nobody answered). */
export const statusOutcome: Record<CallListStatus, Outcome> = {
  NO_ANSWER: 'agent_not_answering',
  OPERATOR_ANSWERED: 'lead_not_answering',
  CLIENT_ANSWERED: 'answered',
};

const dayMs = 86_400_000;

/**
 * A fault the list endpoint answers instead of the calls, for the next `times` requests (default 1).
 * `body` is sent as it is (default: a JSON error for 4xx/5xx, `[]` otherwise); `retryAfter` becomes the
 * `Retry-After` header (a number of seconds or an HTTP date, as given).
 *
 * @example
 * mock.injectCallListFaults({ status: 429, retryAfter: 2, times: 3 });
 * mock.injectCallListFaults({ status: 200, body: '{"calls": "nope"}' }); // an unexpected shape
 * mock.injectCallListFaults({ status: 200, body: '<html>' });           // not JSON
 */
export interface CallListFault {
  status: number;
  retryAfter?: number | string;
  body?: string;
  contentType?: string;
  times?: number;
}

/** One request the list endpoint received (the key replaced by `***`): tests check what a client sent. */
export interface CallListRequestRecord {
  at: string;
  params: Record<string, string>;
  /** What it answered: the HTTP status and, for 200 with calls, how many. */
  status: number;
  count: number | null;
}

export interface CallListAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export interface CallListStore {
  /** Makes a call listable (when it ended, or at once for a call of the past). */
  add(call: SimulatedCall): void;
  /** How many calls are listable. */
  readonly size: number;
  /** Every listable call's end_call payload, newest first (what an unfiltered, unpaged list gives). */
  payloads(): Array<Record<string, unknown>>;
  queueFaults(fault: CallListFault): void;
  clearFaults(): void;
  readonly requests: readonly CallListRequestRecord[];
  /** Answers one request: the widgets are those whose API key is `api-key` (empty: 401). */
  answer(params: URLSearchParams, widgetsOfKey: (apiKey: string) => readonly Widget[]): CallListAnswer;
}

/**
 * A store over the calls the mock makes.
 *
 * @example
 * const list = createCallListStore({ now: Date.now });
 * list.add(call);
 * list.answer(new URLSearchParams({ 'api-key': widget.apiKey }), widgetsOfKey).body; // '[{"type":"end_call",…}]'
 */
export function createCallListStore(options: { now: () => number }): CallListStore {
  const calls: SimulatedCall[] = [];
  let sorted = true;
  const faults: Array<Required<Pick<CallListFault, 'status' | 'times'>> & CallListFault> = [];
  const requests: CallListRequestRecord[] = [];
  // The last filter's result (the same query is asked page after page); dropped when a call is added.
  let cache: { key: string; matches: SimulatedCall[] } | null = null;

  const byNewest = (a: SimulatedCall, b: SimulatedCall) => b.startedAt - a.startedAt || (a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : 0);
  const ordered = () => {
    if (!sorted) calls.sort(byNewest);
    sorted = true;
    return calls;
  };

  function record(params: URLSearchParams, status: number, count: number | null): void {
    const shown = Object.fromEntries([...params].map(([k, v]) => [k, k === 'api-key' ? '***' : v]));
    requests.push({ at: new Date(options.now()).toISOString(), params: shown, status, count });
    if (requests.length > 1000) requests.shift();
  }

  return {
    add(call) {
      calls.push(call);
      sorted = false;
      cache = null;
    },
    get size() {
      return calls.length;
    },
    payloads: () => ordered().map(endCallPayload),
    queueFaults(fault) {
      faults.push({ ...fault, times: fault.times ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    get requests() {
      return requests;
    },
    answer(params, widgetsOfKey) {
      const fault = faults[0];
      if (fault) {
        if (--fault.times <= 0) faults.shift();
        record(params, fault.status, null);
        return faultAnswer(fault);
      }
      const apiKey = params.get('api-key') ?? '';
      const widgets = apiKey === '' ? [] : widgetsOfKey(apiKey);
      if (widgets.length === 0) {
        record(params, 401, null);
        throw new MockError('invalid_list_api_key');
      }
      let query: CallListQuery;
      try {
        query = readQuery(params);
      } catch (error) {
        record(params, 400, null);
        throw error;
      }
      const maxCalls = query.maxCalls ?? callListDefaultMaxCalls;
      const page = query.page ?? 1;
      const allowed = new Set(widgets.map((w) => w.key));
      const wanted = query.widgetIds ? query.widgetIds.filter((id) => allowed.has(id)) : [...allowed];
      const key = JSON.stringify({ ...query, page: undefined, maxCalls: undefined, wanted, day: Math.floor(options.now() / dayMs) });
      if (cache?.key !== key) cache = { key, matches: ordered().filter(matcher(query, new Set(wanted), options.now())) };
      const slice = cache.matches.slice((page - 1) * maxCalls, page * maxCalls);
      record(params, 200, slice.length);
      return { status: 200, body: JSON.stringify(slice.map(endCallPayload)), headers: { 'content-type': 'application/json; charset=utf-8' } };
    },
  };
}

function faultAnswer(fault: CallListFault): CallListAnswer {
  const headers: Record<string, string> = { 'content-type': fault.contentType ?? 'application/json; charset=utf-8' };
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  const body = fault.body ?? (fault.status >= 400 ? JSON.stringify({ success: false, error: 'mock_fault', message: `An injected fault (${fault.status}).` }) : '[]');
  return { status: fault.status, body, headers };
}

/**
 * Reads Convolo's parameters into a `CallListQuery`, with the SDK's own checks (one table, one set of
 * rules). `max_calls` above 500 is served as 500: Convolo documents 500 as the most a page holds.
 */
export function readQuery(params: URLSearchParams): CallListQuery {
  const query: Record<string, unknown> = {};
  for (const [field, { name, kind }] of Object.entries(callListParams)) {
    const text = params.get(name);
    if (text === null || text === '') continue;
    if (kind === 'list') query[field] = text.split(',').map((id) => id.trim()).filter((id) => id !== '');
    else if (kind === 'count' || kind === 'seconds') query[field] = /^\s*\d+\s*$/.test(text) ? Number(text) : text;
    else query[field] = text;
  }
  if (typeof query.maxCalls === 'number' && query.maxCalls > callListMaxCalls) query.maxCalls = callListMaxCalls;
  try {
    callListSearchParams(query as CallListQuery, (field) => callListParams[field].name);
  } catch (error) {
    throw new MockError('invalid_list_parameter', { params: { why: (error as Error).message.replace(/\.$/, '') } });
  }
  return query as CallListQuery;
}

function matcher(query: CallListQuery, widgetKeys: ReadonlySet<string>, now: number): (call: SimulatedCall) => boolean {
  const today = Math.floor(now / dayMs) * dayMs;
  const from = query.dateFrom ? Date.parse(`${query.dateFrom}T00:00:00Z`) : today - 30 * dayMs;
  const to = (query.dateTo ? Date.parse(`${query.dateTo}T00:00:00Z`) : today) + dayMs;
  const outcome = query.status ? statusOutcome[query.status] : null;
  const contains = (haystack: string | null | undefined, needle: string) => haystack != null && haystack.toLowerCase().includes(needle.toLowerCase());
  const digits = (text: string) => text.replace(/\D/g, '');
  const leadDigits = query.filterLeadNumber ? digits(query.filterLeadNumber) : null;
  const within = (value: number, min: number | undefined, max: number | undefined) => (min === undefined || value >= min) && (max === undefined || value <= max);
  return (call) => {
    const t = call.timeline;
    if (!widgetKeys.has(call.widget.key) || call.startedAt < from || call.startedAt >= to) return false;
    if (outcome !== null && t.outcome !== outcome) return false;
    if (query.filterUrl !== undefined && !contains(call.sitePath, query.filterUrl)) return false;
    if (query.filterReferer !== undefined && !contains(call.referer, query.filterReferer)) return false;
    if (leadDigits !== null && !digits(call.request.leadPhone).includes(leadDigits)) return false;
    if (query.filterAgent !== undefined && ![call.agent?.name, call.agent?.email, call.agent?.phone].some((v) => contains(v, query.filterAgent!))) return false;
    if (!within(t.answerDurationSec, query.filterAnswerTimeFrom, query.filterAnswerTimeTo)) return false;
    if (!within(t.talkDurationSec, query.filterTalkTimeFrom, query.filterTalkTimeTo)) return false;
    if (query.searchString !== undefined) {
      const fields = [call.callId, call.request.leadPhone, call.widget.name, call.agent?.name, call.agent?.email, call.sitePath, ...Object.values(call.request.customParams)];
      if (!fields.some((v) => contains(v, query.searchString!))) return false;
    }
    return true;
  };
}
