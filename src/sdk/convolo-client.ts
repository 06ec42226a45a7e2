/**
 * A client for Convolo's call API (`add_call_api`): asks Convolo to call a lead now. Convolo then posts
 * `start_call` and `end_call` webhooks for the call, with the custom params in `lead.custom_params`.
 * https://help.convolo.ai — "Initiating a call with API". And for its call list API
 * (`/api/v2/calls/payload-data-list`, "Getting a list of calls via an API"): the `end_call` payloads of a
 * period's calls, page by page (convolo-call-list.ts).
 */
import { fetchCallListPage, pagesOfCallList, type CallListPage, type CallListQuery } from './convolo-call-list.js';
import { maxTimerMs } from './http.js';

export * from './convolo-call-list.js';

/** @example new ConvoloClient({ apiKey, baseUrl: 'http://localhost:8790' }); // against `switchboard mock-convolo` */
export interface ConvoloClientOptions {
  /** The widget's API key (Convolo dashboard → widget → Integrations). */
  apiKey: string;
  /** Default `https://app.convolo.ai`, the host Convolo's documentation gives for this API. */
  baseUrl?: string;
  /** Gives up after this long (default 15 000 ms), per request; at most 2^31-1 ms (what a timer holds), so `Infinity` means that. */
  timeoutMs?: number;
  /**
   * Default `https://api.leads.convolo.ai`, the host of Convolo's call list API (`listCalls`); the URL of
   * `switchboard mock-convolo` to test against it.
   */
  callListBaseUrl?: string;
  /**
   * The largest answer of one call list page read (bytes; default: no limit): a larger 2xx answer rejects with
   * `too_large` once that many bytes have come, so a runaway page cannot take the process's memory.
   */
  maxPageBytes?: number;
}

/**
 * Per-request options of `listCalls`/`listAllCalls`.
 *
 * @example
 * await convolo.listCalls({ page: 1 }, { signal: AbortSignal.timeout(5_000) });
 */
export interface CallListOptions {
  /** Aborts the request; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** @example client.addCall({ widgetKey, phone: '+46701234567', params: { crm_id: '42' } }); */
export interface AddCallInput {
  /** The widget that makes the call (dashboard → Main tab). */
  widgetKey: string;
  /** The lead's number, international format (or local with `country`). */
  phone: string;
  /** A second number Convolo may also try. */
  phone2?: string;
  /** Two-letter ISO country code for local numbers; the account's default otherwise. */
  country?: string;
  /** Overrides the voice message to the agent (Convolo calls this obsolete: prefer params). */
  message?: string;
  /** Custom params, sent as `lc_param_<name>`: names of 1–20 of `[A-Za-z0-9_]`, case-insensitive. */
  params?: Record<string, string>;
}

/**
 * Convolo's answer to a call request. Convolo documents none: `success` and `callId` are what integrations
 * read (and what `switchboard mock-convolo` answers); other fields are kept. A 2xx answer that is not a
 * JSON object is given as `{ raw: <its text> }`.
 *
 * @example
 * const { callId } = await convolo.addCall({ widgetKey, phone });
 */
export interface AddCallResponse {
  success?: boolean;
  callId?: string;
  call_id?: string;
  [field: string]: unknown;
}

/**
 * Why a call request failed: `invalid_param` (refused here, nothing was sent), `http_error`, `network_error`.
 *
 * @example
 * const worthRetrying = (code: ConvoloApiErrorCode) => code === 'network_error';
 */
export type ConvoloApiErrorCode = 'invalid_param' | 'http_error' | 'network_error';

/**
 * Thrown by `ConvoloClient`. For `http_error`, `status` and `body` are Convolo's answer and the message
 * is Convolo's own when it gave one.
 *
 * @example
 * try {
 *   await client.addCall({ widgetKey, phone });
 * } catch (error) {
 *   if (error instanceof ConvoloApiError && error.status === 401) console.error('check the API key');
 * }
 */
export class ConvoloApiError extends Error {
  constructor(
    readonly code: ConvoloApiErrorCode,
    message: string,
    readonly status: number | null = null,
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = 'ConvoloApiError';
  }
}

const paramName = /^[A-Za-z0-9_]{1,20}$/;

/**
 * Convolo's call API.
 *
 * @example
 * const convolo = new ConvoloClient({ apiKey: process.env.CONVOLO_API_KEY! });
 * const answer = await convolo.addCall({ widgetKey: 'a1b2…', phone: '+46701234567', params: { crm_id: '42' } });
 */
export class ConvoloClient {
  readonly #apiKey: string;
  readonly #endpoint: string;
  readonly #timeoutMs: number;
  readonly #callListBaseUrl: string;
  readonly #maxPageBytes: number;

  constructor(options: ConvoloClientOptions) {
    if (!options.apiKey) throw new ConvoloApiError('invalid_param', 'ConvoloClient needs an apiKey.');
    this.#apiKey = options.apiKey;
    this.#endpoint = `${(options.baseUrl ?? 'https://app.convolo.ai').replace(/\/+$/, '')}/rest/v1/ext/add_call_api/`;
    // AbortSignal.timeout runs a longer timer after 1 ms and refuses Infinity.
    this.#timeoutMs = Math.min(options.timeoutMs ?? 15_000, maxTimerMs);
    this.#callListBaseUrl = (options.callListBaseUrl ?? 'https://api.leads.convolo.ai').replace(/\/+$/, '');
    this.#maxPageBytes = options.maxPageBytes ?? Infinity;
  }

  /**
   * One page of the call list: `GET {callListBaseUrl}/api/v2/calls/payload-data-list?api-key=…&…`, the
   * query's fields as Convolo's parameters. Each item is an `end_call` payload object as Convolo gave it.
   * A wrong query value rejects with a RangeError before anything is sent; Convolo's refusals and broken
   * answers with a `ConvoloCallListError` (never containing the API key).
   *
   * @throws ConvoloCallListError
   * @example
   * const { items } = await convolo.listCalls({ dateFrom: '2026-03-01', dateTo: '2026-03-02', maxCalls: 500, page: 1 });
   * for (const payload of items) console.log(payload.call_id, payload.call_status);
   */
  listCalls(query: CallListQuery = {}, options: CallListOptions = {}): Promise<CallListPage> {
    return fetchCallListPage({ baseUrl: this.#callListBaseUrl, apiKey: this.#apiKey, timeoutMs: this.#timeoutMs, maxBytes: this.#maxPageBytes, signal: options.signal }, query);
  }

  /**
   * Every page of the call list from `fromPage` (default `page`, or 1) until one has no item (not a short
   * one: Convolo does not document its page size): resume an interrupted import by passing the next page as `fromPage`.
   *
   * @throws ConvoloCallListError
   * @example
   * for await (const { page, items } of convolo.listAllCalls({ dateFrom: '2026-01-01', maxCalls: 500 })) {
   *   await importPayloads(items);
   *   saveProgress(page + 1);
   * }
   */
  listAllCalls(query: CallListQuery & { fromPage?: number } = {}, options: CallListOptions = {}): AsyncIterable<CallListPage> {
    return pagesOfCallList((q) => this.listCalls(q, options), query);
  }

  /**
   * Asks Convolo to call a lead (`POST /rest/v1/ext/add_call_api/`, JSON). Param names are checked
   * before anything is sent. Resolves with Convolo's answer.
   *
   * @throws ConvoloApiError
   * @example
   * await convolo.addCall({ widgetKey, phone: '+46701234567', country: 'SE', params: { order: 'A-1001' } });
   */
  async addCall(input: AddCallInput): Promise<AddCallResponse> {
    const body = this.#bodyOf(input);
    let response: Response;
    try {
      response = await fetch(this.#endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new ConvoloApiError('network_error', `Could not reach Convolo at ${this.#endpoint}: ${(error as Error).message}`);
    }
    const text = await response.text();
    const answer = parse(text);
    if (!response.ok) throw new ConvoloApiError('http_error', `Convolo answered ${response.status}: ${messageOf(answer) ?? (text.slice(0, 200) || response.statusText)}`, response.status, answer);
    return answer !== null && typeof answer === 'object' && !Array.isArray(answer) ? (answer as AddCallResponse) : { raw: text };
  }

  #bodyOf(input: AddCallInput): Record<string, string> {
    if (!input.widgetKey) throw new ConvoloApiError('invalid_param', 'addCall needs a widgetKey.');
    if (!input.phone) throw new ConvoloApiError('invalid_param', 'addCall needs the lead\'s phone.');
    const body: Record<string, string> = { widget_key: input.widgetKey, api_key: this.#apiKey, lc_number: input.phone };
    if (input.phone2) body.lc_number_2 = input.phone2;
    if (input.country) body.country = input.country;
    if (input.message) body.lc_message = input.message;
    const seen = new Map<string, string>();
    for (const [name, value] of Object.entries(input.params ?? {})) {
      if (!paramName.test(name)) throw new ConvoloApiError('invalid_param', `Custom param name ${JSON.stringify(name)} is invalid: Convolo takes 1–20 letters, digits or underscores.`);
      // Convolo compares names case-insensitively: two spellings would overwrite each other there.
      const clash = seen.get(name.toLowerCase());
      if (clash !== undefined) throw new ConvoloApiError('invalid_param', `Custom params ${JSON.stringify(clash)} and ${JSON.stringify(name)} are the same name to Convolo (names are case-insensitive).`);
      seen.set(name.toLowerCase(), name);
      body[`lc_param_${name}`] = String(value);
    }
    return body;
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function messageOf(answer: unknown): string | null {
  if (answer === null || typeof answer !== 'object') return null;
  const { message, error, detail } = answer as Record<string, unknown>;
  const found = [message, error, detail].find((v) => typeof v === 'string' && v !== '');
  return (found as string | undefined) ?? null;
}
