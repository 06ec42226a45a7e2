import { describe, expect, it } from 'vitest';
import { newId } from '../../domain/ids.js';
import type { NewEvent } from '../ports.js';
import { decodeBatch, encodeBatch } from './batch-codec.js';

const event = (over: Partial<NewEvent>): NewEvent => ({
  id: newId('evt'), sourceId: newId('src'), callId: 'c1', type: 'end_call', status: 'ok', errorCode: null, errorDetail: null,
  contentType: 'application/json', body: Buffer.from('{"type":"end_call"}'), bodyHash: 'ab'.repeat(32), bodySize: 19,
  bodyTruncated: false, receivedAt: 1_700_000_000_000, ...over,
});

describe('the batch crossing to the SQLite writer thread', () => {
  it('comes back field for field, bodies included, through a real structured clone with the bodies transferred', () => {
    const batch = [
      event({}),
      event({ body: null, bodySize: 2_000_000, bodyTruncated: true, status: 'quarantined', errorCode: 'payload_too_large', callId: null, type: null, bodyHash: null }),
      event({ body: Buffer.alloc(0), bodySize: 0, contentType: null }),
      event({ origin: 'reconcile', body: Buffer.from('é€😀 bytes') }),
    ];
    const encoded = encodeBatch(batch);
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(encoded, [encoded.bodies]);
      expect(encoded.bodies.byteLength).toBe(0); // transferred, not copied
    } finally {
      port1.close();
      port2.close();
    }
    const decoded = decodeBatch(structuredClone(encodeBatch(batch)));
    expect(decoded).toEqual(batch);
    expect(decoded.map((e) => 'origin' in e)).toEqual([false, false, false, true]);
    expect(decoded.every((e) => e.body === null || Buffer.isBuffer(e.body))).toBe(true);
  });
});
