import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { assertAllowedAddress, assertAllowedPort, DestinationRefused, guardedLookup, literalHost } from './ssrf.js';

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
  /** A 2xx answer arrived in time and was read. */
  ok: boolean;
  /** The receiver's status code; null when no response arrived. */
  status: number | null;
  latencyMs: number;
  /** The first 2048 bytes of the response body, decoded as UTF-8 (invalid sequences replaced). */
  responseBody: string;
  /** The raw Retry-After header, for the worker to weigh on 429 and 503. */
  retryAfter: string | null;
  /** What went wrong besides the status: timeout, refused connection, SSRF refusal, redirect. */
  error: string | null;
}

export interface SenderOptions {
  /** The whole attempt (connect, send, headers, the 2 KiB of body) must end within this. */
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
 * @example
 * const sender = createSender({ timeoutMs: 15_000, allowPrivate: false, userAgent: 'Switchboard/0.1' });
 * const result = await sender.send({ url: destination.url, headers: signed, body });
 * if (!result.ok) console.log(result.status, result.error); // e.g. null 'timeout after 15000 ms'
 * await sender.close();
 */
export function createSender(options: SenderOptions): Sender {
  const { timeoutMs, allowPrivate, userAgent } = options;
  const agent = new Agent({
    // undici's own defaults are 300 s per phase; no phase may outlast the attempt. The signal in
    // send() is what bounds the sum of the phases.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs, lookup: guardedLookup(allowPrivate) },
    connections: options.maxConnectionsPerOrigin ?? null,
  });

  async function send(req: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const deadline = createDeadline(timeoutMs);
    let status: number | null = null;
    let retryAfter: string | null = null;
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const url = new URL(req.url);
      // Node connects to an IP literal without calling `lookup`, so the guard there never sees it.
      const literal = literalHost(url);
      if (!allowPrivate && literal !== null) assertAllowedAddress(JSON.stringify(url.href), literal);
      // The port rule again at send time: the URL may predate it, or a change of SWITCHBOARD_ALLOW_PRIVATE_DESTINATIONS.
      if (!allowPrivate) assertAllowedPort(url);

      const response = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: requestHeaders(userAgent, req.headers),
        body: req.body,
        signal: deadline.signal,
      });
      status = response.statusCode;
      retryAfter = firstHeader(response.headers['retry-after']);
      const responseBody = (await readPrefix(response.body, deadline)).toString('utf8');
      const latencyMs = elapsed();
      // undici's pool counts the socket busy until its client emits 'drain', which comes after the
      // body's 'end': a send made the moment this one resolves (the next event of the same call)
      // would open a second connection. One macrotask later the socket is free, and that send reuses it.
      await new Promise((resolve) => setImmediate(resolve));
      const redirected = status >= 300 && status < 400;
      return {
        ok: status >= 200 && status < 300,
        status,
        latencyMs,
        responseBody,
        retryAfter,
        error: redirected ? redirectError(status, firstHeader(response.headers.location)) : null,
      };
    } catch (err) {
      deadline.clear();
      return { ok: false, status, latencyMs: elapsed(), responseBody: '', retryAfter, error: describeError(err, timeoutMs) };
    }
  }

  return { send, close: () => agent.close() };
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

function redirectError(status: number, location: string | null): string {
  if (location === null) return `redirect not followed (${status})`;
  const shown = location.length > 200 ? `${location.slice(0, 200)}…` : location;
  return `redirect not followed (${status} to ${shown})`;
}

/**
 * The attempt's time limit: a signal that aborts with a TimeoutError after `ms`, and `clear()`, called once
 * the attempt and its background drain are over. Not `AbortSignal.timeout()`: its timer cannot be cleared,
 * so every attempt left a timer and a weakly held signal alive for the whole limit (75,000 of them at 5,000
 * deliveries/s and 15 s), which the garbage collector kept walking; and it cost ~12–20 µs a call against ~8.
 */
interface Deadline {
  signal: AbortSignal;
  clear(): void;
}

function createDeadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`The attempt took longer than ${ms} ms`, 'TimeoutError')), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * The first `maxResponseBodyBytes` of the body. The rest is drained in the background up to a limit so
 * the connection can be reused, and the socket is dropped past it: a receiver answering with 10 MB
 * costs 2 KiB of memory, not 10 MB.
 */
function readPrefix(body: Dispatcher.ResponseData['body'], deadline: Deadline): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => {
      body.off('data', onData).off('end', finish).off('error', reject);
      resolve(Buffer.concat(chunks, Math.min(size, maxResponseBodyBytes)));
      // Errors while draining are of no interest: the answer has been read.
      body.dump({ limit: drainLimitBytes, signal: deadline.signal }).catch(() => {}).finally(deadline.clear);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxResponseBodyBytes) finish();
    };
    body.on('data', onData).once('end', finish).once('error', reject);
  });
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

/** One line for the attempt log that says what went wrong, in words an integrator acts on. */
function describeError(err: unknown, timeoutMs: number): string {
  if (err instanceof DestinationRefused) return `refused: ${err.message}`;
  // Node's Happy Eyeballs reports a failure on every address as one AggregateError; the first says it.
  const cause = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
  if (cause instanceof DestinationRefused) return `refused: ${cause.message}`;
  const { name, code, message } = (cause ?? {}) as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || (code !== undefined && timeoutCodes.has(code))) return `timeout after ${timeoutMs} ms`;
  if (code !== undefined && code in errorWords) return errorWords[code]!;
  if (code !== undefined && (code.startsWith('ERR_TLS') || code.includes('CERT'))) return `TLS: ${message ?? code}`;
  if (name === 'TypeError' && code === 'ERR_INVALID_URL') return 'invalid destination URL';
  return code !== undefined ? `${message ?? 'error'} (${code})` : (message ?? String(cause));
}
