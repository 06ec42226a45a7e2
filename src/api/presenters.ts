import type { EventDetail, EventSummary } from '../domain/contract/events.js';
import { iso } from '../domain/presenters.js';
import type { StoredEvent } from '../storage/ports.js';

/** An event as the API lists it: no body. */
export function presentEventSummary(e: StoredEvent): EventSummary {
  return {
    id: e.id,
    seq: e.seq,
    source_id: e.sourceId,
    call_id: e.callId,
    type: e.type,
    status: e.status,
    error: e.errorCode,
    error_detail: e.errorDetail,
    content_type: e.contentType,
    received_at: iso(e.receivedAt),
    body_size: e.bodySize,
    body_truncated: e.bodyTruncated,
    ...(e.status === 'quarantined' ? { reprocessed_into: e.reprocessedInto ?? null } : {}),
    ...(e.origin === 'reconcile' ? { origin: 'reconcile' as const } : {}),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An event with its raw body: `body_base64` is always the exact bytes; `body` is the same bytes as text
 * when they are valid UTF-8 (null otherwise), for reading by eye.
 */
export function presentEvent(e: StoredEvent): EventDetail {
  let text: string | null = null;
  if (e.body) {
    try {
      text = utf8.decode(e.body);
    } catch {
      text = null;
    }
  }
  return { ...presentEventSummary(e), body: text, body_base64: e.body ? e.body.toString('base64') : null };
}
