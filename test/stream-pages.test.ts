import { afterEach, describe, expect, it } from 'vitest';
import type { Storage } from '../src/storage/ports.js';
import { backends, endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { openStream, waitFor, type SseClient } from './support/sse.js';
import { sequenced } from './support/sequenced.js';

/**
 * GET /v1/stream over a log of events larger than the reads' byte budget (lowered here to 64 KB, two or three
 * events of ~30 KB): each read of the log ends early, and a page cut so is not the end of the log. Every event
 * reaches every client once, in order, replaying or live, on both backends.
 */

/** Every relayed seq in the log, in order. */
async function logSeqs(storage: Storage): Promise<number[]> {
  await sequenced(storage);
  return (await storage.events.readAfter(0, 10_000)).map((e) => e.seq);
}

describe.each(backends)('stream of events larger than a read on $name', (backend) => {
  let t: TestApp;
  const clients: SseClient[] = [];
  const open = async (query?: string) => {
    const client = await openStream(t.baseUrl, { key: t.adminKey, query });
    clients.push(client);
    return client;
  };
  const seqsOf = (client: SseClient) => client.events.map((e) => Number(e.id));
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await t?.close();
  });

  /** Posts `n` calls' events of ~30 KB each, small ones between them, `concurrently` at once. */
  async function postLarge(n: number, tag: string) {
    const bodies = Array.from({ length: n }, (_, i) => (i % 4 === 3 ? startCall(`${tag}-${i}`) : endCall(`${tag}-${i}`, { note: `${i}`.padEnd(30_000, 'x') })));
    for (let i = 0; i < bodies.length; i += 5) {
      const answers = await Promise.all(bodies.slice(i, i + 5).map((body) => t.post(body)));
      for (const a of answers) expect(a.status).toBe(200);
    }
  }

  // The poll (the safety net that would read on after a read taken for the end of the log) is an hour away.
  const start = async () => (t = await startTestApp(await backend.freshDb(), { relayPollMs: 3_600_000 } as never, { readPageBytes: 64 * 1024 }));

  it('replays a log of large events from since=0: every event once, in order', async () => {
    await start();
    await postLarge(40, 'replay');
    const expected = await logSeqs(t.app.storage);
    expect(expected).toHaveLength(40);
    const replaying = await Promise.all([open('since=0'), open('since=0'), open(`since=${expected[4]}`)]);
    for (const [i, client] of replaying.entries()) {
      const wanted = i === 2 ? expected.slice(5) : expected;
      await waitFor(`client ${i}'s ${wanted.length} events`, () => client.events.length >= wanted.length);
      expect(seqsOf(client)).toEqual(wanted);
    }
    // Live after the replay: what comes next arrives once too.
    await postLarge(8, 'after');
    const all = await logSeqs(t.app.storage);
    for (const client of replaying) await waitFor('the events after the replay', () => client.events.length > 0 && seqsOf(client).at(-1) === all.at(-1));
    expect(seqsOf(replaying[0]!)).toEqual(all);
  });

  it('gives a live client every large event committed after it joined, once, in order', async () => {
    await start();
    await postLarge(4, 'before');
    const before = await logSeqs(t.app.storage);
    await waitFor('the hub at the log\'s end', () => t.app.relay.hub.head >= before.at(-1)!);
    const live = await open();
    await waitFor('the client subscribed', () => t.app.relay.hub.clients === 1);
    await postLarge(40, 'live');
    const expected = (await logSeqs(t.app.storage)).slice(before.length);
    await waitFor(`${expected.length} events`, () => live.events.length >= expected.length);
    expect(seqsOf(live)).toEqual(expected);
  });
});
