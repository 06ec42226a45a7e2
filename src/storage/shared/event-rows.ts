import type { NewEvent } from '../ports.js';

/** NewEvent → events row. Free of Kysely at run time: the SQLite writer thread loads it. */
export function toRow(e: NewEvent) {
  return {
    id: e.id,
    source_id: e.sourceId,
    call_id: e.callId,
    type: e.type,
    status: e.status,
    error_code: e.errorCode,
    error_detail: e.errorDetail,
    content_type: e.contentType,
    body: e.body,
    body_hash: e.bodyHash,
    body_size: e.bodySize,
    body_truncated: e.bodyTruncated ? 1 : 0,
    received_at: e.receivedAt,
  };
}
