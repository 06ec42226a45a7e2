import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, startPgCluster, type PgCluster } from '../scripts/pg-cluster.mjs';
import { createApp, type App } from '../src/app.js';
import { loadConfig, type Flags } from '../src/config/index.js';
import { appendTestHooks } from '../src/storage/postgres/append.js';
import { endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { killLeftoverServers, postWebhook as post, startFirstServer } from './support/crash-server.js';
import { openStream, waitFor, type SseClient } from './support/sse.js';

/**
 * Scale-out on PostgreSQL (issue 14): several nodes append at once without a global lock, the sequencer
 * gives a dense seq below the transaction watermark, and every node's stream shows the same log. On a
 * cluster of its own: a transaction held open here holds the watermark of every database on the server.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rand = (n: number) => Math.floor(Math.random() * n);

interface Node {
  baseUrl: string;
  ingestUrl: string;
  app: App;
}

interface Envelope {
  id: string;
  type: string;
  call_id: string | null;
  call: { event_count: number } | null;
}

const flags: Flags = { relayPollMs: 250, logLagWarnMs: 1000, sequencerLeaseMs: 1500, logLevel: 'warn' };

let cluster: PgCluster;
let first: TestApp;
let nodes: Node[];
const warnings: string[] = [];

/** The events a stream client got, parsed, with their seq. */
const received = (client: SseClient) => client.events.map((e) => ({ seq: Number(e.id), ...(JSON.parse(e.data) as Envelope) }));

/** What must hold of every stream: each id once, seq dense from `from`, the same order on every node, each call's merges in order. */
function expectSameDenseLog(clients: SseClient[], acked: Set<string>, from = 1): string[] {
  const logs = clients.map(received);
  const ids = logs[0]!.map((e) => e.id);
  for (const log of logs) {
    expect(log.map((e) => e.id), 'every node streams the same events in the same order').toEqual(ids);
    expect(log.map((e) => e.seq), 'seq is dense').toEqual(log.map((_, i) => from + i));
  }
  expect(new Set(ids).size, 'no event twice').toBe(ids.length);
  const missing = [...acked].filter((id) => !ids.includes(id));
  expect(missing, 'every acknowledged event streamed').toEqual([]);
  // A call's events carry its record after each: in seq order their counts must be 1, 2, 3…
  const counts = new Map<string, number[]>();
  for (const e of logs[0]!) if (e.call_id && e.call) counts.set(e.call_id, [...(counts.get(e.call_id) ?? []), e.call.event_count]);
  for (const [callId, seen] of counts) expect(seen, `call ${callId} merged in seq order`).toEqual(seen.map((_, i) => i + 1));
  return ids;
}

async function startNode(db: string, extra: Flags = {}): Promise<Node> {
  const app = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0, ...flags, logLevel: 'silent', ...extra }), { logger: false });
  expect(await app.prepare()).toBeNull();
  const { baseUrl } = await app.listen();
  return { app, baseUrl, ingestUrl: `${baseUrl}${new URL(first.ingestUrl).pathname}` };
}

beforeAll(async () => {
  cluster = await startPgCluster();
  const db = await createDatabase(cluster.url);
  first = await startTestApp(db, flags, { logger: { stream: { write: (line: string) => warnings.push(line) } } });
  nodes = [{ app: first.app, baseUrl: first.baseUrl, ingestUrl: first.ingestUrl }, await startNode(db), await startNode(db)];
}, 30_000);

afterAll(async () => {
  appendTestHooks.afterInsert = null;
  await killLeftoverServers();
  for (const node of nodes?.slice(1) ?? []) await node.app.close().catch(() => {});
  await first?.close().catch(() => {});
  await cluster?.stop();
});

describe('three nodes appending at once on one PostgreSQL', () => {
  const streams: SseClient[] = [];
  const acked = new Set<string>();

  it('streams every acknowledged event exactly once, in the same order with dense seq, on every node (slow commits interleaved with fast ones)', async () => {
    for (const node of nodes) streams.push(await openStream(node.baseUrl, { key: first.adminKey, query: 'since=0' }));
    // A third of the transactions wait up to 40 ms after their insert: they hold an xid below later, faster ones.
    appendTestHooks.afterInsert = async () => {
      if (Math.random() < 0.3) await sleep(rand(40));
    };
    const duplicates: Array<Array<{ status: number; id?: string; duplicate?: boolean }>> = [];
    const split: string[] = [];
    const until = Date.now() + 9000;
    const loop = async (node: Node, index: number) => {
      while (Date.now() < until) {
        // Random batch sizes: bursts of 1 to 16 requests reach the group committer at once.
        const burst = Array.from({ length: 1 + rand(16) }, async (_, k) => {
          const callId = `p-${index}-${randomUUID()}`;
          const roll = Math.random();
          if (roll < 0.05) {
            // The same body to all three nodes at once: stored once.
            const body = endCall(callId);
            const answers = await Promise.all(nodes.map((n) => post(n.ingestUrl, body)));
            duplicates.push(answers);
            for (const a of answers) if (a.status === 200 && !a.duplicate) acked.add(a.id!);
          } else if (roll < 0.2) {
            // One call's events at two different nodes at once: merged as if in order.
            split.push(callId);
            const other = nodes[(index + 1 + k) % nodes.length]!;
            const answers = await Promise.all([post(node.ingestUrl, startCall(callId)), post(other.ingestUrl, endCall(callId, { call_status: 'answered' }))]);
            for (const a of answers) if (a.status === 200) acked.add(a.id!);
          } else {
            const answer = await post(node.ingestUrl, Math.random() < 0.5 ? startCall(callId) : endCall(callId));
            if (answer.status === 200) acked.add(answer.id!);
          }
        });
        await Promise.all(burst);
        await sleep(rand(15));
      }
    };
    await Promise.all(nodes.flatMap((node, i) => [loop(node, i), loop(node, i + 3), loop(node, i + 6)]));
    appendTestHooks.afterInsert = null;

    await waitFor('every stream to catch up', () => streams.every((s) => s.events.length >= acked.size), 20_000);
    await sleep(300);
    console.log(`property test: ${acked.size} acknowledged events, ${split.length} split calls, ${duplicates.length} bodies posted to 3 nodes`);
    expect(acked.size).toBeGreaterThan(500);
    expectSameDenseLog(streams, acked);

    for (const answers of duplicates) {
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(new Set(answers.map((a) => a.id)).size, 'one id for the same body').toBe(1);
      expect(answers.filter((a) => !a.duplicate), 'stored once').toHaveLength(1);
    }
    // The split calls: the record is the one after their last event in the log (their merge followed seq).
    const log = received(streams[0]!);
    for (const callId of split.slice(0, 40)) {
      const events = log.filter((e) => e.call_id === callId);
      expect(events.map((e) => e.call!.event_count)).toEqual([1, 2]);
      const record = await first.api(`/v1/calls/${callId}`);
      expect(record.body).toMatchObject(events[1]!.call!);
      expect(record.body).toMatchObject({ status: 'answered', event_count: 2 });
    }

    // The sequencer's order is (xid, xid_ord, id): read back from event_seqs. This is the check that fails when
    // the watermark condition is dropped (sequencerTestHooks.ignoreWatermark = true in beforeAll): the
    // streams stay dense and alike even then, since seq is given by one sequencer's commits, but a
    // transaction that commits late gets a seq after higher xids, so the order is no longer (xid, xid_ord).
    const client = new pg.Client({ connectionString: (first.app.config.db) });
    await client.connect();
    try {
      const { rows } = await client.query<{ seq: string; xid: string; ord: number }>('select seq, xid::text as xid, xid_ord as ord from event_seqs order by seq');
      const out = rows.filter((r, i) => i > 0 && (BigInt(rows[i - 1]!.xid) > BigInt(r.xid) || (rows[i - 1]!.xid === r.xid && rows[i - 1]!.ord > r.ord)));
      expect(out.length, 'seq follows (xid, xid_ord)').toBe(0);
    } finally {
      await client.end();
    }
  }, 60_000);

  it('holds the log back while a transaction is open elsewhere in the cluster (lag in the metrics, a warning), and loses nothing', async () => {
    const before = streams.map((s) => s.events.length);
    const warned = warnings.length;
    const outsider = new pg.Client({ connectionString: cluster.url });
    await outsider.connect();
    await outsider.query('begin');
    await outsider.query('select pg_current_xact_id()');
    const held: string[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const answer = await post(nodes[i % 3]!.ingestUrl, endCall(`held-${i}`));
        expect(answer.status).toBe(200);
        held.push(answer.id!);
      }
      await waitFor('the warning', () => warnings.slice(warned).some((w) => w.includes('the event log is held back')), 6000);
      // The gauges are the last tick's view: wait for a tick that saw the transaction open for over a second.
      let metrics = '';
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
      await waitFor('the lag in the metrics', async () => {
        metrics = await (await fetch(`${first.baseUrl}/metrics`)).text();
        return value('switchboard_log_watermark_lag_seconds') > 1 && value('switchboard_db_oldest_transaction_seconds') > 1;
      }, 5000);
      expect(value('switchboard_log_unsequenced_events')).toBe(30);
      expect(streams.map((s) => s.events.length), 'nothing streamed while the watermark is held').toEqual(before);
    } finally {
      await outsider.query('commit');
      await outsider.end();
    }
    await waitFor('the held events', () => streams.every((s) => s.events.length >= before[0]! + 30), 5000);
    const ids = expectSameDenseLog(streams, new Set([...acked, ...held]));
    expect(ids.slice(-30), 'in the order they were acknowledged').toEqual(held);
    for (const id of held) acked.add(id);
  }, 20_000);

  it('recovers from a PostgreSQL crash under load: 503 while it is down, no acknowledged event lost, every seq as streamed before', async () => {
    const statuses: number[] = [];
    const timed: Array<{ status: number; from: number; to: number }> = [];
    let stop = false;
    const loop = async (node: Node) => {
      while (!stop) {
        const from = Date.now();
        const answer = await post(node.ingestUrl, endCall(`restart-${randomUUID()}`));
        statuses.push(answer.status);
        timed.push({ status: answer.status, from, to: Date.now() });
        if (answer.status === 200) acked.add(answer.id!);
        if (answer.status !== 200) await sleep(50);
      }
    };
    const loops = Promise.all(nodes.flatMap((n) => [loop(n), loop(n)]));
    await sleep(700);
    // A crash, not a shutdown: the sequencer's ticks commit without waiting for the disk, so the last ones may
    // be lost with it, and must then be made again identically (the same events at the same seqs as streamed).
    await cluster.halt('immediate');
    const downFrom = Date.now();
    await sleep(1500);
    const downTo = Date.now();
    await cluster.resume();
    await waitFor('the ingest to answer 200 again', () => statuses.slice(-20).filter((s) => s === 200).length === 20, 15_000);
    await sleep(500);
    stop = true;
    await loops;
    const whileDown = timed.filter((t) => t.from >= downFrom && t.to <= downTo).map((t) => t.status);
    expect(whileDown.length).toBeGreaterThan(0);
    expect(whileDown.every((s) => s === 503), `answers while down: ${[...new Set(whileDown)].join(',')}`).toBe(true);

    // The streams stay open across the restart (or are opened again from the last seq by a client): here,
    // fresh ones from 0 next to the old ones, which must have caught up too.
    await waitFor('the streams after the restart', () => streams.every((s) => received(s).filter((e) => acked.has(e.id)).length >= acked.size), 15_000);
    expectSameDenseLog(streams, acked);
    const again = await Promise.all(nodes.map((n) => openStream(n.baseUrl, { key: first.adminKey, query: 'since=0' })));
    await waitFor('fresh streams', () => again.every((s) => s.events.length >= streams[0]!.events.length), 10_000);
    expect(received(again[0]!).slice(0, streams[0]!.events.length).map((e) => e.id)).toEqual(received(streams[0]!).map((e) => e.id));
    for (const s of again) s.close();
    // The LISTEN connection is back (its retries back off: 1 s, 2 s, 4 s…).
    await waitFor('LISTEN again', async () => /^switchboard_listen_connected 1$/m.test(await (await fetch(`${nodes[1]!.baseUrl}/metrics`)).text()), 10_000);
  }, 40_000);

  it('hands the sequencer role over within seconds when its node is killed with -9: nothing lost, nothing twice', async () => {
    for (const s of streams) s.close();
    // A database of its own whose first node is a process (so that it can be killed): alone, it takes the role.
    const db = await createDatabase(cluster.url);
    const child = await startFirstServer(db, ['--sequencer-lease-ms', '1500', '--relay-poll-ms', '250']);
    const admin = new pg.Client({ connectionString: db });
    await admin.connect();
    const holderNow = async () => (await admin.query<{ holder: string | null }>('select holder from switchboard_sequencer')).rows[0]!.holder;
    const others: Node[] = [];
    try {
      const childPrefix = `${hostname()}:${child.child.pid}:`;
      await waitFor('the child to hold the role', async () => (await holderNow())?.startsWith(childPrefix) === true, 5000);
      const path = new URL(child.ingestUrl).pathname;
      for (let i = 0; i < 2; i++) {
        const app = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0, ...flags, logLevel: 'silent' }), { logger: false });
        expect(await app.prepare()).toBeNull();
        const { baseUrl } = await app.listen();
        others.push({ app, baseUrl, ingestUrl: `${baseUrl}${path}` });
      }
      const clients = await Promise.all(others.map((n) => openStream(n.baseUrl, { key: child.adminKey, query: 'since=0' })));
      const mine = new Set<string>();
      let stop = false;
      const loop = async (url: string) => {
        while (!stop) {
          const answer = await post(url, endCall(`kill-${randomUUID()}`));
          if (answer.status === 200) mine.add(answer.id!);
          else if (answer.status === 0 && url === child.ingestUrl) return;
        }
      };
      const loops = Promise.all([child.ingestUrl, child.ingestUrl, others[0]!.ingestUrl, others[1]!.ingestUrl].map(loop));
      await sleep(1500);
      expect((await holderNow())?.startsWith(childPrefix), 'the child still holds the role under load').toBe(true);
      const killedAt = Date.now();
      child.child.kill('SIGKILL');
      await child.exited;
      let takenOverMs = -1;
      await waitFor('another node to take the role', async () => {
        const holder = await holderNow();
        if (holder && !holder.startsWith(childPrefix)) takenOverMs = Date.now() - killedAt;
        return takenOverMs >= 0;
      }, 10_000);
      await sleep(1000);
      stop = true;
      await loops;
      expect(takenOverMs).toBeLessThan(5000);
      await waitFor('the streams to get every acknowledged event', () => clients.every((c) => received(c).filter((e) => mine.has(e.id)).length >= mine.size), 15_000);
      await sleep(300);
      // Events the child committed but could not answer may be there too; none twice, none missing, dense.
      expectSameDenseLog(clients, mine);
      console.log(`sequencer takeover after kill -9: ${takenOverMs} ms; ${mine.size} acknowledged events`);
      for (const c of clients) c.close();
    } finally {
      for (const node of others) await node.app.close().catch(() => {});
      await admin.end();
    }
  }, 60_000);
});
