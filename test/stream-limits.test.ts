import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import type { Storage } from '../src/storage/ports.js';
import { backends, endCall, startTestApp, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { openStream, waitFor, type SseClient } from './support/sse.js';
import { sequenced } from './support/sequenced.js';

/** What a stream may hold: its key's validity, a number of streams per key, a share of the replay reads. */
describe.each(backends)('stream limits on $name', (backend) => {
  let t: TestApp;
  const clients: SseClient[] = [];
  const open = async (key: string, query?: string) => {
    const client = await openStream(t.baseUrl, { key, query });
    clients.push(client);
    return client;
  };
  const readKey = async (name = 'reader') => {
    const created = await t.request('POST', '/v1/keys', { name, scope: 'read' });
    expect(created.status).toBe(201);
    return created.body as { id: string; key: string };
  };
  /** `count` events of 100 KB each, 8 at a time. */
  const appendLarge = async (count: number) => {
    const padding = 'x'.repeat(100 * 1024);
    for (let i = 0; i < count; i += 8) {
      const round = await Promise.all(Array.from({ length: 8 }, (_, j) => t.post(endCall(`large-${i + j}`, { debug: padding }))));
      expect(round.every((a) => a.status === 200)).toBe(true);
    }
    await sequenced(t.app.storage);
  };
  /** A stream whose client sends the request and reads nothing: the kernel's buffers fill, then the server's. */
  const neverReads = (key: string, query = '') => {
    const socket = net.connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
    socket.pause();
    socket.write(`GET /v1/stream?${query}&access_token=${key} HTTP/1.1\r\nhost: localhost\r\n\r\n`);
    return socket;
  };
  const droppedCount = async (reason: string) => Number(new RegExp(`\\nswitchboard_stream_clients_dropped_total\\{reason="${reason}"\\} (\\d+)\\n`).exec((await t.api('/metrics', null)).body)?.[1]);
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await t?.close();
  });

  it('ends the streams of a key revoked through the API, and their reconnection gets 401', async () => {
    t = await startTestApp(await backend.freshDb(), { streamHeartbeatSec: 1 });
    const reader = await readKey();
    const other = await readKey('other');
    const [a, b, kept] = [await open(reader.key), await open(reader.key), await open(other.key)];
    expect([a.status, b.status, kept.status]).toEqual([200, 200, 200]);
    await waitFor('3 stream clients', () => t.app.relay.hub.clients === 3);
    expect((await t.request('DELETE', `/v1/keys/${reader.id}`)).status).toBe(204);
    await waitFor("the revoked key's streams to end", () => a.ended && b.ended, 5_000);
    await waitFor('1 stream client', () => t.app.relay.hub.clients === 1);
    expect(kept.ended).toBe(false);
    const again = await open(reader.key);
    expect(again.status).toBe(401);
  });

  it('caps the streams of one key with 429 and Retry-After, counts each key apart, and frees a slot when a stream closes', async () => {
    t = await startTestApp(await backend.freshDb(), { streamMaxPerKey: 2 });
    const reader = await readKey();
    const [a, b] = [await open(reader.key, 'since=0'), await open(reader.key)];
    expect([a.status, b.status]).toEqual([200, 200]);
    const refused = await open(reader.key, 'since=0');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'rate_limited', message: expect.stringContaining('streams') });
    expect((await open(t.adminKey)).status).toBe(200);
    a.close();
    await waitFor('2 stream clients', () => t.app.relay.hub.clients === 2);
    expect((await open(reader.key)).status).toBe(200);
  });

  it("counts a person's streams together, however many times they signed in, and still ends each session's own", async () => {
    t = await startTestApp(await backend.freshDb(), { streamMaxPerKey: 2 });
    const password = 'a long passphrase 1';
    expect((await t.request('POST', '/v1/users', { email: 'many@example.com', role: 'viewer', password })).status).toBe(201);
    const signIn = async () => {
      const answer = await fetch(`${t.baseUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'many@example.com', password }) });
      return { cookie: /^sb_session=[^;]*/.exec(answer.headers.get('set-cookie')!)![0] };
    };
    const [first, second] = [await signIn(), await signIn()];
    const openWith = async (headers: Record<string, string>) => {
      const client = await openStream(t.baseUrl, { headers });
      clients.push(client);
      return client;
    };
    const [a, b] = [await openWith(first), await openWith(second)];
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await openWith(second)).status, 'a third stream of the same person').toBe(429);
    // Signing out ends that session's stream only, and frees its slot.
    expect((await fetch(`${t.baseUrl}/v1/auth/logout`, { method: 'POST', headers: { ...first, origin: t.baseUrl } })).status).toBe(204);
    await waitFor("the signed-out session's stream to end", () => a.ended, 5_000);
    expect(b.ended).toBe(false);
    expect((await openWith(second)).status).toBe(200);
  });

  it('follows the end of the log without asking the database while nobody streams, and a client that joins then gets what follows', async () => {
    let endReads = 0;
    const countEndReads = (storage: Storage): Storage => ({
      ...storage,
      events: { ...storage.events, lastSeq: async () => (endReads++, await storage.events.lastSeq()) },
    });
    // No polling: the hub moves only when a commit (SQLite) or a sequencer tick (PostgreSQL) says how far.
    t = await startTestApp(await backend.freshDb(), { relayPollMs: 600_000 }, { wrapStorage: countEndReads });
    const atStart = endReads;
    for (let i = 0; i < 10; i++) expect((await t.post(endCall(`quiet-${i}`))).status).toBe(200);
    await waitFor('the hub at the end of the log', () => t.app.relay.hub.head === 10);
    expect(endReads - atStart).toBe(0);
    const live = await open(t.adminKey);
    await waitFor('1 stream client', () => t.app.relay.hub.clients === 1);
    expect((await t.post(endCall('after-join'))).status).toBe(200);
    await waitFor('the event after the join', () => live.events.length === 1);
    expect(live.events[0]!.id).toBe('11');
  });

  it('gives a resuming client that pauses every event, each larger than the buffer bound: a heartbeat does not drop it mid-event', async () => {
    // Events of 100 KB against a bound of 64 KiB (as a body near the 1 MiB limit against the default bound).
    // A pause shorter than the stall setting does not drop it either.
    t = await startTestApp(await backend.freshDb(), { streamHeartbeatSec: 1, streamMaxBufferBytes: 64 * 1024, streamStallSec: 5 });
    const appended = 80;
    await appendLarge(appended);
    // Sends the request and reads nothing for 3 heartbeats (8 MB: the kernel's buffers fill, then one event waits
    // in the server's), then reads at full speed.
    const paused = neverReads(t.adminKey, 'since=0');
    let text = '';
    let ended = false;
    paused.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    paused.on('close', () => (ended = true));
    try {
      await sleep(3_000);
      paused.resume();
      const ids = () => text.match(/^id: /gm)?.length ?? 0;
      await waitFor('every event, or the end of the stream', () => ids() === appended || ended, 10_000);
      expect(ended).toBe(false);
      expect(ids()).toBe(appended);
    } finally {
      paused.destroy();
    }
  });

  /**
   * Opens the only stream `key` may hold (streamMaxPerKey 1) with a client that never reads, and `fill`s it: a second
   * stream of the key is refused while it holds the slot; it is closed as stalled (not behind) once its connection
   * has not drained for the setting (2 s), and the key's stream opens again.
   */
  const closedAsStalled = async (key: string, query: string, fill: () => Promise<void>) => {
    const stalled = neverReads(key, query);
    try {
      await waitFor('the stream', () => t.app.relay.hub.clients === 1);
      const connected = Date.now();
      expect((await open(key)).status, 'a second stream of the key while the first holds its slot').toBe(429);
      await fill();
      await waitFor('the stalled stream to be closed', () => t.app.relay.hub.clients === 0, 5_000);
      expect(Date.now() - connected).toBeGreaterThanOrEqual(1_000);
      expect(await droppedCount('stalled')).toBe(1);
      expect(await droppedCount('behind')).toBe(0);
      expect((await open(key)).status).toBe(200);
    } finally {
      stalled.destroy();
    }
  };

  it('disconnects a client that stops reading during its replay after streamStallSec, counted, and frees its slot of the key\'s streams', async () => {
    t = await startTestApp(await backend.freshDb(), { streamMaxPerKey: 1, streamStallSec: 2 });
    const reader = await readKey();
    // 12 MB of log: more than the kernel's buffers of a connection whose client does not read.
    await appendLarge(120);
    await closedAsStalled(reader.key, 'since=0', async () => {});
  });

  it('disconnects a live client whose buffer stays below the bound but never drains on a quiet log, after streamStallSec', async () => {
    // A bound the client never reaches: only the stall setting can end it.
    t = await startTestApp(await backend.freshDb(), { streamMaxPerKey: 1, streamStallSec: 2, streamMaxBufferBytes: 64 * 1024 * 1024 });
    const reader = await readKey();
    // 16 MB fanned out to it: the kernel's buffers fill, the rest waits in the server's. Then nothing more comes.
    await closedAsStalled(reader.key, '', () => appendLarge(160));
  });

  it('counts a stream pipelined behind another on one connection only once it is answered, and never after its connection closed', async () => {
    t = await startTestApp(await backend.freshDb(), { streamMaxPerKey: 2 });
    const reader = await readKey();
    const pipelined = net.connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
    const request = `GET /v1/stream?access_token=${reader.key} HTTP/1.1\r\nhost: localhost\r\n\r\n`;
    pipelined.write(request + request + request);
    await waitFor('the first stream', () => t.app.relay.hub.clients >= 1);
    // The two behind it wait for their turn (behind a stream: for ever) without a stream of their own.
    await sleep(300);
    expect(t.app.relay.hub.clients).toBe(1);
    pipelined.destroy();
    await waitFor('no stream', () => t.app.relay.hub.clients === 0);
    // Both of the key's streams are free again.
    const [a, b] = [await open(reader.key), await open(reader.key)];
    expect([a.status, b.status]).toEqual([200, 200]);
  });

  it('reads at most streamMaxReplayReads pages of the log at once, however many clients resume, and each gets every event', async () => {
    const appended = 12;
    let inFlight = 0;
    let most = 0;
    // Each read of the log takes a while, so that replays left unbounded would overlap. Counted: the reads
    // from before the log's end, which once the hub has read to the end are the replays' (the hub's own
    // reads of the tail, after a NOTIFY or a sequencer tick on PostgreSQL, start at the end).
    const slowReads = (storage: Storage): Storage => ({
      ...storage,
      events: {
        ...storage.events,
        readAfter: async (after, limit) => {
          const counted = after < appended;
          if (counted) most = Math.max(most, ++inFlight);
          try {
            await sleep(30);
            return await storage.events.readAfter(after, limit);
          } finally {
            if (counted) inFlight--;
          }
        },
      },
    });
    // No polling: the only reads are the replays' (nothing is appended while they run).
    t = await startTestApp(await backend.freshDb(), { streamMaxReplayReads: 2, relayPollMs: 600_000 }, { wrapStorage: slowReads });
    for (let i = 0; i < appended; i++) expect((await t.post(endCall(`replay-${i}`))).status).toBe(200);
    // The hub has followed the log to its end (on PostgreSQL, once the sequencer has numbered the events).
    await waitFor('the hub at the end of the log', () => t.app.relay.hub.head === appended && inFlight === 0);
    most = 0;
    const resumed = await Promise.all(Array.from({ length: 8 }, () => open(t.adminKey, 'since=0')));
    await waitFor('every replay', () => resumed.every((c) => c.events.length === appended), 10_000);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });
});

describe.each(backends)('stream shutdown on $name', (backend) => {
  it('shuts down promptly with streams pipelined behind a stream on one connection', async () => {
    const app = await startTestApp(await backend.freshDb());
    const pipelined = net.connect(Number(new URL(app.baseUrl).port), '127.0.0.1');
    const request = `GET /v1/stream?access_token=${app.adminKey} HTTP/1.1\r\nhost: localhost\r\n\r\n`;
    pipelined.write(request + request + request);
    try {
      await waitFor('the first stream', () => app.app.relay.hub.clients >= 1);
      await sleep(300);
      const closed = await Promise.race([app.close().then(() => true), sleep(5_000).then(() => false)]);
      expect(closed).toBe(true);
    } finally {
      pipelined.destroy();
    }
  });
});

describe('a key revoked on another node (two nodes on one PostgreSQL)', () => {
  let first: TestApp | undefined;
  let second: App | undefined;
  afterEach(async () => {
    await second?.close();
    await first?.close();
  });

  it('ends its streams on this node within a heartbeat interval', async () => {
    const db = await freshPgDatabase();
    const flags = { streamHeartbeatSec: 1 };
    first = await startTestApp(db, flags);
    second = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0, logLevel: 'silent', ...flags }), { logger: false });
    expect(await second.prepare()).toBeNull();
    const { baseUrl } = await second.listen();
    const reader = (await first.request('POST', '/v1/keys', { name: 'reader', scope: 'read' })).body as { id: string; key: string };
    const stream = await openStream(first.baseUrl, { key: reader.key });
    try {
      expect(stream.status).toBe(200);
      await waitFor('the stream client', () => first!.app.relay.hub.clients === 1);
      const revoked = await fetch(`${baseUrl}/v1/keys/${reader.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${first.adminKey}` } });
      expect(revoked.status).toBe(204);
      await waitFor('the stream on the first node to end', () => stream.ended, 5_000);
    } finally {
      stream.close();
    }
  });
});
