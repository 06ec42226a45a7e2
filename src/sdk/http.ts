/**
 * What the REST client and `subscribe()` share: the error a Switchboard answer becomes, and the request
 * plumbing over the platform's `fetch` (Node 20 and browsers alike, so no node: imports here).
 */

import { parseHttpDate } from '../domain/retry.js';

/**
 * A `fetch` as the platform defines it; injectable for tests, proxies or instrumentation.
 *
 * @example
 * const logged: FetchLike = (url, init) => { console.log(init?.method ?? 'GET', url); return fetch(url, init); };
 * createClient({ baseUrl, apiKey, fetch: logged });
 */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * A failed call to Switchboard. `code` is the server's stable `error` field (SPEC "Query API": `not_found`,
 * `forbidden`, `rate_limited`, …), so programs branch on it rather than on the wording of `message`.
 * When no answer came at all (connection refused, DNS, TLS), `status` is 0 and `code` is
 * `connection_failed` (also when the connection drops mid-answer); an answer that is not Switchboard's
 * JSON error gets `code` `http_<status>`, and a 2xx whose body is not JSON `invalid_response`.
 *
 * @example
 * try {
 *   await client.calls.get('nope');
 * } catch (error) {
 *   if (error instanceof SwitchboardApiError && error.code === 'not_found') console.log('no such call');
 *   else if (error instanceof SwitchboardApiError && error.status === 429) await sleep((error.retryAfter ?? 1) * 1000);
 *   else throw error;
 * }
 */
export class SwitchboardApiError extends Error {
  /** The HTTP status, or 0 when no answer came. */
  readonly status: number;
  readonly code: string;
  /** The server's `detail`, when it gave one (which field is wrong, and why). */
  readonly detail: string | undefined;
  /** Seconds to wait before trying again, from `Retry-After` (429, 503); undefined when not given. */
  readonly retryAfter: number | undefined;

  constructor(init: { status: number; code: string; message: string; detail?: string; retryAfter?: number; cause?: unknown }) {
    super(init.message, { cause: init.cause });
    this.name = 'SwitchboardApiError';
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.retryAfter = init.retryAfter;
  }
}

/**
 * Turns a non-2xx `Response` into a `SwitchboardApiError` (reads its body).
 *
 * @example
 * const response = await fetch(url, init);
 * if (!response.ok) throw await apiErrorOf(response);
 */
export async function apiErrorOf(response: Response): Promise<SwitchboardApiError> {
  const text = await response.text().catch(() => '');
  const body = parseErrorBody(text);
  const code = typeof body?.error === 'string' ? body.error : `http_${response.status}`;
  const message = typeof body?.message === 'string' ? body.message : `Switchboard answered HTTP ${response.status}`;
  const detail = typeof body?.detail === 'string' ? body.detail : undefined;
  return new SwitchboardApiError({
    status: response.status,
    code,
    message: detail ? `${message} (${detail})` : message,
    detail,
    retryAfter: retryAfterSeconds(response.headers.get('retry-after')),
  });
}

/**
 * Our error format `{ error, message, detail? }`, or null (a proxy's HTML page, an empty body).
 *
 * @example
 * parseErrorBody('{"error":"not_found","message":"No call has this call_id."}')?.error; // 'not_found'
 */
export function parseErrorBody(text: string): { error?: unknown; message?: unknown; detail?: unknown } | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Seconds to wait from a `Retry-After` header (Switchboard's answers, Convolo's): a whole number of seconds or
 * an HTTP date (then the seconds from `now` until it, at least 0). Undefined when absent or unreadable: not
 * Date.parse, which reads `1.5` or `-5` as days of 2001 (a wait of 0).
 *
 * @example
 * retryAfterSeconds('120'); // 120
 * retryAfterSeconds(new Date(Date.now() + 30_000).toUTCString()); // 29 or 30
 */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = parseHttpDate(text, now);
  return at === null ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The error for a `fetch` that got no answer; the platform's own error is kept as `cause`.
 *
 * @example
 * try { await fetch(url); } catch (error) { throw connectionError(url, error); }
 */
export function connectionError(baseUrl: string, error: unknown): SwitchboardApiError {
  const cause = (error as { cause?: { message?: string; code?: string } })?.cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
  return new SwitchboardApiError({ status: 0, code: 'connection_failed', message: `Cannot reach Switchboard at ${baseUrl} (${reason})`, cause: error });
}

/**
 * `Authorization: Bearer <key>` for a key; nothing without one (the dashboard signs in with a cookie).
 *
 * @example
 * fetch(url, { headers: { accept: 'application/json', ...authHeader(apiKey) } });
 */
export function authHeader(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/**
 * Without a key, the session cookie goes along, and only to the same origin: the server accepts it from
 * the dashboard's own origin only. With a key, the fetch options are left as the caller's fetch defaults them.
 *
 * @example
 * fetch(url, { headers, ...credentialsFor(undefined) }); // { credentials: 'same-origin' }
 */
export function credentialsFor(apiKey: string | undefined): Pick<RequestInit, 'credentials'> {
  return apiKey ? {} : { credentials: 'same-origin' };
}

/**
 * Query values as the API takes them: undefined and null are left out, arrays are comma-joined.
 *
 * @example
 * const query: Record<string, QueryValue> = { types: ['call.ended'], limit: 50, cursor: undefined };
 */
export type QueryValue = string | number | boolean | readonly string[] | null | undefined;

/**
 * `baseUrl` + `path` + the query string of `query` (without its empty values).
 *
 * @example
 * buildUrl('http://127.0.0.1:8787/', '/v1/calls', { status: 'answered', limit: 10, q: undefined });
 * // 'http://127.0.0.1:8787/v1/calls?status=answered&limit=10'
 */
export function buildUrl(baseUrl: string, path: string, query: Record<string, QueryValue> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    params.set(name, Array.isArray(value) ? value.join(',') : String(value));
  }
  const search = params.toString();
  return `${baseUrl.replace(/\/+$/, '')}${path}${search ? `?${search}` : ''}`;
}

/**
 * The wait before reconnect attempt number `attempt` (0 first): `baseMs` doubling up to `maxMs`, spread
 * over its upper half so that clients a server restart dropped together do not all return in the same
 * instant.
 *
 * @example
 * backoffMs(0, { baseMs: 500, maxMs: 30_000 }); // between 250 and 500
 * backoffMs(10, { baseMs: 500, maxMs: 30_000 }); // between 15000 and 30000
 */
export function backoffMs(attempt: number, options: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The longest delay a timer keeps (2^31-1 ms, 24.8 days): Node runs a timer set for longer after 1 ms,
 * and browsers at once, so every delay that can come from outside (`Retry-After`, options) is capped here.
 */
export const maxTimerMs = 2 ** 31 - 1;

/**
 * Resolves after `ms` (at most `maxTimerMs`), or at once when `signal` aborts (without rejecting: the
 * caller checks the signal).
 *
 * @example
 * await sleep(backoffMs(attempt, { baseMs: 500, maxMs: 30_000 }), signal);
 * if (signal.aborted) return;
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(ms, maxTimerMs));
    signal?.addEventListener('abort', done, { once: true });
  });
}
