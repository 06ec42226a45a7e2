import { Webhook } from 'standardwebhooks';
import { validateEnvelope, type SwitchboardEvent } from './envelope.js';
import type { ValidationProblem } from './validate.js';

/**
 * Verification of Switchboard's webhooks, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`). The HMAC is computed by the
 * `standardwebhooks` library itself; the SDK adds what its `verify()` lacks: a configurable tolerance, a
 * clock for tests, several secrets, `Headers` objects, and errors with stable codes that say what to fix.
 */

/**
 * Why a webhook was refused; stable, for code to branch on.
 *
 * @example
 * const retryable = (code: WebhookVerificationErrorCode) => code === 'invalid_secret'; // our fault, not the sender's
 */
export type WebhookVerificationErrorCode =
  | 'not_raw_body'
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_signature'
  | 'invalid_payload'
  | 'invalid_secret';

/**
 * Thrown by `verifyWebhook`. `code` says why; `errors` lists the envelope's problems for `invalid_payload`.
 *
 * @example
 * try {
 *   verifyWebhook(body, headers, secret);
 * } catch (error) {
 *   if (error instanceof WebhookVerificationError && error.code === 'timestamp_too_old') console.warn('clock skew?');
 * }
 */
export class WebhookVerificationError extends Error {
  constructor(
    readonly code: WebhookVerificationErrorCode,
    message: string,
    readonly errors: ValidationProblem[] = [],
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/**
 * The raw request body: the exact bytes that were signed, or their text.
 *
 * @example
 * const body: RawBody = await request.text(); // or express.raw()'s Buffer
 */
export type RawBody = string | Uint8Array | ArrayBuffer;

/**
 * Request headers: a web `Headers`, or a plain object such as Node's `req.headers` (names in any case).
 *
 * @example
 * const headers: WebhookHeaders = request.headers; // or req.headers in node:http and Express
 */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** @example verifyWebhook(body, headers, secret, { toleranceSec: 600 }); */
export interface VerifyOptions {
  /** How far `webhook-timestamp` may be from now, in seconds, either way (default 300, as the spec says; also for NaN). */
  toleranceSec?: number;
  /** The current time in milliseconds (default `Date.now`); for tests. */
  now?: () => number;
}

const defaultToleranceSec = 5 * 60;

/**
 * Checks a webhook's signature and returns its typed event. Give it the raw body exactly as received:
 * signatures cover bytes, and `JSON.stringify(JSON.parse(body))` is not the same text. Give several secrets
 * while rotating: the webhook is accepted when any of them signed it.
 *
 * @throws WebhookVerificationError with a stable `code`
 * @example
 * // Express: app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => { … })
 * const event = verifyWebhook(req.body, req.headers, process.env.SWITCHBOARD_SECRET!);
 * if (event.type === 'call.ended') console.log(event.call_id, event.data.call_status);
 */
export function verifyWebhook(rawBody: RawBody, headers: WebhookHeaders, secret: string | readonly string[], options: VerifyOptions = {}): SwitchboardEvent {
  const payload = textOf(rawBody);
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signature = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signature) {
    const missing = [!id && 'webhook-id', !timestamp && 'webhook-timestamp', !signature && 'webhook-signature'].filter(Boolean);
    throw new WebhookVerificationError('missing_headers', `The request has no ${missing.join(', ')} header: is it a webhook from Switchboard?`);
  }
  const timestampSec = checkTimestamp(timestamp, options);
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new WebhookVerificationError('invalid_secret', 'No secret given to verify with.');
  // Space-separated per the spec; a signature sent on lines of its own arrives joined with ", " (HTTP's
  // folding), so a trailing comma is no part of it (base64 has none).
  const signatures = signature.split(' ').flatMap((s) => (s.startsWith('v1,') ? [s.slice(3).replace(/,$/, '')] : []));
  const signed = secrets.some((s) => {
    const expected = signerOf(s).sign(id, new Date(timestampSec * 1000), payload).slice(3);
    return signatures.some((candidate) => timingSafeEqual(candidate, expected));
  });
  if (!signed) throw new WebhookVerificationError('invalid_signature', 'No signature matches: check the secret (whsec_…) and that the body is passed exactly as received.');
  return parseEvent(payload);
}

// ignoreBOM keeps a leading BOM: it was signed, and dropping it would make a good signature fail.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function textOf(rawBody: unknown): string {
  if (typeof rawBody === 'string') return rawBody;
  if (rawBody instanceof Uint8Array) return utf8.decode(rawBody);
  if (rawBody instanceof ArrayBuffer) return utf8.decode(new Uint8Array(rawBody));
  // The most common mistake with every webhook SDK: a framework parsed the JSON before we saw it.
  const what = rawBody === null || rawBody === undefined ? String(rawBody) : typeof rawBody === 'object' ? 'a parsed object' : `a ${typeof rawBody}`;
  throw new WebhookVerificationError(
    'not_raw_body',
    `verifyWebhook needs the raw request body (a string, Buffer or Uint8Array), because the signature covers the exact bytes sent; you passed ${what}. ` +
      'Read the body unparsed: express.raw({ type: "application/json" }), `await request.text()`, or Fastify\'s `addContentTypeParser` with parseAs: "buffer".',
  );
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return typeof value === 'string' ? value : value?.[0];
  }
  return undefined;
}

function checkTimestamp(value: string, options: VerifyOptions): number {
  if (!/^\d{1,15}$/.test(value)) throw new WebhookVerificationError('invalid_timestamp', 'The webhook-timestamp header is not whole seconds since the epoch.');
  const timestampSec = Number(value);
  const nowSec = Math.floor((options.now ?? Date.now)() / 1000);
  // NaN (what Number() makes of an unset variable) would pass both comparisons below: every timestamp, any
  // age, would be accepted and replays with it. It gets the default instead.
  const tolerance = options.toleranceSec === undefined || Number.isNaN(options.toleranceSec) ? defaultToleranceSec : options.toleranceSec;
  // Beyond the tolerance a captured request could be replayed; a receiver deduplicating on `id` is safe anyway.
  if (nowSec - timestampSec > tolerance) throw new WebhookVerificationError('timestamp_too_old', `The webhook was signed ${nowSec - timestampSec} s ago, more than the ${tolerance} s allowed: a replay, or a clock off.`);
  if (timestampSec - nowSec > tolerance) throw new WebhookVerificationError('timestamp_too_new', `The webhook is signed ${timestampSec - nowSec} s in the future, more than the ${tolerance} s allowed: a clock is off.`);
  return timestampSec;
}

function signerOf(secret: string): Webhook {
  try {
    return new Webhook(secret);
  } catch (error) {
    throw new WebhookVerificationError('invalid_secret', `The secret is not a valid whsec_… secret: ${(error as Error).message}`);
  }
}

/** Compares without stopping at the first difference, so timing does not reveal how much of a guess was right. */
function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

function parseEvent(payload: string): SwitchboardEvent {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'The body is signed but is not JSON.');
  }
  const result = validateEnvelope(value);
  if (!result.ok) {
    const detail = result.errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ');
    throw new WebhookVerificationError('invalid_payload', `The body is signed but is not a Switchboard event: ${detail}`, result.errors);
  }
  return result.value;
}
