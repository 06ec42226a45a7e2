import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/admin/credentials.js';
import type { SourceId } from '../src/domain/ids.js';
import { newId } from '../src/domain/ids.js';
import { openStorage } from '../src/storage/open.js';
import type { NewEvent, Storage, StoredEvent } from '../src/storage/ports.js';
import { eventBytes, pageFull } from '../src/storage/shared/event-log.js';
import { acceptedEvent, backends, endCall, startTestApp } from './support/app.js';
import { sequenced } from './support/sequenced.js';

/**
 * The log's reads of large events are bounded by bytes as well as by count (readAfter: the stream's pages;
 * getBySeqs: the worker's claim): a page ends after the event that takes it past the budget, one event at least.
 */
describe.each(backends)('reads of the log bounded by bytes on $name', (backend) => {
  let storage: Storage;
  let sourceId: SourceId;
  let before: number;
  let sequencer: { stop(): Promise<void> } | undefined;
  /** The relayed events appended, in seq order, with their sizes. */
  let appended: StoredEvent[];
  const kb = 1024;

  beforeAll(async () => {
    storage = await openStorage(await backend.freshDb());
    await storage.migrate();
    // PostgreSQL gives seqs after commit: its sequencer (none on SQLite).
    sequencer = storage.startSequencer?.({ nodeId: 'read-pages-test' }) ?? undefined;
    sourceId = (await createSource(storage, 'pages')).id;
    before = await storage.events.lastSeq();
    // Bodies of 1, 40, 3, 40, 40, 2, 90 and 1 KB, with a quarantine record between (never read).
    const sizes = [1, 40, 3, 40, 40, 2, 90, 1];
    const batch: NewEvent[] = sizes.map((size, i) => acceptedEvent(sourceId, endCall(`big-${i}`, { note: 'x'.repeat(size * kb) })));
    batch.splice(3, 0, {
      ...acceptedEvent(sourceId, endCall('q')), id: newId('evt'), callId: null, type: null, status: 'quarantined', errorCode: 'invalid_json', errorDetail: 'x', body: Buffer.from('{'.repeat(50 * kb)), bodyHash: null,
    });
    await storage.events.append(batch);
    await sequenced(storage);
    appended = await storage.events.readAfter(before, 100);
    expect(appended).toHaveLength(sizes.length);
  });
  afterAll(async () => {
    await sequencer?.stop();
    await storage.close();
  });

  /** Reads the whole log after `before` in pages of at most `limit` events and `maxBytes`. */
  const readAll = async (limit: number, maxBytes: number) => {
    const pages: StoredEvent[][] = [];
    for (let cursor = before; ; ) {
      const page = await storage.events.readAfter(cursor, limit, maxBytes);
      pages.push(page);
      if (!pageFull(page, limit, maxBytes)) return pages;
      expect(page.length).toBeGreaterThan(0);
      cursor = page.at(-1)!.seq;
    }
  };

  it('ends a page after the event that takes it past the budget, and continuing from its last reads the rest, none skipped', async () => {
    const pages = await readAll(500, 50 * kb);
    // Each page ends once its bytes reach 50 KB (the 90 KB event alone: larger than the budget, it still goes).
    const expected: number[][] = [[]];
    for (let i = 0, bytes = 0; i < appended.length; i++) {
      expected.at(-1)!.push(appended[i]!.seq);
      bytes += eventBytes(appended[i]!);
      if (bytes >= 50 * kb) (expected.push([]), (bytes = 0));
    }
    expect(pages.map((page) => page.map((e) => e.seq))).toEqual(expected);
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.length).toBeLessThan(appended.length);
    for (const page of pages.slice(0, -1)) expect(page.reduce((n, e) => n + eventBytes(e), 0)).toBeGreaterThanOrEqual(50 * kb);
    expect(pages.flat().map((e) => e.seq)).toEqual(appended.map((e) => e.seq));
    expect(pages.flat()).toEqual(appended);
  });

  it('holds one event at least, however small the budget, and the count still bounds a page', async () => {
    const pages = await readAll(500, 1);
    expect(pages.map((p) => p.length)).toEqual([...appended.map(() => 1), 0]);
    expect(pages.flat().map((e) => e.seq)).toEqual(appended.map((e) => e.seq));
    const counted = await readAll(3, 1 << 30);
    expect(counted.map((p) => p.length)).toEqual([3, 3, 2]);
    expect(counted.flat()).toEqual(appended);
  });

  it('getBySeqs with a budget gives the first events by seq that fit in it; without, all of them', async () => {
    const seqs = appended.map((e) => e.seq).reverse();
    const first = await storage.events.getBySeqs(seqs, 50 * kb);
    // The same events as the stream's first page with that budget (the quarantine record is no delivery's).
    expect(first).toEqual(await storage.events.readAfter(before, 500, 50 * kb));
    expect(first.length).toBeGreaterThan(1);
    expect(first.length).toBeLessThan(appended.length);
    expect(pageFull(first, seqs.length, 50 * kb)).toBe(true);
    expect((await storage.events.getBySeqs(seqs.slice(0, 1), 1)).map((e) => e.seq)).toEqual([appended.at(-1)!.seq]);
    const all = await storage.events.getBySeqs(seqs, 1 << 30);
    expect(all).toEqual(appended);
    expect((await storage.events.getBySeqs(seqs)).sort((a, b) => a.seq - b.seq)).toEqual(appended);
  });
});

/**
 * The event list and a call's timeline answer summaries (size, type, status…), never the body or the call record: the
 * reads behind them leave those out, or GET /v1/events?limit=500 over large events held 500 bodies of up to the body
 * limit each (hundreds of MB a request, for any read key).
 */
describe.each(backends)('the event list reads no bodies on $name', (backend) => {
  it('GET /v1/events and GET /v1/calls/{id} answer their summaries without reading a body or a call record', async () => {
    let bodyBytes = 0;
    let records = 0;
    const watched = (storage: Storage): Storage => ({
      ...storage,
      events: {
        ...storage.events,
        list: async (filter) => {
          const events = await storage.events.list(filter);
          for (const e of events) (bodyBytes += e.body?.length ?? 0), (records += e.callAfter ? 1 : 0);
          return events;
        },
      },
    });
    const t = await startTestApp(await backend.freshDb(), {}, { wrapStorage: watched });
    try {
      for (let i = 0; i < 3; i++) expect((await t.post(endCall('listed', { note: `${i}`.padEnd(100_000, 'x') }))).status).toBe(200);
      await sequenced(t.app.storage);
      const listed = await t.api('/v1/events?limit=500');
      expect(listed.status).toBe(200);
      expect(listed.body.data).toHaveLength(3);
      expect(listed.body.data[0]).toMatchObject({ type: 'end_call', status: 'ok', call_id: 'listed', body_truncated: false });
      expect(listed.body.data[0].body_size).toBeGreaterThan(100_000);
      const call = await t.api('/v1/calls/listed');
      expect(call.status).toBe(200);
      expect(call.body.events).toHaveLength(3);
      expect({ bodyBytes, records }).toEqual({ bodyBytes: 0, records: 0 });
      // The quarantine's reprocess still reads them (it needs the body).
      expect((await t.app.storage.events.list({ limit: 1 }))[0]!.body!.length).toBeGreaterThan(100_000);
    } finally {
      await t.close();
    }
  });
});

/**
 * A destination's replay reads the log's events 500 at a time to queue them: the outbox's rows need their call record
 * (the destination's filters) and only Switchboard's own events' bodies. It read every body too: a replay over large
 * events held up to 500 of them at once (here, 60 of ~900 KB: ~80 MB of buffers in this process).
 */
describe.each(backends)('a replay reads no Convolo bodies on $name', (backend) => {
  it('queues every large event again without holding their bodies', async () => {
    const t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true } as never);
    try {
      for (let i = 0; i < 60; i++) expect((await t.post(endCall(`replayed-${i}`, { note: `${i}`.padEnd(900_000, 'x') }))).status).toBe(200);
      await sequenced(t.app.storage);
      // Added after the events (none queued for it yet), paused so that nothing is sent.
      const created = await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/hook' });
      expect(created.status).toBe(201);
      const id = (created.body as { id: string }).id;
      expect((await t.request('PATCH', `/v1/destinations/${id}`, { paused: true })).status).toBe(200);
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
      const replayed = await t.request('POST', `/v1/destinations/${id}/replay`, {});
      clearInterval(sample);
      expect(replayed).toMatchObject({ status: 202, body: { queued: 60 } });
      expect(peak - before).toBeLessThan(20 * 1024 * 1024);
    } finally {
      await t.close();
    }
  }, 120_000);
});
