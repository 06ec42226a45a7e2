import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/domain/ids.js';
import type { FetchLike } from '../src/sdk/http.js';
import { subscribe, type StreamGap } from '../src/sdk/subscribe.js';
import { backends, endCall, startCall, startTestApp, startTestAppAgain, type TestApp } from './support/app.js';
import { openStream, waitFor, type SseClient, type SseEvent } from './support/sse.js';

/**
 * GET /v1/stream at the log's edges (docs/api.md "The stream's gap frame"): a cursor whose next events retention
 * deleted, and a cursor beyond the log's end (a database reset), are said by a `switchboard.gap` frame before
 * anything else (without `id:` when pruned, with `id: <head>` when the cursor is ahead); over real HTTP, against
 * both backends.
 */

const day = 86_400_000;
const seqsOf = (events: SseEvent[]) => events.filter((e) => e.event !== 'switchboard.gap').map((e) => Number(e.id));
const gapsOf = (events: SseEvent[]) => events.filter((e) => e.event === 'switchboard.gap');

describe.each(backends)('stream gaps on $name', (backend) => {
  let t: TestApp;
  /** Every gap frame names the log it is about. */
  let logId: string;
  let clock = Date.parse('2026-03-01T00:00:00Z');
  const clients: SseClient[] = [];
  const open = async (options: Parameters<typeof openStream>[1] = {}) => {
    const client = await openStream(t.baseUrl, { key: t.adminKey, ...options });
    clients.push(client);
    return client;
  };
  const closeAll = async () => {
    clients.splice(0).forEach((c) => c.close());
    await waitFor('no stream client', () => t.app.relay.hub.clients === 0);
  };
  /** The seqs of the events accepted for these bodies, in order (PostgreSQL numbers them after the commit). */
  const post = async (...bodies: string[]): Promise<number[]> => {
    const ids: string[] = [];
    for (const body of bodies) ids.push((await t.post(body)).body.id);
    await t.app.storage.events.waitSequenced();
    return Promise.all(ids.map(async (id) => (await t.api(`/v1/events/${id}`)).body.seq as number));
  };
  const prune = async () => {
    const answer = await t.request('POST', '/v1/prune', { retention_days: 5 });
    expect(answer.status).toBe(200);
    return answer.body as { events: number };
  };

  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    logId = await t.app.storage.events.logId();
  });
  afterEach(closeAll);
  afterAll(async () => {
    await t.close();
  });

  it('resuming from before what retention deleted: one gap frame without id first, then the events from the oldest kept, once each', async () => {
    const old = await post(startCall('old-1'), endCall('old-1'), startCall('old-2'), endCall('old-2'));
    clock += 10 * day;
    const kept = await post(startCall('new-1'), endCall('new-1'));
    expect((await prune()).events).toBe(4);
    const after = old[1]!;
    const resumedAt = kept[0]!;

    for (const client of [await open({ query: `since=${after}` }), await open({ headers: { 'last-event-id': String(after) } })]) {
      await waitFor('the gap and the kept events', () => client.events.length >= 3);
      // No id: EventSource's (and the SDK's) last event id stays the client's own cursor.
      expect(client.events[0]).toEqual({
        id: '',
        event: 'switchboard.gap',
        data: JSON.stringify({ type: 'switchboard.gap', reason: 'pruned', after, resumed_at: resumedAt, missed: resumedAt - after - 1, log_id: logId }),
      });
      expect(client.events.slice(1).map((e) => [Number(e.id), e.event])).toEqual([[kept[0], 'call.started'], [kept[1], 'call.ended']]);
    }
    // Whatever the filter: the gap is about the cursor, the log lost seqs the client never saw.
    const filtered = await open({ query: 'since=0&types=call.ended' });
    await waitFor('the gap and the kept call.ended', () => filtered.events.length >= 2);
    expect(JSON.parse(filtered.events[0]!.data)).toEqual({ type: 'switchboard.gap', reason: 'pruned', after: 0, resumed_at: resumedAt, missed: resumedAt - 1, log_id: logId });
    expect(seqsOf(filtered.events)).toEqual([kept[1]]);

    // Live events follow, once each, and no second gap frame on the same connection.
    const [next] = await post(endCall('new-2'));
    for (const client of clients) await waitFor('the live event', () => seqsOf(client.events).includes(next!));
    for (const client of clients) {
      expect(gapsOf(client.events)).toHaveLength(1);
      expect(new Set(seqsOf(client.events)).size).toBe(seqsOf(client.events).length);
    }
  });

  it('sends no gap frame to a cursor just before the oldest kept event, at the head, or live', async () => {
    const first = (await t.api('/v1/events?limit=100')).body.data.at(-1).seq as number;
    const head = (await t.api('/v1/events?limit=1')).body.data[0].seq as number;
    const justBefore = await open({ query: `since=${first - 1}` });
    const atHead = await open({ headers: { 'last-event-id': String(head) } });
    const live = await open();
    await waitFor('three clients', () => t.app.relay.hub.clients === 3);
    const [next] = await post(endCall('edge-1'));
    for (const client of [justBefore, atHead, live]) await waitFor('the new event', () => seqsOf(client.events).includes(next!));
    expect(gapsOf(justBefore.events)).toEqual([]);
    expect(seqsOf(justBefore.events)[0]).toBe(first);
    expect(atHead.events.map((e) => Number(e.id))).toEqual([next]);
    expect(live.events.map((e) => Number(e.id))).toEqual([next]);
  });

  it('a cursor beyond the log\'s head (a reset database): one cursor_ahead gap frame with id <head>, then the events from now', async () => {
    const head = (await t.api('/v1/events?limit=1')).body.data[0].seq as number;
    const bySince = await open({ query: `since=${head + 1000}&types=call.ended` });
    const byHeader = await open({ headers: { 'last-event-id': String(head + 1) } });
    await waitFor('two clients', () => t.app.relay.hub.clients === 2);
    const next = await post(startCall('ahead-1'), endCall('ahead-1'));
    await waitFor('the new events', () => seqsOf(bySince.events).length === 1 && seqsOf(byHeader.events).length === 2);
    // Its id is the head: EventSource's last event id moves there, where the stream goes on.
    expect(bySince.events[0]).toEqual({
      id: String(head),
      event: 'switchboard.gap',
      data: JSON.stringify({ type: 'switchboard.gap', reason: 'cursor_ahead', after: head + 1000, head, log_id: logId }),
    });
    expect(byHeader.events[0]).toEqual({ id: String(head), event: 'switchboard.gap', data: JSON.stringify({ type: 'switchboard.gap', reason: 'cursor_ahead', after: head + 1, head, log_id: logId }) });
    expect(seqsOf(bySince.events)).toEqual([next[1]]);
    expect(seqsOf(byHeader.events)).toEqual(next);
    expect(gapsOf(bySince.events)).toHaveLength(1);
    expect(gapsOf(byHeader.events)).toHaveLength(1);
  });

  it('on a log retention emptied: a gap up to the next seq for a cursor behind, none for the last seq given', async () => {
    const last = (await t.api('/v1/events?limit=1')).body.data[0].seq as number;
    clock += 10 * day;
    expect((await prune()).events).toBeGreaterThan(0);
    expect((await t.api('/v1/events')).body.data).toEqual([]);
    const behind = await open({ query: `since=${last - 2}` });
    const caughtUp = await open({ query: `since=${last}` });
    await waitFor('two clients', () => t.app.relay.hub.clients === 2);
    const [next] = await post(endCall('after-empty'));
    expect(next).toBe(last + 1);
    for (const client of [behind, caughtUp]) await waitFor('the new event', () => seqsOf(client.events).includes(next!));
    expect(behind.events.map((e) => e.data)).toEqual([
      JSON.stringify({ type: 'switchboard.gap', reason: 'pruned', after: last - 2, resumed_at: last + 1, missed: 2, log_id: logId }),
      expect.any(String),
    ]);
    expect(caughtUp.events.map((e) => Number(e.id))).toEqual([next]);
  });
});

describe.each(backends)('a replay that retention overtakes on $name', (backend) => {
  let t: TestApp;
  afterAll(async () => {
    await t?.close();
  });

  it('says so with a gap frame where the deleted stretch was, then goes on with the kept events', async () => {
    let clock = Date.parse('2026-03-01T00:00:00Z');
    t = await startTestApp(await backend.freshDb(), { streamHeartbeatSec: 1 }, { now: () => clock });
    // 8 MB of old events: a client that does not read stalls its replay partway through them.
    const padding = 'x'.repeat(100 * 1024);
    for (let i = 0; i < 80; i += 8) {
      const round = await Promise.all(Array.from({ length: 8 }, (_, j) => t.post(endCall(`old-${i + j}`, { debug: padding }))));
      expect(round.every((a) => a.status === 200)).toBe(true);
    }
    clock += 10 * day;
    for (let i = 0; i < 3; i++) expect((await t.post(endCall(`new-${i}`))).status).toBe(200);
    await t.app.storage.events.waitSequenced();
    const kept = ((await t.api('/v1/events?limit=3')).body.data as Array<{ seq: number }>).map((e) => e.seq).reverse();

    const paused = net.connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
    paused.pause();
    paused.write(`GET /v1/stream?since=0&access_token=${t.adminKey} HTTP/1.1\r\nhost: localhost\r\n\r\n`);
    let text = '';
    paused.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Retention runs while the replay waits for the client: the old events it has not read yet go.
      expect((await t.request('POST', '/v1/prune', { retention_days: 5 })).body).toMatchObject({ events: 80 });
      paused.resume();
      await waitFor('the kept events', () => text.includes(`\nid: ${kept[2]}\n`), 15_000);
      const frames = text.split('\n\n').filter((f) => /^(id|event): /m.test(f)).map((f) => ({ id: /^id: (\d+)$/m.exec(f)?.[1], event: /^event: (.*)$/m.exec(f)![1], data: /^data: (.*)$/m.exec(f)![1]! }));
      const gaps = frames.filter((f) => f.event === 'switchboard.gap');
      const ids = frames.filter((f) => f.id !== undefined).map((f) => Number(f.id));
      const before = ids.filter((id) => id < kept[0]!);
      // Some old events had left before the prune (the kernel's buffers, and the replay's own bound), not all.
      expect(before.length).toBeGreaterThan(0);
      expect(before.length).toBeLessThan(80);
      expect(before).toEqual(Array.from({ length: before.length }, (_, i) => i + 1));
      expect(ids.slice(before.length)).toEqual(kept);
      const after = before.at(-1)!;
      expect(gaps.map((g) => [g.id, JSON.parse(g.data)])).toEqual([[undefined, { type: 'switchboard.gap', reason: 'pruned', after, resumed_at: kept[0], missed: kept[0]! - after - 1, log_id: await t.app.storage.events.logId() }]]);
      expect(frames.findIndex((f) => f.event === 'switchboard.gap')).toBe(before.length);
    } finally {
      paused.destroy();
    }
  });
});

describe.each(backends)('retention of a log with a reprocessed old body on $name', (backend) => {
  let t: TestApp;
  afterAll(async () => {
    await t?.close();
  });

  it('deletes a prefix of the log only: the reprocessed body (an old arrival time at a high seq) stays until what came before it goes', async () => {
    let clock = Date.parse('2026-03-01T00:00:00Z');
    t = await startTestApp(await backend.freshDb(), {}, { now: () => clock });
    const logId = await t.app.storage.events.logId();
    const seqOf = async (id: string) => {
      await t.app.storage.events.waitSequenced();
      return (await t.api(`/v1/events/${id}`)).body.seq as number;
    };
    const post = async (body: string) => seqOf((await t.post(body)).body.id);
    const prune = async () => {
      const answer = await t.request('POST', '/v1/prune', { retention_days: 5 });
      expect(answer.status).toBe(200);
      return answer.body as { events: number };
    };
    const logSeqs = async () => ((await t.api('/v1/events?limit=100')).body.data as Array<{ seq: number }>).map((e) => e.seq).reverse();
    const resume = async (since: number, count: number) => {
      const client = await openStream(t.baseUrl, { key: t.adminKey, query: `since=${since}` });
      try {
        await waitFor('the replay', () => client.events.length >= count);
        return client.events.map((e) => (e.event === 'switchboard.gap' ? JSON.parse(e.data) : Number(e.id)));
      } finally {
        client.close();
      }
    };

    const old = [await post(startCall('old-1')), await post(endCall('old-1'))];
    // A body an older version quarantined although it is a valid event (the bug a fix removed), received then.
    const [source] = await t.app.storage.sources.list();
    const raw = Buffer.from(endCall('late-1'));
    const [quarantined] = await t.app.storage.events.append([{
      id: newId('evt'), sourceId: source!.id, callId: null, type: null, status: 'quarantined', errorCode: 'invalid_event', errorDetail: 'an old bug',
      contentType: 'application/json', body: raw, bodyHash: null, bodySize: raw.length, bodyTruncated: false, receivedAt: clock,
    }]);
    clock += 10 * day;
    const first = await post(endCall('new-1'));
    // Reprocessed now: a new seq, its arrival time ten days ago.
    const reprocessed = await t.request('POST', `/v1/events/${quarantined!.id}/reprocess`);
    expect(reprocessed.status).toBe(200);
    const late = await seqOf(reprocessed.body.id);
    const next = await post(endCall('new-2'));
    expect([first, late, next]).toEqual([first, first + 1, first + 2]);

    // Only what comes before the oldest event inside the window goes: the two old events and the quarantine record.
    expect((await prune()).events).toBe(3);
    expect(await logSeqs()).toEqual([first, late, next]);
    // The log is a suffix: a resume from before it is told of the deleted prefix, one from inside it gets every event.
    expect(await resume(0, 4)).toEqual([{ type: 'switchboard.gap', reason: 'pruned', after: 0, resumed_at: first, missed: first - 1, log_id: logId }, first, late, next]);
    expect(await resume(old[1]!, 4)).toEqual([{ type: 'switchboard.gap', reason: 'pruned', after: old[1], resumed_at: first, missed: first - old[1]! - 1, log_id: logId }, first, late, next]);
    expect(await resume(first, 2)).toEqual([late, next]);

    // Once what came before it is out of the window too, it goes with it, and a cursor before it is told.
    clock += 10 * day;
    const recent = await post(endCall('new-3'));
    expect((await prune()).events).toBe(3);
    expect(await logSeqs()).toEqual([recent]);
    expect(await resume(first, 2)).toEqual([{ type: 'switchboard.gap', reason: 'pruned', after: first, resumed_at: recent, missed: recent - first - 1, log_id: logId }, recent]);
  });
});

describe.each(backends)('an EventSource-like client across a database reset on $name', (backend) => {
  let t: TestApp;
  afterAll(async () => {
    await t?.close();
  });

  it('gets the cursor_ahead frame with id: 0 on an empty log, and reconnecting with that id gets the events appended meanwhile', async () => {
    t = await startTestApp(await backend.freshDb());
    // The Last-Event-ID a browser's EventSource kept from the old database, its frames read as raw text.
    const oldId = 41;
    const first = http.get(`${t.baseUrl}/v1/stream`, { headers: { authorization: `Bearer ${t.adminKey}`, 'last-event-id': String(oldId) }, agent: false });
    let text = '';
    first.on('response', (response) => response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)));
    try {
      await waitFor('the gap frame', () => text.includes('event: switchboard.gap'));
      await waitFor('its end', () => text.split('\n\n').length > 2);
      expect(text).toBe(`retry: 2000\n\nid: 0\nevent: switchboard.gap\ndata: ${JSON.stringify({ type: 'switchboard.gap', reason: 'cursor_ahead', after: oldId, head: 0, log_id: await t.app.storage.events.logId() })}\n\n`);
    } finally {
      first.destroy();
    }
    await waitFor('no stream client', () => t.app.relay.hub.clients === 0);

    // Events appended while it is disconnected, then the reconnection with the last event id EventSource holds:
    // the id of the last frame that had one, else the one it sent.
    const lastEventId = /^id: (.*)$/m.exec(text)?.[1] ?? String(oldId);
    const posted = [(await t.post(startCall('gone-1'))).body.id, (await t.post(endCall('gone-1'))).body.id];
    await t.app.storage.events.waitSequenced();
    const seqs = await Promise.all(posted.map(async (id) => (await t.api(`/v1/events/${id}`)).body.seq as number));
    // (Its URL still has the since it was made with, as an EventSource's does: Last-Event-ID wins.)
    const again = await openStream(t.baseUrl, { key: t.adminKey, query: `since=${oldId}`, headers: { 'last-event-id': lastEventId } });
    try {
      await waitFor('the events appended while it was away', () => again.events.length >= 2);
      expect(again.events.map((e) => [Number(e.id), e.event])).toEqual([[seqs[0], 'call.started'], [seqs[1], 'call.ended']]);
    } finally {
      again.close();
    }
  });
});

describe.each(backends)('an SDK subscriber across a database reset on $name', (backend) => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('holding a last id beyond the new log\'s head: told by onGap, receives the new events, and resumes from their ids', async () => {
    const before = await startTestApp(await backend.freshDb());
    apps.push(before);
    let current = before;
    const lastEventIds: Array<string | null> = [];
    const connections: AbortController[] = [];
    // The test's stand-in for the operator's new key on the new database, and a way to cut a connection.
    let reset: Promise<void> = Promise.resolve();
    const fetch: FetchLike = async (url, init) => {
      // While the database is replaced, connections wait for the new server's key (the old one's is refused).
      await reset;
      const headers: Record<string, string> = { ...(init?.headers as Record<string, string>), authorization: `Bearer ${current.adminKey}` };
      lastEventIds.push(headers['last-event-id'] ?? null);
      const connection = new AbortController();
      connections.push(connection);
      return globalThis.fetch(url, { ...init, headers, signal: AbortSignal.any([init!.signal!, connection.signal]) });
    };
    const received: number[] = [];
    const gaps: StreamGap[] = [];
    const subscription = subscribe({
      baseUrl: before.baseUrl, fetch, since: 0, backoff: { baseMs: 20, maxMs: 100 },
      onEvent: ({ seq }) => void received.push(seq),
      onGap: (gap) => void gaps.push(gap),
      onError: () => {},
    });
    try {
      for (let i = 0; i < 3; i++) await before.post(endCall(`before-${i}`));
      await waitFor('the events before the reset', () => received.length === 3);
      const last = received.at(-1)!;

      // The same address, a fresh database.
      let replaced!: () => void;
      reset = new Promise((resolve) => (replaced = resolve));
      await before.close();
      apps.splice(0);
      current = await startTestApp(await backend.freshDb(), { port: Number(new URL(before.baseUrl).port) });
      apps.push(current);
      replaced();
      await waitFor('the gap on reconnecting', () => gaps.length === 1, 15_000);
      // It sent the old log's id (the first server named it): log_replaced, which says more than cursor_ahead.
      expect(gaps).toEqual([{ type: 'switchboard.gap', reason: 'log_replaced', after: last, head: 0, log_id: await current.app.storage.events.logId() }]);
      expect(subscription.lastEventId).toBe(0);
      const posted = [(await current.post(startCall('after-1'))).body.id, (await current.post(endCall('after-1'))).body.id];
      await waitFor('the new events', () => received.length === 5);
      await current.app.storage.events.waitSequenced();
      const seqs = await Promise.all(posted.map(async (id) => (await current.api(`/v1/events/${id}`)).body.seq as number));
      expect(received.slice(3)).toEqual(seqs);
      expect(seqs.every((seq) => seq <= last)).toBe(true);

      // A reconnection now resumes after the new database's ids, not the old one's.
      connections.at(-1)!.abort();
      await waitFor('a reconnection', () => lastEventIds.at(-1) === String(seqs[1]));
      await current.post(endCall('after-2'));
      await waitFor('the next event', () => received.length === 6);
      expect(received.slice(3)).toEqual([...seqs, seqs[1]! + 1]);
      expect(gaps).toHaveLength(1);
    } finally {
      subscription.close();
      await subscription.done;
    }
  });
});

describe.each(backends)('a client whose cursor is from a replaced database on $name', (backend) => {
  const apps: TestApp[] = [];
  const clients: SseClient[] = [];
  afterAll(async () => {
    clients.forEach((c) => c.close());
    for (const app of apps.splice(0)) await app.close();
  });
  const open = async (t: TestApp, options: Parameters<typeof openStream>[1]) => {
    const client = await openStream(t.baseUrl, { key: t.adminKey, ...options });
    clients.push(client);
    return client;
  };
  const post = async (t: TestApp, ...bodies: string[]): Promise<number[]> => {
    const ids: string[] = [];
    for (const body of bodies) ids.push((await t.post(body)).body.id);
    await t.app.storage.events.waitSequenced();
    return Promise.all(ids.map(async (id) => (await t.api(`/v1/events/${id}`)).body.seq as number));
  };
  /** The log id a stream's answer names (each answer names it, the live one too). */
  const logIdOf = async (t: TestApp) => {
    const client = await open(t, {});
    client.close();
    expect(client.status).toBe(200);
    return client.headers['switchboard-log-id'] as string;
  };

  it('resuming with the old log\'s id on a new log longer than its cursor: a log_replaced gap frame with id <head>, then the events from now', async () => {
    const a = await startTestApp(await backend.freshDb());
    apps.push(a);
    const logA = await logIdOf(a);
    expect(logA).toMatch(/^log_[0-9a-z]{9}[0-9A-Za-z_-]{12}$/);
    expect(logA).toBe(await a.app.storage.events.logId());
    const cursor = (await post(a, startCall('a-1'), endCall('a-1'), startCall('a-2'))).at(-1)!;
    await a.close();
    apps.splice(0);

    // The operator starts over on a new database, whose log soon passes the client's cursor.
    const dbB = await backend.freshDb();
    const first = await startTestApp(dbB);
    const logB = await logIdOf(first);
    expect(logB).toMatch(/^log_/);
    expect(logB).not.toBe(logA);
    await post(first, startCall('b-1'), endCall('b-1'), startCall('b-2'), endCall('b-2'), startCall('b-3'));
    await first.close();
    // Its id is the database's: the same after a restart.
    const b = await startTestAppAgain(dbB, first);
    apps.push(b);
    expect(await logIdOf(b)).toBe(logB);
    const head = (await b.api('/v1/events?limit=1')).body.data[0].seq as number;
    expect(head).toBeGreaterThan(cursor);

    const bySince = await open(b, { query: `since=${cursor}&log_id=${logA}` });
    const byHeader = await open(b, { query: `log_id=${logA}&types=call.ended`, headers: { 'last-event-id': String(cursor) } });
    const sameLog = await open(b, { query: `since=${cursor}&log_id=${logB}` });
    const noLogId = await open(b, { query: `since=${cursor}` });
    for (const client of [bySince, byHeader, sameLog, noLogId]) expect(client.headers['switchboard-log-id']).toBe(logB);
    await waitFor('the four clients', () => b.app.relay.hub.clients === 4);
    await waitFor('the replays', () => seqsOf(sameLog.events).length === head - cursor && seqsOf(noLogId.events).length === head - cursor);
    const next = await post(b, endCall('b-3'), startCall('b-4'));
    await waitFor('the new events', () => [bySince, sameLog, noLogId].every((c) => seqsOf(c.events).includes(next[1]!)) && seqsOf(byHeader.events).includes(next[0]!));

    const replaced = { id: String(head), event: 'switchboard.gap', data: JSON.stringify({ type: 'switchboard.gap', reason: 'log_replaced', after: cursor, head, log_id: logB }) };
    expect(bySince.events[0]).toEqual(replaced);
    expect(byHeader.events[0]).toEqual(replaced);
    // None of the new log's earlier events is taken for the ones after the cursor: the stream goes on from now.
    expect(seqsOf(bySince.events)).toEqual(next);
    expect(seqsOf(byHeader.events)).toEqual([next[0]]);
    // Its own log's id, or none (as before): an ordinary resume after the cursor.
    const rest = Array.from({ length: head - cursor }, (_, i) => cursor + 1 + i);
    for (const client of [sameLog, noLogId]) {
      expect(gapsOf(client.events)).toEqual([]);
      expect(seqsOf(client.events)).toEqual([...rest, ...next]);
    }

    // A live client (no cursor) with another log's id: nothing to say, from now as always.
    const live = await open(b, { query: `log_id=${logA}` });
    await waitFor('the live client', () => b.app.relay.hub.clients === 5);
    const [later] = await post(b, endCall('b-4'));
    await waitFor('the live event', () => seqsOf(live.events).includes(later!));
    expect(live.events.map((e) => Number(e.id))).toEqual([later]);
  });

  it('on an empty new log: log_replaced with id: 0 even at a cursor of 0; a malformed log_id is refused as a malformed since is', async () => {
    const t = await startTestApp(await backend.freshDb());
    apps.push(t);
    const logId = await t.app.storage.events.logId();
    const other = 'log_00abcdefgAAAAAAAAAAAA';
    for (const [query, after] of [[`since=7&log_id=${other}`, 7], [`since=0&log_id=${other}`, 0]] as const) {
      const client = await open(t, { query });
      await waitFor('the gap frame', () => client.events.length === 1);
      expect(client.events[0]).toEqual({ id: '0', event: 'switchboard.gap', data: JSON.stringify({ type: 'switchboard.gap', reason: 'log_replaced', after, head: 0, log_id: logId }) });
      client.close();
    }
    for (const bad of ['nope', 'log_', 'evt_00abcdefgAAAAAAAAAAAA', `${logId}x`, 'log_00abcdefg%0AAAAAAAAAAAA']) {
      const client = await open(t, { query: `since=0&log_id=${bad}` });
      expect(client.status).toBe(400);
      await waitFor('the answer', () => client.ended);
      expect(JSON.parse(client.body)).toMatchObject({ error: 'invalid_request' });
    }
  });
});
