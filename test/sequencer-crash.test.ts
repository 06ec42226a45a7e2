import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, startPgCluster, type PgCluster } from '../scripts/pg-cluster.mjs';
import { endCall, startCall } from './support/app.js';
import { killLeftoverServers, postWebhook, startFirstServer, startServer, type ServerProcess } from './support/crash-server.js';
import { openStream, waitFor, type SseClient } from './support/sse.js';

/**
 * The sequencer's ticks commit without waiting for the disk (src/storage/postgres/sequencer.ts), so a
 * PostgreSQL crash can lose the last of them. This test makes sure it does: the cluster's WAL writer waits
 * 10 s between flushes, the node is killed with -9 (a graceful stop would commit its hand-over of the role
 * synchronously, flushing the ticks with it) and PostgreSQL is stopped in immediate mode right after the
 * stream showed the events. The events whose tick was lost are found without seq after recovery; a new node
 * must give them the same seqs again, so that the log reads exactly as streamed before the crash.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: PgCluster | undefined;

afterAll(async () => {
  await killLeftoverServers();
  await cluster?.stop();
});

/** The status of a webhook posted to a node. */
const post = async (url: string, body: string) => (await postWebhook(url, body)).status;

/** (seq, id) of every event the client got, in order. */
const log = (client: SseClient) => client.events.map((e) => [Number(e.id), (JSON.parse(e.data) as { id: string }).id] as const);

/**
 * One round: a node, a stream from since=0, calls whose events arrive one after the other (each append's
 * commit flushes the ticks before it), then a burst at once: the ticks after the burst's last commit are the
 * ones the crash can take. The node is killed with -9 and PostgreSQL stopped in immediate mode right after
 * the stream showed every event. Returns the log as streamed and how many events came back without seq.
 */
async function crashRound(node: ServerProcess, ingestUrl: string, adminKey: string, db: string, expected: number): Promise<{ streamed: (readonly [number, string])[]; lost: number }> {
  const stream = await openStream(node.baseUrl, { key: adminKey, query: 'since=0' });
  const calls = Array.from({ length: 10 }, () => `crash-${randomUUID()}`);
  for (const id of calls) expect(await post(ingestUrl, startCall(id))).toBe(200);
  const burst = await Promise.all([...calls.map((id) => post(ingestUrl, endCall(id))), ...Array.from({ length: 10 }, () => post(ingestUrl, endCall(`lone-${randomUUID()}`)))]);
  expect(burst.every((status) => status === 200)).toBe(true);
  await waitFor(`the stream to show all ${expected} events`, () => stream.events.length >= expected, 10_000);
  const streamed = log(stream);
  stream.close();

  node.child.kill('SIGKILL');
  await node.exited;
  await cluster!.halt('immediate');
  await cluster!.resume();

  const admin = new pg.Client({ connectionString: db });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ lost: number }>('select count(*)::int as lost from events where seq is null');
    return { streamed, lost: rows[0]!.lost };
  } finally {
    await admin.end();
  }
}

describe('a PostgreSQL crash that loses the sequencer\'s last ticks', () => {
  it('gives the events the same seqs again: the log reads as it was streamed before the crash', async () => {
    // No autovacuum: its ANALYZE commits synchronously, flushing the ticks this test wants lost.
    cluster = await startPgCluster({ extraConf: { wal_writer_delay: '10s', autovacuum: 'off' } });
    const db = await createDatabase(cluster.url);
    const first = await startFirstServer(db, ['--sequencer-lease-ms', '1000']);
    // Whether the crash takes a tick depends on where the WAL writer stopped; a round in which it took none
    // (every seq durable) is followed by another, on a new node, with 30 more events.
    let round = await crashRound(first, first.ingestUrl, first.adminKey, db, 30);
    for (let rounds = 1; round.lost === 0 && rounds < 4; rounds += 1) {
      const node = await startServer(db, 30_000, ['--sequencer-lease-ms', '1000']);
      round = await crashRound(node, first.ingestUrl.replace(first.baseUrl, node.baseUrl), first.adminKey, db, 30 * (rounds + 1));
    }
    const { streamed, lost } = round;
    expect(lost, 'events whose tick the crash took: the window this test is about').toBeGreaterThan(0);
    console.log(`events without seq after the crash: ${lost} of ${streamed.length}`);

    // Another node takes the role once the killed one's lease has run out, and sequences them again.
    const second = await startServer(db, 30_000, ['--sequencer-lease-ms', '1000']);
    const again = await openStream(second.baseUrl, { key: first.adminKey, query: 'since=0' });
    try {
      await waitFor('the new node\'s stream to show every event', () => again.events.length >= streamed.length, 15_000);
      await sleep(200);
      expect(log(again)).toEqual(streamed);
      expect(streamed.map(([seq]) => seq)).toEqual(streamed.map((_, i) => i + 1));
    } finally {
      again.close();
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 180_000);
});
