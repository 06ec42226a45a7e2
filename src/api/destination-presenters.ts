import type { Delivery, DeliverySummary as DeliverySummaryBody } from '../domain/contract/deliveries.js';
import type { Destination as DestinationBody, DestinationWithSecret } from '../domain/contract/destinations.js';
import { livePreviousSecrets, type Destination } from '../domain/destination.js';
import { iso } from '../domain/presenters.js';
import { redactUrlCredentials, redactUrlsIn } from '../domain/redact.js';
import type { DeliverySummary, DeliveryView } from '../storage/ports.js';

/** What a viewer sees for each value of a destination's headers. */
export const hiddenHeaderValue = '…';

/**
 * A destination as the API shows it. The secret is shown only where an administrator asks for this one
 * destination (or has just created or rotated it); listings show `secret_hint`, enough to tell which
 * secret a receiver is configured with. The values of its headers and of its URL's query, and the URL's
 * userinfo and path segments that look like credentials, are an administrator's to read too
 * (`revealCredentials`): they are where a receiver's credentials go (`Authorization`, `?api_key=…`, a Slack
 * webhook's token), so a viewer gets the header names with each value as `…` and the URL with those parts as
 * `[redacted]` (domain/redact.ts redactUrlCredentials).
 *
 * @example
 * presentDestination(destination, { now: Date.now(), revealSecret: false, revealCredentials: false });
 * // { id: 'dst_…', url: 'https://…/in?key=[redacted]', headers: { Authorization: '…' }, status: 'enabled', secret_hint: 'whsec_…Q2xk', … }
 */
export function presentDestination(d: Destination, options: { now: number; revealSecret: true; revealCredentials: boolean }): DestinationWithSecret;
export function presentDestination(d: Destination, options: { now: number; revealSecret: boolean; revealCredentials: boolean }): DestinationBody;
export function presentDestination(d: Destination, options: { now: number; revealSecret: boolean; revealCredentials: boolean }): DestinationBody {
  const previous = livePreviousSecrets(d, options.now);
  return {
    id: d.id,
    url: options.revealCredentials ? d.url : redactUrlCredentials(d.url),
    description: d.description,
    event_types: d.eventTypes,
    widget_keys: d.widgetKeys,
    call_statuses: d.callStatuses,
    headers: d.headers === null || options.revealCredentials ? d.headers : Object.fromEntries(Object.keys(d.headers).map((name) => [name, hiddenHeaderValue])),
    rate_limit_per_sec: d.rateLimitPerSec,
    max_concurrency: d.maxConcurrency,
    status: d.disabledAt !== null ? 'disabled' : d.pausedAt !== null ? 'paused' : 'enabled',
    paused_at: iso(d.pausedAt),
    disabled_at: iso(d.disabledAt),
    disabled_reason: d.disabledReason,
    failing_since: iso(d.failingSince),
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    secret_hint: secretHint(d.secret),
    // Until then deliveries are also signed with a previous secret (the latest end of a rotation's grace period).
    previous_secret_expires_at: previous.length === 0 ? null : iso(Math.max(...previous.map((p) => p.expiresAt))),
    previous_secrets: previous.map((p) => ({ secret_hint: secretHint(p.secret), expires_at: iso(p.expiresAt) })),
    ...(options.revealSecret ? { secret: d.secret } : {}),
  };
}

/** `whsec_…` and the last four characters: 24 of the secret's 192 bits, useless to forge a signature. */
function secretHint(secret: string): string {
  return `whsec_…${secret.slice(-4)}`;
}

/** A delivery with every attempt (SPEC: time, status code, latency, first 2 KiB of the answer, error). */
export function presentDelivery(d: DeliveryView): Delivery {
  return {
    id: d.id,
    destination_id: d.destinationId,
    event_id: d.eventId,
    event_seq: d.eventSeq,
    event_type: d.eventType,
    call_id: d.callId,
    source_id: d.sourceId,
    status: d.status,
    attempt_count: d.attempts,
    next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    last_status: d.lastStatus,
    // Messages stored before they were written redacted (relay/ssrf.ts, send.ts) may name a URL whole.
    last_error: redactUrlsIn(d.lastError),
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    finished_at: iso(d.finishedAt),
    attempts: d.attemptLog.map((a) => ({
      attempt: a.attempt,
      attempted_at: iso(a.attemptedAt),
      status: a.status,
      latency_ms: a.latencyMs,
      response_body: a.responseBody,
      error: redactUrlsIn(a.error),
    })),
  };
}

/** A call's deliveries to one destination, in its detail view: counts by status and the latest attempt. */
export function presentDeliverySummary(s: DeliverySummary): DeliverySummaryBody {
  return {
    destination_id: s.destinationId,
    ...s.counts,
    last_attempt_at: s.lastAttemptAt === null ? null : iso(s.lastAttemptAt),
    last_status: s.lastStatus,
    last_error: redactUrlsIn(s.lastError),
  };
}
