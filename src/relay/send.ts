import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { memo } from './memo.js';
import { assertAllowedAddress, assertAllowedPort, DestinationRefused, guardedLookup, literalHost, shown } from './ssrf.js';
import { redactUrlCredentials } from '../domain/redact.js';

/**
 * One HTTP POST of a webhook, reported rather than thrown: the delivery worker records every attempt
 * (SPEC: time, status code, latency, the first 2 KiB of the response body, error text) and decides on
 * retries from the result alone.
 */

/** What the worker asks to be sent: the signed headers and the exact bytes they sign. */
export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The outcome of one attempt, as recorded in the delivery's attempt log. */
export interface SendResult {
  /**
   * A 2xx status arrived in time (as Svix and Stripe count it: the status decides; a body cut off after it,
   * by the receiver or the time limit, is said at the end of `responseBody`).
   */
  ok: boolean;
  /** The receiver's status code; null when no response arrived. */
  status: number | null;
  latencyMs: number;
  /**
   * The first 2048 bytes of the response body, decoded as UTF-8 (invalid sequences replaced); a 2xx body cut
   * off before them ends with `[body cut off: <why>]`.
   */
  responseBody: string;
  /** The raw Retry-After header, for the worker to weigh on 429 and 503. */
  retryAfter: string | null;
  /** What went wrong besides the status: timeout, refused connection, SSRF refusal, redirect. */
  error: string | null;
}

export interface SenderOptions {
  /** The whole attempt (connect, send, headers, the 2 KiB of body) must end within this; a 2xx's body is cut there. */
  timeoutMs: number;
  /** SWITCHBOARD_ALLOW_PRIVATE_DESTINATIONS: lifts the SSRF guard, for local development and tests. */
  allowPrivate: boolean;
  userAgent: string;
  /** Caps sockets per destination origin so one slow receiver cannot take every socket; unbounded by default. */
  maxConnectionsPerOrigin?: number;
}

export interface Sender {
  send(req: SendRequest): Promise<SendResult>;
  /** Waits for attempts in flight, then closes the kept-alive connections. */
  close(): Promise<void>;
}

export const maxResponseBodyBytes = 2048;
// After the 2 KiB we keep, read and discard up to this much more so the connection can be reused (an
// HTML error page is often a few KiB); beyond it undici destroys the socket instead of downloading.
const drainLimitBytes = 64 * 1024;

/**
 * A sender over one undici Agent, so connections to a destination are kept alive between deliveries.
 * Redirects are never followed: a receiver must answer at its own URL, and following a 3xx would
 * carry the signed payload to a second address that never passed the SSRF check at creation.
 *
 * Each attempt is one `dispatch` with a handler of our own (`Attempt`), not `agent.request`: that one
 * wraps every response in a Readable stream, and its time limit needs an AbortController with an
 * EventTarget listener, which together cost the delivery worker a tenth of its CPU (docs/benchmarks.md).
 *
 * @example
 * const sender = createSender({ timeoutMs: 15_000, allowPrivate: false, userAgent: 'Switchboard/0.1' });
 * const result = await sender.send({ url: destination.url, headers: signed, body });
 * if (!result.ok) console.log(result.status, result.error); // e.g. null 'timeout after 15000 ms'
 * await sender.close();
 */
export function createSender(options: SenderOptions): Sender {
  const { timeoutMs, allowPrivate, userAgent } = options;
  const agent = new Agent({
    // undici's own defaults are 300 s per phase; no phase may outlast the attempt. The attempt's own
    // timer is what bounds the sum of the phases.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs, lookup: guardedLookup(allowPrivate) },
    connections: options.maxConnectionsPerOrigin ?? null,
  });
  const target = targetsFor(allowPrivate);

  function send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      const attempt = new Attempt(started, timeoutMs, resolve);
      try {
        const { origin, path } = target(req.url);
        agent.dispatch({ origin, path, method: 'POST', headers: requestHeaders(userAgent, req.headers), body: req.body }, attempt);
      } catch (err) {
        attempt.fail(err);
      }
    });
  }

  return { send, close: () => agent.close() };
}

/** Where a destination URL sends to, once its SSRF checks have passed. */
interface Target {
  origin: string;
  path: string;
}

/**
 * Where a destination URL sends to, once its SSRF checks have passed: parsed and checked once per URL
 * (`memo`: a worker sends to a handful of URLs thousands of times a second; a URL refused throws every time).
 */
function targetsFor(allowPrivate: boolean): (href: string) => Target {
  return memo((href) => {
    const url = new URL(href);
    // Node connects to an IP literal without calling `lookup`, so the guard there never sees it.
    const literal = literalHost(url);
    if (!allowPrivate && literal !== null) assertAllowedAddress(shown(url), literal);
    // The port rule again at send time: the URL may predate it, or a change of SWITCHBOARD_ALLOW_PRIVATE_DESTINATIONS.
    if (!allowPrivate) assertAllowedPort(url);
    return { origin: url.origin, path: url.pathname + url.search };
  });
}

/**
 * One attempt, as undici's handler of its request. It settles its promise once: with the answer when the
 * response has ended or its first `maxResponseBodyBytes` have arrived, with the error when the request
 * fails, or with a timeout when `timeoutMs` has passed, whichever comes first (once a 2xx status has come,
 * an error or the timeout cuts its body rather than fails the attempt). After an answer it goes on
 * reading the body, up to a limit, so the connection can be reused; past the limit, or past the time
 * limit, it aborts the request and undici drops the socket: a receiver answering with 10 MB costs 2 KiB
 * of memory, not 10 MB.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private status: number | null = null;
  private retryAfter: string | null = null;
  private location: string | null = null;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private settled = false;
  private controller: Dispatcher.DispatchController | null = null;
  /** Set when the time ran out before undici started the request (it waited for a connection). */
  private expired: Error | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly started: number,
    private readonly timeoutMs: number,
    private readonly resolve: (result: SendResult) => void,
  ) {
    this.timer = setTimeout(() => this.expire(), timeoutMs);
    this.timer.unref();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.expired) controller.abort(this.expired);
  }

  /**
   * Also called for a 1xx before the answer, which is no answer yet: a receiver that sends 103 Early Hints and
   * then nothing has not answered (no status; the circuit breaker counts it as silent).
   */
  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    this.retryAfter = firstHeader(headers['retry-after']);
    this.location = firstHeader(headers.location);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.size < maxResponseBodyBytes) this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > drainLimitBytes) controller.abort(new Error('response body past the drain limit'));
    else if (this.size >= maxResponseBodyBytes) this.answer();
  }

  onResponseEnd(): void {
    clearTimeout(this.timer);
    this.answer();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    clearTimeout(this.timer);
    this.fail(err);
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const status = this.status;
    const error = describeError(err, this.timeoutMs, status !== null && status >= 200);
    // A 2xx had come in time: the receiver accepted the webhook, whatever became of the rest of its answer.
    if (status !== null && status >= 200 && status < 300) {
      this.resolve({ ok: true, status, latencyMs: this.elapsed(), responseBody: `${this.excerpt()}[body cut off: ${error}]`, retryAfter: this.retryAfter, error: null });
      return;
    }
    this.resolve({ ok: false, status, latencyMs: this.elapsed(), responseBody: '', retryAfter: this.retryAfter, error });
  }

  private answer(): void {
    if (this.settled) return;
    this.settled = true;
    const status = this.status!;
    const redirected = status >= 300 && status < 400;
    const result: SendResult = {
      ok: status >= 200 && status < 300,
      status,
      latencyMs: this.elapsed(),
      responseBody: this.excerpt(),
      retryAfter: this.retryAfter,
      error: redirected ? redirectError(status, this.location) : null,
    };
    // undici frees the socket for the next request in a setImmediate it schedules once this handler has
    // returned: a send made the moment this one resolves (the next event of the same call) would open a
    // second connection. So the answer is given in the macrotask after that one, queued from a microtask
    // (which runs once undici's callback, and its setImmediate call, are over), and that send reuses it.
    queueMicrotask(() => setImmediate(this.resolve, result));
  }

  /**
   * The body's first `maxResponseBodyBytes` so far. Invalid UTF-8 becomes U+FFFD in the decoding, and NUL
   * (valid, but PostgreSQL text cannot hold it: the outcome's whole batch would fail to record, again at every
   * claim) becomes it too, on both backends.
   */
  private excerpt(): string {
    return Buffer.concat(this.chunks, Math.min(this.size, maxResponseBodyBytes)).toString('utf8').replaceAll('\u0000', '\uFFFD');
  }

  private expire(): void {
    const reason = new DOMException(`The attempt took longer than ${this.timeoutMs} ms`, 'TimeoutError');
    if (this.controller) this.controller.abort(reason);
    else this.expired = reason;
    this.fail(reason);
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.started);
  }
}

/** The caller's headers, then what is not theirs to change. Keys lowercased so no header goes twice. */
function requestHeaders(userAgent: string, headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { 'user-agent': userAgent };
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  // The body is always the JSON envelope; a destination header must not make receivers misparse it.
  out['content-type'] = 'application/json';
  return out;
}

function firstHeader(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** The redirect not followed, its target without credentials (domain/redact.ts): it is stored with the delivery, which a viewer reads. */
function redirectError(status: number, location: string | null): string {
  if (location === null) return `redirect not followed (${status})`;
  const safe = redactUrlCredentials(location);
  const shown = safe.length > 200 ? `${safe.slice(0, 200)}…` : safe;
  return `redirect not followed (${status} to ${shown})`;
}

const errorWords: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the receiver',
  UND_ERR_SOCKET: 'connection closed by the receiver before it answered',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed, temporarily (EAI_AGAIN)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};
const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** The connection ended after the answer's status line had come (the status is recorded with the error). */
const closedMidAnswer = 'connection closed by the receiver in the middle of its answer (after the status)';

/**
 * One line for the attempt log that says what went wrong, in words an integrator acts on. `answered`: the
 * answer's status had come, so a closed connection cut the answer rather than came before one.
 */
function describeError(err: unknown, timeoutMs: number, answered: boolean): string {
  if (err instanceof DestinationRefused) return `refused: ${err.message}`;
  // Node's Happy Eyeballs reports a failure on every address as one AggregateError; the first says it.
  const cause = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
  if (cause instanceof DestinationRefused) return `refused: ${cause.message}`;
  const { name, code, message } = (cause ?? {}) as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || (code !== undefined && timeoutCodes.has(code))) return `timeout after ${timeoutMs} ms`;
  if (answered && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) return closedMidAnswer;
  if (code !== undefined && code in errorWords) return errorWords[code]!;
  if (code !== undefined && (code.startsWith('ERR_TLS') || code.includes('CERT'))) return `TLS: ${message ?? code}`;
  if (name === 'TypeError' && code === 'ERR_INVALID_URL') return 'invalid destination URL';
  return code !== undefined ? `${message ?? 'error'} (${code})` : (message ?? String(cause));
}
