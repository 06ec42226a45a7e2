import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { memo } from './memo.js';

/**
 * Signing of outbound webhooks per the Standard Webhooks specification
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md). The
 * reference library decodes and checks each secret (so a secret it would refuse is refused here too); the
 * HMAC itself is node:crypto's, over the same bytes: the library's is SHA-256 in JavaScript, which took a
 * tenth of the server's CPU when delivering on PostgreSQL (docs/benchmarks.md). signing.test.ts checks
 * every signature against both receiver libraries and the spec's test vector.
 */

/** The three headers a receiver needs to verify a delivery. */
export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * A new destination secret: `whsec_` then 24 random bytes in base64 (192 bits; the spec asks for
 * between 24 and 64 bytes). Plain base64, not base64url: that is what the libraries decode.
 *
 * @example
 * newWebhookSecret(); // 'whsec_Mf…' (38 characters)
 */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * The Standard Webhooks headers for one delivery attempt: a `v1,<base64 HMAC-SHA256>` signature of
 * `${id}.${timestampSec}.${payload}` per secret, space-separated. Several signatures are how the spec
 * lets a destination rotate its secret: while previous secrets are in their grace periods, a receiver
 * still configured with one of them finds its signature among them.
 *
 * @param input.id the event id; stable across retries so the receiver can deduplicate
 * @param input.timestampSec the attempt time in whole seconds; receivers reject one more than 5 min off
 * @param input.payload the exact body that will be sent (signatures are over bytes, not JSON values)
 * @param input.secrets the current secret first, then the previous ones still in their grace periods
 * @example
 * signatureHeaders({ id: 'evt_123', timestampSec: Math.floor(Date.now() / 1000), payload: body, secrets: [secret] });
 * // { 'webhook-id': 'evt_123', 'webhook-timestamp': '1700000000', 'webhook-signature': 'v1,K5oZ…=' }
 */
export function signatureHeaders(input: {
  id: string;
  timestampSec: number;
  payload: string;
  secrets: readonly string[];
}): SignatureHeaders {
  const { id, timestampSec, payload, secrets } = input;
  // The library floors the Date to seconds; a fractional timestamp would sign a value other than the
  // header we send, and every verification would fail without saying why.
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new RangeError(`timestampSec must be whole seconds since the epoch, got ${timestampSec}`);
  }
  if (secrets.length === 0) throw new RangeError('at least one secret is needed to sign');
  const signature = secrets.map((secret) => `v1,${createHmac('sha256', signingKey(secret)).update(`${id}.${timestampSec}.`).update(payload).digest('base64')}`).join(' ');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSec), 'webhook-signature': signature };
}

const prefix = 'whsec_';

/**
 * The HMAC key of a secret: base64 after an optional `whsec_`, decoded once per secret (a worker signs with
 * a handful). The library's constructor checks it first (strict base64, not empty) and throws as it always
 * did; a secret it accepts decodes to the same bytes with Buffer's decoder.
 */
const signingKey = memo((secret: string): Buffer => {
  new Webhook(secret);
  return Buffer.from(secret.startsWith(prefix) ? secret.slice(prefix.length) : secret, 'base64');
});
