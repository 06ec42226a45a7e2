import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/admin/credentials.js';
import type { SourceId } from '../src/domain/ids.js';
import { newId } from '../src/domain/ids.js';
import { openStorage } from '../src/storage/open.js';
import type { NewEvent, Storage } from '../src/storage/ports.js';
import { committedSequence } from '../src/relay/hub.js';
import { acceptedEvent, backends, endCall, startCall } from './support/app.js';

/**
 * With stream clients, a SQLite commit hands its events to the stream (AppendOptions.stored): the hub fans
 * them out without reading them back. What it hands must be what `readAfter` would have read — the frames a
 * client gets may not depend on which of the two paths its events took.
 */
describe.each(backends)('events handed over by the append on $name', (backend) => {
  let storage: Storage;
  let sourceId: SourceId;
  beforeAll(async () => {
    storage = await openStorage(await backend.freshDb());
    await storage.migrate();
    sourceId = (await createSource(storage, 'stored')).id;
  });
  afterAll(async () => {
    await storage.close();
  });

  /** A batch with every kind of result: new and stored calls, a duplicate, a quarantine record, odd fields. */
  const batch = (): NewEvent[] => {
    const at = 1_760_000_000_000;
    const start = acceptedEvent(sourceId, startCall('h1', { lead: { lead_name: 'Åsa Ñúñez 📞', lead_phone: '+46 70 123 45 67' } }), { receivedAt: at });
    const quarantined: NewEvent = {
      ...acceptedEvent(sourceId, endCall('h0'), { receivedAt: at + 2 }),
      id: newId('evt'), callId: null, type: null, status: 'quarantined', errorCode: 'invalid_json', errorDetail: 'Unexpected token', body: Buffer.from('{"type":'), bodyHash: null,
    };
    return [
      start,
      acceptedEvent(sourceId, JSON.stringify({ type: 'call_note', call_id: 'h1', note: 'a type Switchboard does not know' }), { receivedAt: at + 1 }),
      quarantined,
      { ...start, id: newId('evt') }, // the same bytes again in the batch: a duplicate
      acceptedEvent(sourceId, endCall('h1', { call_status: 'answered', talk_duration_sec: 42 }), { receivedAt: at + 3, contentType: `application/json; ${'x'.repeat(300)}` }),
      acceptedEvent(sourceId, endCall('h2'), { receivedAt: at + 4 }),
    ];
  };

  it('holds each fresh event as readAfter reads it, when asked, and only then', async () => {
    const before = await storage.events.lastSeq();
    const results = await storage.events.append(batch(), { stored: true });
    const read = await storage.events.readAfter(before, 100);
    if (backend.name === 'postgres') {
      // PostgreSQL gives seqs after the commit: its sequencer's tick hands the events over instead.
      expect(results.every((r) => r.stored === undefined)).toBe(true);
      return;
    }
    expect(results.map((r) => r.duplicate)).toEqual([false, false, false, true, false, false]);
    expect(results.filter((r) => r.stored).length).toBe(5);
    for (const r of results) if (r.stored) expect(r.stored.seq).toBe(r.seq);
    const sequence = committedSequence(results)!;
    expect(sequence).toMatchObject({ from: before + 1, upTo: before + 5 });
    // Byte for byte the read's: bodies, the record after each event (the lead's non-ASCII text), the content type cut to 255.
    expect(sequence.events).toEqual(read);
    expect(read).toHaveLength(4);
    expect(read[2]!.contentType).toHaveLength(255);
    expect(read[2]!.callAfter).toMatchObject({ call_id: 'h1', status: 'answered', talk_duration_sec: 42 });
    // The quarantine record as the log's other reads give it.
    const quarantined = results[2]!.stored!;
    expect(quarantined).toEqual(await storage.events.get(quarantined.id));

    const plain = await storage.events.append([acceptedEvent(sourceId, endCall('h3'))]);
    expect(plain[0]).not.toHaveProperty('stored');
    expect(plain[0]).not.toHaveProperty('callText');
  });
});
