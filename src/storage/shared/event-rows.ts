import type { NewEvent } from '../ports.js';

/** NewEvent → events row. Free of Kysely at run time: the SQLite writer thread loads it. */
export function toRow(e: NewEvent, callAfter: string | null) {
  return {
    id: e.id,
    source_id: e.sourceId,
    call_id: e.callId,
    type: e.type,
    status: e.status,
    error_code: e.errorCode,
    error_detail: e.errorDetail,
    content_type: e.contentType?.slice(0, 255) ?? null,
    body: e.body,
    body_hash: e.bodyHash,
    body_size: e.bodySize,
    body_truncated: e.bodyTruncated ? 1 : 0,
    received_at: e.receivedAt,
    call_after: callAfter,
    origin: e.origin === 'reconcile' ? 'reconcile' : null,
  };
}

/** The events columns an append writes, in toRow's order. */
export const eventColumns = [
  'id', 'source_id', 'call_id', 'type', 'status', 'error_code', 'error_detail', 'content_type', 'body', 'body_hash',
  'body_size', 'body_truncated', 'received_at', 'call_after', 'origin',
] as const satisfies ReadonlyArray<keyof ReturnType<typeof toRow>>;
