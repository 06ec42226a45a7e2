import { Writable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { callEventOf, mergeCall } from '../domain/call.js';
import type { EventId, LogId, SourceId } from '../domain/ids.js';
import type { EventLog, StoredEvent } from '../storage/ports.js';
import { eventBytes } from '../storage/shared/event-log.js';
import { committedSequence, createStreamHub, type StreamFilter, type StreamHub } from './hub.js';
import { sseComment, sseFrame } from './sse.js';

/** A full garbage collection, to see what is still referenced (WeakRef). */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** An in-memory log whose reads can be held back, to stage the races the hub must survive. */
function fakeLog() {
  const rows: StoredEvent[] = [];
  let gate: Promise<void> | null = null;
  let inFlight = 0;
  const log = {
    reads: 0,
    lastSeqReads: 0,
    maxConcurrentReads: 0,
    fail: false,
    events: {
      async readAfter(afterSeq: number, limit: number, maxBytes = Infinity) {
        log.reads++;
        inFlight++;
        log.maxConcurrentReads = Math.max(log.maxConcurrentReads, inFlight);
        // The answer is what was committed when the read began, even if it arrives later.
        const answer = rows.filter((r) => r.seq > afterSeq && r.status !== 'quarantined').slice(0, limit);
        // Ended after the event that takes it past maxBytes, as the storage's read (one at least).
        for (let i = 0, bytes = 0; i < answer.length; i++) {
          if (bytes >= maxBytes) answer.splice(i);
          else bytes += eventBytes(answer[i]!);
        }
        const failing = log.fail;
        const held = gate;
        gate = null;
        try {
          await held;
          if (failing) throw new Error('database unreachable');
          return answer;
        } finally {
          inFlight--;
        }
      },
      async lastSeq() {
        log.lastSeqReads++;
        return rows.at(-1)?.seq ?? 0;
      },
      async seqBounds() {
        return { first: rows[0]?.seq ?? 0, last: rows.at(-1)?.seq ?? 0 };
      },
      logId: async () => 'log_0000000000000000000000' as LogId,
    } as Pick<EventLog, 'readAfter' | 'lastSeq' | 'seqBounds' | 'logId'> as EventLog,
    append(callId: string, options: { type?: string; widgetKey?: string; sourceId?: string; status?: 'ok' | 'quarantined'; body?: string } = {}) {
      const seq = rows.length + 1;
      const sourceId = (options.sourceId ?? 'src_a') as SourceId;
      const type = options.type ?? 'start_call';
      const payload = { type, call_id: callId, widget_key: options.widgetKey ?? 'w1' };
      rows.push({
        seq, id: `evt_${seq}` as EventId, sourceId, callId, type, status: options.status ?? 'ok', errorCode: null, errorDetail: null,
        contentType: 'application/json', body: Buffer.from(options.body ?? JSON.stringify(payload)), bodySize: 0, bodyTruncated: false, receivedAt: 0,
        callAfter: mergeCall(null, sourceId, callId, callEventOf('start_call', payload, 0)),
      });
      return seq;
    },
    /** The rows with seqs from `from` to `upTo`, as a tick that gave them would hand them over. */
    rowsBetween(from: number, upTo: number): StoredEvent[] {
      return rows.filter((r) => r.seq >= from && r.seq <= upTo);
    },
    /** The next read waits (with the answer it had when it began) until the returned function is called. */
    holdNextRead(): () => void {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return release;
    },
  };
  return log;
}

/**
 * A client response that collects what it is given. It takes each chunk on the next turn of the loop, or at
 * once (`fast`, like a socket whose kernel buffer has room), or never (`stalled`: its buffer only grows).
 */
function sink(options: { stalled?: boolean; fast?: boolean } = {}) {
  const chunks: string[] = [];
  const out = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      if (options.fast) callback();
      else if (!options.stalled) setImmediate(callback);
    },
  });
  return {
    out,
    /** The seqs of the events received, in order. */
    seqs: () => [...chunks.join('').matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
    text: () => chunks.join(''),
  };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function startedHub(log: ReturnType<typeof fakeLog>, onError?: (error: unknown) => void, pageBytes?: number): Promise<StreamHub> {
  const hub = createStreamHub({ events: log.events, pollMs: 60_000, onError, pageBytes });
  await hub.start();
  return hub;
}

function subscribe(hub: StreamHub, after: number | null, filter: StreamFilter = {}, options: { stalled?: boolean; fast?: boolean; maxBufferBytes?: number } = {}) {
  const client = sink(options);
  const done = hub.subscribe({ out: client.out, after, filter, maxBufferBytes: options.maxBufferBytes ?? 1 << 20 });
  return { ...client, done };
}

describe('sseFrame', () => {
  it('puts each line of the data in its own data: field, whatever the line break', () => {
    expect(sseFrame({ id: 7, event: 'call.ended', data: '{\r\n "a": 1,\r "b":\n2}' })).toBe(
      'id: 7\nevent: call.ended\ndata: {\ndata:  "a": 1,\ndata:  "b":\ndata: 2}\n\n',
    );
  });

  it('never lets a line break end the id or event field early', () => {
    expect(sseFrame({ id: '1\n2', event: 'convolo.x\r\nevent: call.ended', data: '{}' })).toBe(
      'id: 1 2\nevent: convolo.x  event: call.ended\ndata: {}\n\n',
    );
    expect(sseComment('a\nb')).toBe(': a b\n\n');
  });
});

describe('createStreamHub', () => {
  it('starts at the end of the log and fans each new event out to every live client', async () => {
    const log = fakeLog();
    log.append('old');
    const hub = await startedHub(log);
    const a = subscribe(hub, null);
    const b = subscribe(hub, null);
    await until('two clients', () => hub.clients === 2);
    log.append('c1');
    log.append('c2', { type: 'end_call' });
    hub.wake();
    await until('both events', () => a.seqs().length === 2 && b.seqs().length === 2);
    expect(a.seqs()).toEqual([2, 3]);
    expect(b.text()).toBe(a.text());
    expect(a.text()).toMatch(/^id: 2\nevent: call.started\ndata: \{"id":"evt_2","type":"call.started",/);
    expect(a.text()).toContain('\nevent: call.ended\n');
    await hub.close();
    await Promise.all([a.done, b.done]);
    expect(hub.clients).toBe(0);
  });

  it('reads on past a page ended by its byte budget: a live client gets every large event of one wake, with no poll', async () => {
    const log = fakeLog();
    // Pages of three events at most (each ~3 KB counted), and no poll for a minute to read on after a short page.
    const hub = await startedHub(log, undefined, 8 * 1024);
    const client = subscribe(hub, null);
    await until('the client', () => hub.clients === 1);
    for (let i = 0; i < 20; i++) log.append(`large-${i}`, { body: `${i}`.padEnd(2048, 'x') });
    hub.wake();
    await until('every event', () => client.seqs().length === 20);
    expect(client.seqs()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(log.reads).toBeGreaterThanOrEqual(7);
    // A replay from the start, in the same pages, also gets each once.
    const replay = subscribe(hub, 0);
    await until('the replay', () => replay.seqs().length === 20);
    expect(replay.seqs()).toEqual(client.seqs());
    await hub.close();
  });

  it('coalesces wakes into one read loop at a time', async () => {
    const log = fakeLog();
    const hub = await startedHub(log);
    const client = subscribe(hub, null);
    await until('the client', () => hub.clients === 1);
    const release = log.holdNextRead();
    for (let i = 0; i < 50; i++) {
      log.append(`w${i}`);
      hub.wake();
    }
    release();
    await until('every event', () => client.seqs().length === 50);
    expect(log.maxConcurrentReads).toBe(1);
    expect(log.reads).toBeLessThanOrEqual(3);
    await hub.close();
  });

  /** A started hub on an empty log, with one live client. */
  async function hubWithClient() {
    const log = fakeLog();
    const hub = await startedHub(log);
    const client = subscribe(hub, null);
    await until('the client', () => hub.clients === 1);
    return { log, hub, client };
  }

  /** What a tick hands the hub: every seq from `from` to `upTo`, and the events of them a stream shows. */
  const tickOf = (log: ReturnType<typeof fakeLog>, from: number, upTo: number) => ({
    from, upTo, events: log.rowsBetween(from, upTo).filter((e) => e.status !== 'quarantined'),
  });

  it("fans out the events its node's tick hands it without reading them again, when they follow its head", async () => {
    const log = fakeLog();
    log.append('old');
    const hub = await startedHub(log);
    const a = subscribe(hub, null);
    const b = subscribe(hub, null, { types: new Set(['call.ended']) });
    await until('the clients', () => hub.clients === 2);
    log.append('c1');
    log.append('c1', { type: 'end_call' });
    log.append('bad', { status: 'quarantined' });
    const readsBefore = log.reads;
    hub.wake(4, tickOf(log, 2, 4));
    await until('the events', () => a.seqs().length === 2);
    expect(a.seqs()).toEqual([2, 3]);
    expect(b.seqs()).toEqual([3]);
    expect(hub.head).toBe(4); // past the quarantined record, which no stream shows
    expect(log.reads).toBe(readsBefore);
    // The next tick's events follow on.
    log.append('c2');
    hub.wake(5, tickOf(log, 5, 5));
    await until('the next event', () => a.seqs().length === 3);
    expect(a.seqs()).toEqual([2, 3, 5]);
    expect(log.reads).toBe(readsBefore);
    await hub.close();
  });

  it('joins hand-overs that follow one another when two commits wake it before its read loop runs', async () => {
    const { log, hub, client } = await hubWithClient();
    log.append('c1');
    hub.wake(1, tickOf(log, 1, 1));
    await until('the first', () => client.seqs().length === 1);
    const reads = log.reads;
    // A read loop under way (a poll's, held) while two commits hand over 2–3 and then 4: neither is lost to the
    // other, and neither needs a read of its own (the second alone does not follow the head).
    const release = log.holdNextRead();
    hub.wake();
    await until('the poll to read', () => log.reads === reads + 1);
    log.append('c2');
    log.append('c3');
    hub.wake(3, tickOf(log, 2, 3));
    log.append('c4');
    hub.wake(4, tickOf(log, 4, 4));
    release();
    await until('every event', () => client.seqs().length === 4);
    expect(client.seqs()).toEqual([1, 2, 3, 4]);
    expect(log.reads).toBe(reads + 1); // the poll's
    await hub.close();
  });

  it("makes a local commit's hand-over from its results: every seq it gave, the events a stream shows", () => {
    const log = fakeLog();
    for (const c of ['c1', 'c2', 'c3']) log.append(c);
    log.append('bad', { status: 'quarantined' });
    const [e1, e2, e3, bad] = log.rowsBetween(1, 4);
    const fresh = (e: StoredEvent) => ({ id: e.id, seq: e.seq, duplicate: false, stored: e });
    const duplicate = { id: e1!.id, seq: e1!.seq, duplicate: true };
    const skipped = { id: 'evt_x' as EventId, seq: 0, duplicate: false, skipped: true as const };
    expect(committedSequence([fresh(e2!), duplicate, fresh(e3!), skipped, fresh(bad!)])).toEqual({ from: 2, upTo: 4, events: [e2, e3] });
    // Without the stored events (not asked for, or PostgreSQL), with a gap, or with nothing given: none.
    expect(committedSequence([fresh(e2!), { id: e3!.id, seq: 3, duplicate: false }])).toBeUndefined();
    expect(committedSequence([fresh(e1!), fresh(e3!)])).toBeUndefined();
    expect(committedSequence([duplicate, skipped])).toBeUndefined();
  });

  it('reads from its head instead when the handed events do not follow it (a tick it has not seen), and never sends one twice', async () => {
    const { log, hub, client } = await hubWithClient();
    log.append('c1');
    log.append('c2');
    log.append('c3');
    // The tick that gave 1 was handed to a wake the hub did not see (another node's): 2–3 do not follow its head.
    hub.wake(3, tickOf(log, 2, 3));
    await until('every event', () => client.seqs().length === 3);
    expect(client.seqs()).toEqual([1, 2, 3]);
    expect(log.reads).toBe(1);
    // A read that came first already sent what a late hand-off holds: nothing is sent again, nothing read.
    log.append('c4');
    hub.wake();
    await until('the fourth', () => client.seqs().length === 4);
    hub.wake(4, tickOf(log, 4, 4));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.seqs()).toEqual([1, 2, 3, 4]);
    expect(log.reads).toBe(2);
    await hub.close();
  });

  it('still reads to the end of the log when another wake asked for more than the handed events (a poll, another NOTIFY)', async () => {
    const { log, hub, client } = await hubWithClient();
    log.append('c1');
    log.append('c2');
    const release = log.holdNextRead();
    hub.wake(); // a read of 1–2, held
    log.append('c3');
    log.append('c4');
    // While it is held: the tick that gave 3, and a poll (it does not say how far the log goes).
    hub.wake(3, tickOf(log, 3, 3));
    hub.wake();
    release();
    await until('every event', () => client.seqs().length === 4);
    expect(client.seqs()).toEqual([1, 2, 3, 4]);
    await hub.close();
  });

  it('follows the end of the log from local commits without reading it while nobody streams', async () => {
    const log = fakeLog();
    const hub = await startedHub(log);
    const asked = log.lastSeqReads;
    for (let i = 0; i < 5; i++) hub.wake(log.append(`n${i}`));
    expect(hub.head).toBe(5);
    expect(log.lastSeqReads).toBe(asked);
    expect(log.reads).toBe(0);
    // A client that joins now gets only what comes after, read once its commit wakes the hub.
    const client = subscribe(hub, null);
    await until('the client', () => hub.clients === 1);
    hub.wake(log.append('n5'));
    await until('the live event', () => client.seqs().length === 1);
    expect(client.seqs()).toEqual([6]);
    await hub.close();
  });

  it('replays a resuming client from the log and switches it to live with no gap and no duplicate', async () => {
    const log = fakeLog();
    for (let i = 0; i < 3; i++) log.append(`r${i}`);
    const hub = await startedHub(log);
    // The client's first read sees seqs 1–3; seqs 4–5 are committed and fanned out before it returns.
    const release = log.holdNextRead();
    const client = subscribe(hub, 0);
    await until('the client', () => hub.clients === 1);
    log.append('r3');
    log.append('r4');
    hub.wake();
    release();
    await until('the replay', () => client.seqs().length === 5);
    log.append('r5');
    hub.wake();
    await until('the live event', () => client.seqs().length === 6);
    expect(client.seqs()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(hub.head).toBe(6);
    await hub.close();
  });

  it('skips the events a resuming client has already read when it is ahead of the hub', async () => {
    const log = fakeLog();
    for (let i = 0; i < 3; i++) log.append(`a${i}`);
    const hub = await startedHub(log);
    const liveClient = subscribe(hub, null);
    await until('the live client', () => hub.clients === 1);
    // The hub's read of seqs 4–5 is held; meanwhile the resuming client reads up to 5 and goes live.
    const release = log.holdNextRead();
    log.append('a3');
    log.append('a4');
    hub.wake();
    const resuming = subscribe(hub, 0);
    await until('the replay', () => resuming.seqs().length === 5);
    release();
    await until('the hub to publish', () => liveClient.seqs().length === 2);
    log.append('a5');
    hub.wake();
    await until('the live event', () => resuming.seqs().length >= 6);
    expect(resuming.seqs()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(liveClient.seqs()).toEqual([4, 5, 6]);
    await hub.close();
  });

  it('replays page after page at the pace of the client (awaiting drain)', async () => {
    const log = fakeLog();
    for (let i = 0; i < 1200; i++) log.append(`p${i}`);
    const hub = await startedHub(log);
    const client = subscribe(hub, 100);
    await until('the replay', () => client.seqs().length === 1100);
    log.append('after');
    hub.wake();
    await until('the live event', () => client.seqs().length === 1101);
    expect(client.seqs()).toEqual(Array.from({ length: 1101 }, (_, i) => i + 101));
    await hub.close();
  });

  it('holds no more of the log than its buffer bound for a resuming client that stopped reading', async () => {
    // Every read answers new objects, as a database does: what the hub still holds is what it keeps alive.
    const log = fakeLog();
    for (let i = 0; i < 200; i++) log.append(`m${i}`, { body: JSON.stringify({ type: 'start_call', call_id: `m${i}`, pad: 'x'.repeat(64 * 1024) }) });
    const read: WeakRef<Buffer>[] = [];
    const events = {
      lastSeq: () => log.events.lastSeq(),
      seqBounds: () => log.events.seqBounds(),
      logId: () => log.events.logId(),
      async readAfter(afterSeq: number, limit: number) {
        return (await log.events.readAfter(afterSeq, limit)).map((event) => {
          const body = Buffer.from(event.body!);
          read.push(new WeakRef(body));
          return { ...event, body };
        });
      },
    };
    const hub = createStreamHub({ events, pollMs: 60_000 });
    await hub.start();
    const client = subscribe(hub, 0, {}, { stalled: true, maxBufferBytes: 256 * 1024 });
    await until('the first event', () => client.seqs().length === 1);
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    const held = read.reduce((bytes, ref) => bytes + (ref.deref()?.length ?? 0), 0);
    // The bound, and the event being written: not the 199 events (13 MB) of the page it was stalled in.
    expect(held).toBeLessThanOrEqual(256 * 1024 + 70 * 1024);
    client.out.destroy();
    await client.done;
    await hub.close();
  });

  it('goes live after a replay even when the log ends with a quarantined event (never relayed)', async () => {
    const log = fakeLog();
    log.append('q1');
    log.append('q2', { status: 'quarantined' });
    const hub = await startedHub(log);
    const client = subscribe(hub, 0);
    await until('the replay', () => client.seqs().length === 1);
    log.append('q3');
    hub.wake();
    await until('the live event', () => client.seqs().length === 2);
    expect(client.seqs()).toEqual([1, 3]);
    await hub.close();
  });

  it('sends no gap frame for quarantined seqs the replay passes over (never relayed, not deleted)', async () => {
    const log = fakeLog();
    log.append('q1', { status: 'quarantined' });
    log.append('q2');
    log.append('q3', { status: 'quarantined' });
    log.append('q4', { status: 'quarantined' });
    const hub = await startedHub(log);
    const fromStart = subscribe(hub, 0);
    const fromTwo = subscribe(hub, 2);
    log.append('q5');
    hub.wake();
    await until('the events', () => fromStart.seqs().length === 2 && fromTwo.seqs().length === 1);
    expect(fromStart.seqs()).toEqual([2, 5]);
    expect(fromTwo.seqs()).toEqual([5]);
    expect(fromStart.text() + fromTwo.text()).not.toContain('switchboard.gap');
    await hub.close();
  });

  it('treats a cursor beyond the end of the log as "from now"', async () => {
    const log = fakeLog();
    log.append('b1');
    const hub = await startedHub(log);
    const client = subscribe(hub, 1000);
    await until('the client', () => hub.clients === 1);
    await new Promise((resolve) => setImmediate(resolve));
    log.append('b2');
    hub.wake();
    await until('the event', () => client.seqs().length === 2);
    // The gap frame first, its id the head (1), where the stream goes on; then the event after it.
    expect(client.text()).toMatch(/^id: 1\nevent: switchboard.gap\n/);
    expect(client.seqs()).toEqual([1, 2]);
    await hub.close();
  });

  it('applies the filters on types, widget key and source', async () => {
    const log = fakeLog();
    const hub = await startedHub(log);
    const byType = subscribe(hub, null, { types: new Set(['call.ended', 'convolo.transfer']) });
    const byWidget = subscribe(hub, null, { widgetKey: 'blue' });
    const bySource = subscribe(hub, null, { sourceId: 'src_b' });
    await until('the clients', () => hub.clients === 3);
    log.append('f1', { widgetKey: 'blue' }); // 1
    log.append('f1', { type: 'end_call', widgetKey: 'blue' }); // 2
    log.append('f2', { sourceId: 'src_b' }); // 3
    log.append('f3', { type: 'transfer' }); // 4
    hub.wake();
    // A replaying client filters the same way.
    const replayed = subscribe(hub, 0, { types: new Set(['call.ended']) });
    await until('every event', () => byType.seqs().length === 2 && byWidget.seqs().length === 2 && bySource.seqs().length === 1 && replayed.seqs().length === 1);
    expect([byType.seqs(), byWidget.seqs(), bySource.seqs(), replayed.seqs()]).toEqual([[2, 4], [1, 2], [3], [2]]);
    await hub.close();
  });

  it('gives each client exactly its frames when clients with and without filters share a page', async () => {
    const log = fakeLog();
    const hub = await startedHub(log);
    // Filtered clients between unfiltered ones: the unfiltered share their frames, the others diverge.
    const all1 = subscribe(hub, null);
    const blue = subscribe(hub, null, { widgetKey: 'blue' });
    const all2 = subscribe(hub, null);
    const ended = subscribe(hub, null, { types: new Set(['call.ended']) });
    const all3 = subscribe(hub, null);
    await until('the clients', () => hub.clients === 5);
    log.append('g1', { widgetKey: 'blue' }); // 1
    log.append('g2'); // 2
    log.append('g2', { type: 'end_call', widgetKey: 'blue' }); // 3
    log.append('g3'); // 4
    hub.wake();
    await until('every event', () => all3.seqs().length === 4 && blue.seqs().length === 2 && ended.seqs().length === 1);
    expect([all1.seqs(), all2.seqs(), all3.seqs(), blue.seqs(), ended.seqs()]).toEqual([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 3], [3]]);
    expect(all2.text()).toBe(all1.text());
    expect(all3.text()).toBe(all1.text());
    // The filtered clients' frames are byte for byte those the unfiltered got for the same events.
    const frameText = (text: string) => text.split(/(?<=\n\n)/).filter((f) => f.startsWith('id: '));
    const byId = new Map(frameText(all1.text()).map((f) => [f.split('\n')[0], f]));
    expect(frameText(blue.text())).toEqual(['id: 1', 'id: 3'].map((id) => byId.get(id)));
    expect(frameText(ended.text())).toEqual([byId.get('id: 3')]);
    await hub.close();
  });

  it('drops a client whose buffer passes the bound, without waiting for it, while the others get everything', async () => {
    const log = fakeLog();
    const hub = await startedHub(log);
    const stalled = subscribe(hub, null, {}, { stalled: true, maxBufferBytes: 4096 });
    const healthy = subscribe(hub, null, {}, { fast: true, maxBufferBytes: 4096 });
    await until('the clients', () => hub.clients === 2);
    for (let i = 0; i < 40; i++) log.append(`s${i}`, { body: JSON.stringify({ type: 'start_call', call_id: `s${i}`, pad: 'x'.repeat(500) }) });
    hub.wake();
    await until('the stalled client to be dropped', () => stalled.out.destroyed);
    await stalled.done;
    await until('every event', () => healthy.seqs().length === 40);
    expect(hub.clients).toBe(1);
    await hub.close();
  });

  it('keeps the head at the end of the log without reading events while nobody listens', async () => {
    const log = fakeLog();
    const hub = await startedHub(log);
    log.append('n1');
    log.append('n2');
    hub.wake();
    await until('the head', () => hub.head === 2);
    expect(log.reads).toBe(0);
    await hub.close();
  });

  it('reports a failed read and catches up at the next wake', async () => {
    const log = fakeLog();
    const errors: unknown[] = [];
    const hub = await startedHub(log, (error) => errors.push(error));
    const client = subscribe(hub, null);
    await until('the client', () => hub.clients === 1);
    log.append('e1');
    log.fail = true;
    hub.wake();
    await until('the error', () => errors.length === 1);
    log.fail = false;
    hub.wake();
    await until('the event', () => client.seqs().length === 1);
    expect(client.seqs()).toEqual([1]);
    await hub.close();
  });

  it('ends live and replaying clients on close, and refuses new ones after', async () => {
    const log = fakeLog();
    log.append('c1');
    const hub = await startedHub(log);
    const liveClient = subscribe(hub, null);
    const release = log.holdNextRead();
    const replaying = subscribe(hub, 0);
    await until('the clients', () => hub.clients === 2);
    await hub.close();
    await Promise.all([liveClient.done, replaying.done]);
    expect(hub.clients).toBe(0);
    release();
    expect(liveClient.out.writableEnded || liveClient.out.destroyed).toBe(true);
    const late = subscribe(hub, null);
    await late.done;
    expect(late.out.writableEnded).toBe(true);
  });
});
