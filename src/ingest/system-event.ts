import { newId, type SourceId } from '../domain/ids.js';
import type { NewEvent } from '../storage/ports.js';

/**
 * One of Switchboard's own events (status `system`: call.stale, switchboard.*), ready to append to the log
 * like an ingested one; its body is `data` as JSON, the envelope's `data`.
 *
 * @example
 * systemEvent({ type: 'call.stale', sourceId, callId, data: { reason: 'no_end_call' }, at: Date.now() });
 */
export function systemEvent(e: { type: string; sourceId: string; callId: string | null; data: Record<string, unknown>; at: number }): NewEvent {
  const body = Buffer.from(JSON.stringify(e.data));
  return {
    id: newId('evt'), sourceId: e.sourceId as SourceId, callId: e.callId, type: e.type, status: 'system', errorCode: null, errorDetail: null,
    contentType: 'application/json', body, bodyHash: null, bodySize: body.length, bodyTruncated: false, receivedAt: e.at,
  };
}
