import net from 'node:net';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createSource } from '../src/admin/credentials.js';
import type { Storage } from '../src/storage/ports.js';
import { backends, endCall, fixtures, startCall, startTestApp, type TestApp } from './support/app.js';
import { openStream, waitFor, type SseClient, type SseEvent } from './support/sse.js';
import { sequenced } from './support/sequenced.js';

/** GET /v1/stream (SPEC "Real time") over real HTTP, against both backends. */

/** Every relayed seq in the log after `after`, in order: what the stream must deliver. */
async function logSeqs(storage: Storage, after: number, filter: (type: string | null) => boolean = () => true): Promise<number[]> {
  const seqs: number[] = [];
  // PostgreSQL gives seq after commit (the sequencer): what was acknowledged is in the log once it has one.
  await sequenced(storage);
  for (let cursor = after; ; ) {
    const page = await storage.events.readAfter(cursor, 500);
    if (page.length === 0) return seqs;
    seqs.push(...page.filter((e) => filter(e.type)).map((e) => e.seq));
    cursor = page.at(-1)!.seq;
  }
}

const seqsOf = (events: SseEvent[]) => events.map((e) => Number(e.id));
const callIdsOf = (events: SseEvent[]) => events.map((e) => JSON.parse(e.data).call_id as string);

describe.each(backends)('stream on $name', (backend) => {
  let t: TestApp;
  const clients: SseClient[] = [];
  const open = async (options: Parameters<typeof openStream>[1] = {}) => {
    const client = await openStream(t.baseUrl, { key: t.adminKey, ...options });
    clients.push(client);
    return client;
  };
  /** Waits until the hub counts `n` clients: a live subscriber sees everything committed after that. */
  const subscribed = (n: number) => waitFor(`${n} stream clients`, () => t.app.relay.hub.clients === n);
  const closeAll = async () => {
    clients.splice(0).forEach((c) => c.close());
    await subscribed(0);
  };
  /** The only open client, once subscribed, gets an end_call posted now and nothing before it; then closes. */
  const receivesJustOneEvent = async (client: SseClient) => {
    await subscribed(1);
    const callId = `one-${Math.random()}`;
    await t.post(endCall(callId));
    await waitFor('the event', () => client.events.length === 1);
    expect(callIdsOf(client.events)).toEqual([callId]);
    await closeAll();
  };

  beforeAll(async () => {
    // 100 clients on one key: above the default cap of streams per key (test/stream-limits.test.ts covers the cap).
    t = await startTestApp(await backend.freshDb(), { streamHeartbeatSec: 1, streamMaxPerKey: 1000 });
  });
  afterAll(async () => {
    await closeAll();
    await t.close();
  });

  it('sends call.started then call.ended with id = seq, the relay envelope, and the call after each event', async () => {
    const client = await open();
    expect(client.status).toBe(200);
    expect(client.headers).toMatchObject({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    await waitFor('the retry line', () => client.retry === 2000);
    await subscribed(1);
    const start = await t.post(fixtures.startCall);
    const end = await t.post(fixtures.endCall);
    await waitFor('two events', () => client.events.length >= 2);

    const listed = (await t.api('/v1/events?call_id=35298eac05ef54b365e601f85d46afc1')).body.data;
    const seqOf = (id: string) => listed.find((e: { id: string }) => e.id === id).seq;
    expect(client.events.map((e) => [e.event, Number(e.id)])).toEqual([
      ['call.started', seqOf(start.body.id)],
      ['call.ended', seqOf(end.body.id)],
    ]);
    const [started, ended] = client.events.map((e) => JSON.parse(e.data));
    expect(started).toEqual({
      id: start.body.id,
      type: 'call.started',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      source_id: expect.stringMatching(/^src_/),
      call_id: '35298eac05ef54b365e601f85d46afc1',
      data: JSON.parse(fixtures.startCall.toString()),
      call: expect.objectContaining({ call_id: '35298eac05ef54b365e601f85d46afc1', status: 'in_progress', event_count: 1 }),
    });
    expect(ended).toMatchObject({
      id: end.body.id,
      type: 'call.ended',
      data: JSON.parse(fixtures.endCall.toString()),
      call: { status: 'answered', talk_duration_sec: 45, event_count: 2 },
    });
    // The envelope's call is the record as the API shows it after that event.
    expect(ended.call).toEqual((({ events: _events, deliveries: _deliveries, ...call }) => call)((await t.api('/v1/calls/35298eac05ef54b365e601f85d46afc1')).body));
    await closeAll();
  });

  it('keeps a pretty-printed body intact across several data: lines', async () => {
    const client = await open();
    await subscribed(1);
    const body = JSON.stringify(JSON.parse(startCall('pretty-1', { widget_name: 'a\nb' })), null, 2).replaceAll('\n', '\r\n');
    await t.post(body);
    await waitFor('the event', () => client.events.length === 1);
    expect(JSON.parse(client.events[0]!.data).data).toEqual(JSON.parse(body));
    await closeAll();
  });

  it('answers 401 in the error format without a key or with a wrong one, and accepts access_token in the query', async () => {
    for (const options of [{ key: null }, { key: `sbk_${'A'.repeat(43)}` }, { key: null, query: 'access_token=sbk_nope' }]) {
      const client = await open(options);
      await waitFor('the error body', () => client.ended);
      expect(client.status).toBe(401);
      expect(client.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(client.body)).toMatchObject({ error: 'unauthorized', message: expect.any(String) });
    }
    const { key } = await createApiKey(t.app.storage, 'stream reader', 'read');
    const client = await open({ key: null, query: `access_token=${key}` });
    expect(client.status).toBe(200);
    await receivesJustOneEvent(client);
  });

  it('answers 400 for an invalid since or Last-Event-ID', async () => {
    for (const options of [{ query: 'since=-1' }, { query: 'since=abc' }, { headers: { 'last-event-id': 'evt_1' } }]) {
      const client = await open(options);
      await waitFor('the error body', () => client.ended);
      expect(client.status).toBe(400);
      expect(JSON.parse(client.body)).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('filters by types, widget_key and source_id', async () => {
    const other = await createSource(t.app.storage, 'second');
    const otherUrl = t.ingestUrl.replace(/sbt_[^/]+$/, other.token);
    const byType = await open({ query: 'types=call.ended,convolo.call_transferred' });
    const byWidget = await open({ query: 'widget_key=w-blue' });
    const bySource = await open({ query: `source_id=${other.id}` });
    await subscribed(3);
    await t.post(startCall('f-1', { widget_key: 'w-blue' }));
    await t.post(endCall('f-1', { widget_key: 'w-blue' }));
    await t.post(startCall('f-2', { widget_key: 'w-red' }), 'application/json', otherUrl);
    await t.post(JSON.stringify({ type: 'call_transferred', call_id: 'f-3' }));
    await t.post(endCall('f-2', { widget_key: 'w-red' }), 'application/json', otherUrl);
    // The last post matches every filter: once each client has it, it has everything it will get.
    await t.post(endCall('f-4', { widget_key: 'w-blue' }), 'application/json', otherUrl);
    await waitFor('the last event everywhere', () => [byType, byWidget, bySource].every((c) => callIdsOf(c.events).includes('f-4')));

    expect(byType.events.map((e) => [e.event, JSON.parse(e.data).call_id])).toEqual([
      ['call.ended', 'f-1'],
      ['convolo.call_transferred', 'f-3'],
      ['call.ended', 'f-2'],
      ['call.ended', 'f-4'],
    ]);
    expect(byWidget.events.map((e) => [e.event, JSON.parse(e.data).call_id])).toEqual([
      ['call.started', 'f-1'],
      ['call.ended', 'f-1'],
      ['call.ended', 'f-4'],
    ]);
    expect(bySource.events.map((e) => [e.event, JSON.parse(e.data).call_id])).toEqual([
      ['call.started', 'f-2'],
      ['call.ended', 'f-2'],
      ['call.ended', 'f-4'],
    ]);
    await closeAll();
  });

  it('replays from the log after since=<seq>, then goes on live; Last-Event-ID wins over since', async () => {
    const posted = [];
    for (const id of ['s-1', 's-2', 's-3']) posted.push((await t.post(endCall(id))).body.id as string);
    const seqs = await Promise.all(posted.map(async (id) => (await t.api(`/v1/events/${id}`)).body.seq as number));
    const bySince = await open({ query: `since=${seqs[0]}` });
    const byHeader = await open({ query: `since=${seqs[0]}`, headers: { 'last-event-id': String(seqs[1]) } });
    await waitFor('the replay', () => bySince.events.length === 2 && byHeader.events.length === 1);
    await subscribed(2);
    await t.post(endCall('s-4'));
    await waitFor('the live event', () => bySince.events.length === 3 && byHeader.events.length === 2);
    expect(callIdsOf(bySince.events)).toEqual(['s-2', 's-3', 's-4']);
    expect(callIdsOf(byHeader.events)).toEqual(['s-3', 's-4']);
    expect(seqsOf(bySince.events).slice(0, 2)).toEqual(seqs.slice(1));
    await closeAll();
  });

  it('treats a since beyond the end of the log as "from now", after a gap frame that says so', async () => {
    const head = await t.app.storage.events.lastSeq();
    const client = await open({ query: 'since=999999999' });
    await waitFor('the gap frame', () => client.events.length === 1);
    // Its id is the head, where the stream goes on (EventSource resumes there).
    expect(client.events[0]).toMatchObject({ id: String(head), event: 'switchboard.gap' });
    expect(JSON.parse(client.events[0]!.data)).toEqual({ type: 'switchboard.gap', reason: 'cursor_ahead', after: 999999999, head, log_id: await t.app.storage.events.logId() });
    client.events.shift();
    await receivesJustOneEvent(client);
  });

  it('resumes with Last-Event-ID after disconnects in the middle of a burst: exactly the missed events', async () => {
    const from = await t.app.storage.events.lastSeq();
    const segments = [await open()];
    await subscribed(1);
    let burstDone = false;
    // Five waves of 100 concurrent posts, so that the burst lasts while the client comes and goes.
    const burst = (async () => {
      const answers = [];
      for (let wave = 0; wave < 5; wave++) answers.push(...(await Promise.all(Array.from({ length: 100 }, (_, i) => t.post(endCall(`burst-${wave}-${i}`))))));
      return answers;
    })().finally(() => (burstDone = true));
    // Each reconnection catches up from the log and turns live while the burst is still being committed.
    for (let i = 0; i < 4; i++) {
      const current = segments.at(-1)!;
      await waitFor('some events', () => current.events.length >= 40 || burstDone);
      current.close();
      const lastId = segments.flatMap((s) => s.events).at(-1)?.id ?? String(from);
      segments.push(await open({ headers: { 'last-event-id': lastId } }));
    }
    expect((await burst).every((a) => a.status === 200)).toBe(true);
    const expected = await logSeqs(t.app.storage, from);
    expect(expected).toHaveLength(500);
    const received = () => seqsOf(segments.flatMap((s) => s.events));
    await waitFor('every event', () => received().length >= 500);
    expect(received()).toEqual(expected);
    await closeAll();
  });

  it('gives every event of a burst to 100 concurrent clients', async () => {
    const from = await t.app.storage.events.lastSeq();
    const many = await Promise.all(Array.from({ length: 100 }, () => open()));
    await subscribed(100);
    await Promise.all(Array.from({ length: 300 }, (_, i) => t.post(endCall(`fan-${i}`))));
    const expected = await logSeqs(t.app.storage, from);
    expect(expected).toHaveLength(300);
    await waitFor('every client to have every event', () => many.every((c) => c.events.length >= 300));
    for (const client of many) expect(seqsOf(client.events)).toEqual(expected);
    await closeAll();
  });

  it('disconnects a client that never reads, without stalling the others or ingest', async () => {
    const from = await t.app.storage.events.lastSeq();
    const reader = await open();
    expect((await t.api('/metrics', null)).body).toContain('\nswitchboard_stream_clients_dropped_total{reason="behind"} 0\n');
    // Sends the request, never reads the answer: the socket's buffers fill, then the server's.
    const stalled = net.connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
    stalled.pause();
    stalled.write(`GET /v1/stream?access_token=${t.adminKey} HTTP/1.1\r\nhost: localhost\r\n\r\n`);
    await subscribed(2);
    // Large events, a few at a time, until the stalled client is dropped: it has to stop being able to
    // take more (kernel buffers, then the 1 MiB default bound) while the reader keeps up with every round.
    const padding = 'x'.repeat(200 * 1024);
    let posted = 0;
    while (t.app.relay.hub.clients === 2) {
      expect(posted).toBeLessThan(600);
      const round = await Promise.all(Array.from({ length: 3 }, (_, i) => t.post(endCall(`big-${posted + i}`, { debug: padding }))));
      expect(round.every((a) => a.status === 200)).toBe(true);
      posted += 3;
      await waitFor('the reader to get the round', () => reader.events.length >= posted || t.app.relay.hub.clients < 2);
    }
    expect(t.app.relay.hub.clients).toBe(1);
    // Counted for the operator: a client that falls behind loses its connection (it resumes from the log).
    expect((await t.api('/metrics', null)).body).toContain('\nswitchboard_stream_clients_dropped_total{reason="behind"} 1\n');
    await t.post(endCall('after-drop'));
    const expected = await logSeqs(t.app.storage, from);
    await waitFor('the reader to get everything', () => reader.events.length === expected.length);
    expect(seqsOf(reader.events)).toEqual(expected);
    stalled.destroy();
    await closeAll();
  });

  it('sends a heartbeat comment every streamHeartbeatSec', async () => {
    const client = await open();
    await waitFor('two heartbeats', () => client.comments.filter((c) => c === 'heartbeat').length >= 2, 5000);
    await closeAll();
  });

  it('works with the eventsource package as a browser would, and resumes after the connection drops', async () => {
    const es = new EventSource(`${t.baseUrl}/v1/stream?access_token=${t.adminKey}&types=call.ended`);
    const got: Array<{ id: string; callId: string }> = [];
    let errors = 0;
    es.addEventListener('call.ended', (e) => got.push({ id: e.lastEventId, callId: JSON.parse(e.data).call_id }));
    es.addEventListener('error', () => errors++);
    try {
      await waitFor('the EventSource to open', () => es.readyState === EventSource.OPEN);
      await subscribed(1);
      await t.post(startCall('es-1'));
      await t.post(endCall('es-1'));
      await waitFor('the first event', () => got.length === 1);
      const firstSeq = (await t.api('/v1/events?call_id=es-1&type=end_call')).body.data[0].seq;
      expect(got[0]).toEqual({ id: String(firstSeq), callId: 'es-1' });

      // Cut every connection: EventSource reconnects by itself after the retry delay, with Last-Event-ID.
      t.app.server.server.closeAllConnections();
      await waitFor('the drop', () => errors > 0);
      await subscribed(0);
      await t.post(endCall('es-2'));
      await t.post(endCall('es-3'));
      await waitFor('the missed events', () => got.length === 3);
      expect(got.map((g) => g.callId)).toEqual(['es-1', 'es-2', 'es-3']);
    } finally {
      es.close();
    }
    await subscribed(0);
  });
});

describe.each(backends)('stream shutdown on $name', (backend) => {
  it('ends open streams when the app closes, and the close resolves promptly', async () => {
    const t = await startTestApp(await backend.freshDb());
    const many = await Promise.all(Array.from({ length: 5 }, () => openStream(t.baseUrl, { key: t.adminKey })));
    const resuming = await openStream(t.baseUrl, { key: t.adminKey, query: 'since=0' });
    await waitFor('the clients', () => t.app.relay.hub.clients === 6);
    const started = Date.now();
    await t.close();
    expect(Date.now() - started).toBeLessThan(3000);
    await waitFor('every stream to end', () => [...many, resuming].every((c) => c.ended), 2000);
    expect(t.app.relay.hub.clients).toBe(0);
  });
});
