import type { Config } from '../config/index.js';
import { signingSecrets, type Destination } from '../domain/destination.js';
import { createSender, type SendResult } from './send.js';
import { signatureHeaders } from './signing.js';

/**
 * Sending one webhook to a destination, as the delivery worker and the "send a test" route both do: the
 * Standard Webhooks signature over the exact bytes, the destination's own headers, our user agent, and the
 * SSRF-guarded, time-limited POST of send.ts.
 */

/** Who we are to receivers; a destination may not set its own (admin/destinations.ts refuses it). */
export const webhookUserAgent = 'Switchboard-Webhooks/1.0';

/** One webhook: the event id (the `webhook-id`, stable across retries) and the envelope bytes it signs. */
export interface WebhookMessage {
  id: string;
  payload: string;
}

export type SignTarget = Pick<Destination, 'url' | 'headers' | 'secret' | 'previousSecrets'>;

export interface WebhookSender {
  /**
   * Signs `message` with the destination's secrets valid at `now` (the previous ones too, each during its
   * rotation's grace) and POSTs it; the result is reported, never thrown.
   */
  signAndSend(destination: SignTarget, message: WebhookMessage, now: number): Promise<SendResult>;
  /** Waits for attempts in flight, then closes the kept-alive connections. */
  close(): Promise<void>;
}

/**
 * A webhook sender with the configured timeout and SSRF rule, over one kept-alive connection pool.
 *
 * @example
 * const webhooks = createWebhookSender(config);
 * const result = await webhooks.signAndSend(destination, { id: event.id, payload: envelopeJson(event) }, Date.now());
 * attemptError(result); // null, or e.g. 'answered 500' / 'timeout after 15000 ms'
 * await webhooks.close();
 */
export function createWebhookSender(config: Pick<Config, 'deliveryTimeoutSec' | 'allowPrivateDestinations'>): WebhookSender {
  const sender = createSender({ timeoutMs: config.deliveryTimeoutSec * 1000, allowPrivate: config.allowPrivateDestinations, userAgent: webhookUserAgent });
  return {
    signAndSend(destination, message, now) {
      // The signature carries the real time, whatever clock schedules the deliveries: receivers reject a
      // timestamp more than 5 minutes off theirs.
      const signed = signatureHeaders({ id: message.id, timestampSec: Math.floor(Date.now() / 1000), payload: message.payload, secrets: signingSecrets(destination, now) });
      return sender.send({ url: destination.url, headers: { ...destination.headers, ...signed }, body: message.payload });
    },
    close: () => sender.close(),
  };
}

/** What went wrong in an attempt, in one line: the sender's error, else the status of a non-2xx answer. */
export function attemptError(result: Pick<SendResult, 'ok' | 'status' | 'error'>): string | null {
  return result.error ?? (result.ok ? null : `answered ${result.status}`);
}
