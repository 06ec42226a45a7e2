import { afterAll, describe, expect, it } from 'vitest';
import type { FetchLike } from '../src/sdk/http.js';
import { subscribe, type StreamGap } from '../src/sdk/subscribe.js';
import { backends, endCall, startCall } from './support/app.js';
import { killLeftoverServers, startFirstServer, startServer } from './support/crash-server.js';
import { waitFor } from './support/sse.js';

/**
 * `subscribe()` against the real server process, killed with SIGKILL while events stream and restarted on
 * the same database and port: what it hands to onEvent must be exactly the log's relayed seqs, in order.
 */

/** Every seq the stream relays (all but quarantined events), oldest first, from GET /v1/events. */
async function logSeqs(baseUrl: string, key: string): Promise<number[]> {
  const seqs: number[] = [];
  for (let cursor: number | null = null; ; ) {
    const response = await fetch(`${baseUrl}/v1/events?limit=500${cursor === null ? '' : `&cursor=${cursor}`}`, { headers: { authorization: `Bearer ${key}` } });
    const page = (await response.json()) as { data: Array<{ seq: number; status: string }>; next_cursor: number | null };
    seqs.push(...page.data.filter((e) => e.status !== 'quarantined').map((e) => e.seq));
    if (page.next_cursor === null) return seqs.reverse();
    cursor = page.next_cursor;
  }
}

/** Posts start/end pairs one after another until stopped; a post the outage cuts or refuses is only counted. */
function postLoop(ingestUrl: string) {
  let stopped = false;
  const counts = { ok: 0, failed: 0 };
  const running = (async () => {
    for (let n = 0; !stopped; n++) {
      const body = n % 2 === 0 ? startCall(`sub-${n >> 1}`) : endCall(`sub-${n >> 1}`);
      try {
        const response = await fetch(ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await response.arrayBuffer();
        if (response.ok) counts.ok++;
        else counts.failed++;
      } catch {
        counts.failed++;
        // The server is down: try again shortly rather than spin.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  })();
  return { counts, stop: async () => { stopped = true; await running; } };
}

describe.each(backends)('subscribe() on $name', (backend) => {
  afterAll(async () => {
    await killLeftoverServers();
  });

  it('resumes with no gap and no duplicate when the server is killed (SIGKILL) and restarted mid-stream', async () => {
    const db = await backend.freshDb();
    const first = await startFirstServer(db);
    const port = new URL(first.baseUrl).port;
    const seqs: number[] = [];
    const errors: string[] = [];
    let connections = 0;
    const subscription = subscribe({
      baseUrl: first.baseUrl,
      apiKey: first.adminKey,
      since: 0,
      backoff: { baseMs: 100, maxMs: 1000 },
      onEvent: ({ seq, envelope }) => {
        expect(envelope.type).toMatch(/^call\.(started|ended)$/);
        seqs.push(seq);
      },
      onError: (error, { fatal }) => errors.push(`${fatal ? 'fatal ' : ''}${error.code}`),
      onConnect: () => connections++,
    });

    const load = postLoop(first.ingestUrl);
    await waitFor('events streamed before the kill', () => seqs.length >= 20, 30_000);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const beforeRestart = seqs.length;
    const failedBefore = load.counts.failed;
    // Same database, same port: the subscriber's URL stays valid.
    const second = await startServer(db, 30_000, ['--port', port]);
    // The outage was real: posts made while the server was down failed (they were not stored).
    expect(load.counts.failed).toBeGreaterThan(failedBefore);
    await waitFor('events streamed after the restart', () => seqs.length >= beforeRestart + 20, 30_000);
    await load.stop();

    const log = await logSeqs(second.baseUrl, first.adminKey);
    await waitFor('every logged event', () => seqs.length >= log.length, 30_000);
    expect(seqs).toEqual(log);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.filter((e) => e.startsWith('fatal'))).toEqual([]);
    expect(subscription.lastEventId).toBe(log.at(-1));

    subscription.close();
    await subscription.done;
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('told by onGap (log_replaced) when the server is restarted on a new database whose log has passed its cursor, then goes on from there', async () => {
    const first = await startFirstServer(await backend.freshDb());
    const port = new URL(first.baseUrl).port;
    let current = first;
    const urls: string[] = [];
    // While the database is replaced, connections wait for the new server (and its new key).
    let gate: Promise<void> = Promise.resolve();
    const fetch: FetchLike = async (url, init) => {
      await gate;
      urls.push(String(url));
      return globalThis.fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${current.adminKey}` } });
    };
    const received: number[] = [];
    const gaps: StreamGap[] = [];
    const subscription = subscribe({
      baseUrl: first.baseUrl, fetch, since: 0, backoff: { baseMs: 50, maxMs: 200 },
      onEvent: ({ seq }) => void received.push(seq),
      onGap: (gap) => void gaps.push(gap),
      onError: () => {},
    });
    try {
      for (const body of [startCall('a-1'), endCall('a-1')]) expect((await fetch(first.ingestUrl, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).status).toBe(200);
      await waitFor('the first database\'s events', () => received.length === 2, 15_000);
      const logA = subscription.logId;
      expect(logA).toMatch(/^log_/);

      let open!: () => void;
      gate = new Promise((resolve) => (open = resolve));
      first.child.kill('SIGTERM');
      await first.exited;
      // A new database on the same address, with more events than the subscriber has seen, before it reconnects.
      const second = await startFirstServer(await backend.freshDb(), ['--port', port]);
      current = second;
      for (let i = 0; i < 2; i++) {
        for (const body of [startCall(`b-${i}`), endCall(`b-${i}`)]) expect((await globalThis.fetch(second.ingestUrl, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).status).toBe(200);
      }
      // Numbered (PostgreSQL gives seqs after the commit): the new log's head is 4 when the subscriber is back.
      await waitFor('the new log\'s head', async () => (await logSeqs(second.baseUrl, second.adminKey)).at(-1) === 4, 15_000);
      const logB = (await globalThis.fetch(`${second.baseUrl}/v1/stream`, { headers: { authorization: `Bearer ${second.adminKey}` }, signal: AbortSignal.timeout(5000) })
        .then((response) => { void response.body?.cancel(); return response.headers.get('switchboard-log-id'); }))!;
      expect(logB).toMatch(/^log_/);
      expect(logB).not.toBe(logA);
      open();

      await waitFor('the gap', () => gaps.length === 1, 15_000);
      // It sent the log its cursor was from: the server said that log is not this one.
      expect(new URL(urls.at(-1)!).searchParams.get('log_id')).toBe(logA);
      expect(gaps).toEqual([{ type: 'switchboard.gap', reason: 'log_replaced', after: 2, head: 4, log_id: logB }]);
      expect([subscription.lastEventId, subscription.logId]).toEqual([4, logB]);
      expect(received).toEqual([1, 2]);
      expect((await globalThis.fetch(second.ingestUrl, { method: 'POST', body: endCall('b-2'), headers: { 'content-type': 'application/json' } })).status).toBe(200);
      await waitFor('the next event', () => received.length === 3, 15_000);
      expect(received).toEqual([1, 2, 5]);
      expect([subscription.lastEventId, subscription.logId]).toEqual([5, logB]);
    } finally {
      subscription.close();
      await subscription.done;
      await killLeftoverServers();
    }
  });
});
