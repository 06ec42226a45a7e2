import { afterAll, describe, expect, it } from 'vitest';
import { subscribe } from '../src/sdk/subscribe.js';
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
});
