import type { EventId, SourceId } from '../../domain/ids.js';
import type { EventOrigin, EventStatus, NewEvent } from '../ports.js';

/**
 * A batch of events as it crosses to the SQLite writer thread: the fields of each event in an array, and every
 * body in one ArrayBuffer that is transferred, not copied. Cloning the events as objects (postMessage's
 * structured clone) writes each one's property names again, and copies the whole ArrayBuffer behind each
 * body — a small Buffer is a view on Node's shared 8 KB pool — then the writer had to copy every event once
 * more to turn its body back into a Buffer.
 */
export interface EncodedBatch {
  events: EventFields[];
  /** The bodies one after the other; each event's field `bodyLength` (-1: no body) says how much is its own. */
  bodies: ArrayBuffer;
}

type EventFields = [
  id: EventId, sourceId: SourceId, callId: string | null, type: string | null, status: EventStatus, errorCode: string | null,
  errorDetail: string | null, contentType: string | null, bodyLength: number, bodyHash: string | null, bodySize: number,
  bodyTruncated: boolean, receivedAt: number, origin: EventOrigin | null,
];

/** The batch encoded; pass `bodies` in postMessage's transfer list. */
export function encodeBatch(batch: readonly NewEvent[]): EncodedBatch {
  let total = 0;
  for (const e of batch) if (e.body) total += e.body.length;
  const bodies = new Uint8Array(total);
  let at = 0;
  const events = batch.map((e): EventFields => {
    if (e.body) {
      bodies.set(e.body, at);
      at += e.body.length;
    }
    return [
      e.id, e.sourceId, e.callId, e.type, e.status, e.errorCode, e.errorDetail, e.contentType, e.body ? e.body.length : -1, e.bodyHash,
      e.bodySize, e.bodyTruncated, e.receivedAt, e.origin ?? null,
    ];
  });
  return { events, bodies: bodies.buffer };
}

/** The events again, each body a Buffer over the transferred memory (no copy). */
export function decodeBatch({ events, bodies }: EncodedBatch): NewEvent[] {
  let at = 0;
  return events.map(([id, sourceId, callId, type, status, errorCode, errorDetail, contentType, bodyLength, bodyHash, bodySize, bodyTruncated, receivedAt, origin]) => {
    let body: Buffer | null = null;
    if (bodyLength >= 0) {
      body = Buffer.from(bodies, at, bodyLength);
      at += bodyLength;
    }
    const event: NewEvent = { id, sourceId, callId, type, status, errorCode, errorDetail, contentType, body, bodyHash, bodySize, bodyTruncated, receivedAt };
    if (origin !== null) event.origin = origin;
    return event;
  });
}
