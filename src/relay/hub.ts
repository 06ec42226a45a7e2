import type { Writable } from 'node:stream';
import { envelopeJson, envelopeType } from '../domain/envelope.js';
import type { LogId } from '../domain/ids.js';
import type { StreamGap } from '../sdk/subscribe.js';
import type { AppendResult, EventReader, Sequenced, StoredEvent } from '../storage/ports.js';
import { eventBytes, pageFull, readPageBytes } from '../storage/shared/event-log.js';
import { coalesce } from './coalesce.js';
import { createSlots } from './slots.js';
import { closed, drained, endStream, isOpen, sseFrame, writeBounded } from './sse.js';

/**
 * The stream fan-out. The hub tails the event log (woken after each commit, here or on another node, and
 * polling as a safety net), builds each event's SSE frame once and writes it to every live client without
 * ever waiting for one. A client that resumes (Last-Event-ID, since) first reads the log itself, at its own
 * pace, and joins the live clients only once it has caught up with the hub, so it sees every event exactly
 * once. Correctness rests on one property of the log: seqs become visible in the order they were assigned
 * (one writer on SQLite, the append lock on PostgreSQL), so whoever has read up to seq N will never later
 * find a smaller one.
 */

/** What a client asked to see; absent fields match everything. */
export interface StreamFilter {
  /** Envelope types (`call.started`, `convolo.<type>`, …). */
  types?: ReadonlySet<string>;
  widgetKey?: string;
  sourceId?: string;
}

export interface StreamSubscription {
  /** The client's response: frames are written to it, and its closing ends the subscription. */
  out: Writable;
  /** Replay the log after this seq first; null: live from now. */
  after: number | null;
  /**
   * The log `after` is a seq of, as the client says (`log_id`); undefined: not said, taken as this one. Another
   * log's id (a database reset or replaced) makes the cursor meaningless here: the stream goes on from now.
   */
  logId?: string;
  filter: StreamFilter;
  /** The client is disconnected when this much written data is waiting for it. */
  maxBufferBytes: number;
}

export interface StreamHub {
  /** Begins tailing the log from its current end. */
  start(): Promise<void>;
  /**
   * New events may be in the log (a local commit, the sequencer's tick, or another node's NOTIFY).
   * `committedUpTo`: every event up to this seq is committed (a SQLite commit's highest seq: commits are in seq
   * order; on PostgreSQL the last seq a tick gave), so with no client to send to the hub follows the log's end
   * without asking the database. `sequenced`: the events that were given seqs here — a local commit's on SQLite
   * (`committedSequence`), a tick of this node's sequencer on PostgreSQL — fanned out as they are when they
   * follow the hub's head, instead of read again.
   */
  wake(committedUpTo?: number, sequenced?: Sequenced): void;
  /** Connected stream clients (live or catching up). */
  readonly clients: number;
  /** The seq up to which the log has been fanned out. */
  readonly head: number;
  /** The log's id (EventReader.logId), once the hub has started; null when it closed before. */
  logId(): Promise<LogId | null>;
  /** Streams events to `out` until it closes or the hub closes; resolves once the client is gone. */
  subscribe(subscription: StreamSubscription): Promise<void>;
  /** Ends every client stream and stops tailing. */
  close(): Promise<void>;
}

export interface StreamHubOptions {
  events: Pick<EventReader, 'readAfter' | 'lastSeq' | 'seqBounds' | 'logId'>;
  pollMs: number;
  /**
   * Pages of replay (clients resuming from the log) read at the same time, across all clients; the others
   * wait their turn. Default: unbounded.
   */
  maxReplayReads?: number;
  onError?: (error: unknown) => void;
  /**
   * A client (live or replaying) whose connection has not drained for this long, some of what was written to it
   * still waiting all that time, is disconnected: it stopped reading (it resumes from the log when it reconnects).
   * Default: never.
   */
  stallMs?: number;
  /**
   * A client was disconnected: `behind`, more than its buffer bound waited for it (live); `stalled`, its
   * connection did not drain for `stallMs`.
   */
  onDropped?: (reason: 'behind' | 'stalled') => void;
  /**
   * A read of the log (the live read, each replay's) ends after the event that takes it past this many bytes, one
   * event at least: with large events, 500 of them would be hundreds of MB per read. Default: `readPageBytes`.
   */
  pageBytes?: number;
}

/** A client's frames of a stretch of a page: the first `count` of `frames`, `size` bytes. */
interface Batch {
  frames: Buffer[];
  count: number;
  size: number;
}

interface Client {
  out: Writable;
  filter: StreamFilter;
  maxBufferBytes: number;
  /** The last seq this client has been given or has passed over (filtered out). */
  cursor: number;
  /** Since when (epoch ms) something has been waiting to leave for it, as last looked; 0: it had drained. */
  waitingSince: number;
}

const pageSize = 500;
/** How long a shutdown lets a client that is up to date receive the end of its stream. */
const endGraceMs = 1000;
/** Frame bytes fanned out between two turns of the event loop. */
const yieldEveryBytes = 64 * 1024;

/**
 * A local commit's events as a hand-over (SQLite gives seqs in the commit): every seq it gave, from the lowest
 * to the highest, and the events of them a stream shows (`readAfter`'s: not quarantined). Undefined unless
 * each fresh event's result holds it as stored (AppendOptions.stored) and their seqs leave no gap; the hub
 * then reads the log as before.
 */
export function committedSequence(results: readonly AppendResult[]): Sequenced | undefined {
  let from = Infinity;
  let upTo = 0;
  let given = 0;
  const events: StoredEvent[] = [];
  for (const r of results) {
    if (r.duplicate || r.skipped) continue;
    if (!r.stored) return undefined;
    given++;
    from = Math.min(from, r.seq);
    upTo = Math.max(upTo, r.seq);
    if (r.stored.status !== 'quarantined') events.push(r.stored);
  }
  if (given === 0 || upTo - from + 1 !== given) return undefined;
  return { from, upTo, events: events.sort((a, b) => a.seq - b.seq) };
}

const joined = (a: Sequenced, b: Sequenced): Sequenced => ({ from: a.from, upTo: b.upTo, events: [...a.events, ...b.events] });

/**
 * @example
 * const hub = createStreamHub({ events: storage.events, pollMs: 1000 });
 * await hub.start();
 * await hub.subscribe({ out: reply.raw, after: null, filter: { types: new Set(['call.ended']) }, maxBufferBytes: 1 << 20 });
 */
export function createStreamHub(options: StreamHubOptions): StreamHub {
  const { events, pollMs } = options;
  const pageBytes = options.pageBytes ?? readPageBytes;
  const onError = options.onError ?? (() => {});
  const clients = new Set<Client>();
  const live = new Set<Client>();
  const replayReads = createSlots(options.maxReplayReads ?? Infinity);
  let head = 0;
  /** Read once at start: a process's database, and so its log, does not change under it. */
  let logId: LogId | null = null;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  let stallTimer: NodeJS.Timeout | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  // Wakes coalesce: one read loop at a time, and one more after it if woken while it ran (none once
  // closing). A failed read is reported; the next wake or poll tries again.
  // Read loops started and not finished (the coalesced one, and the one it queued).
  let reading = 0;
  /** The latest tick's events handed to wake(), for the next read loop. */
  let handed: Sequenced | null = null;
  /** The highest seq the wakes since the last read loop began said was committed (Infinity: a wake that did not say). */
  let asked = 0;
  const reads = coalesce(async () => {
    reading++;
    try {
      if (!closing) await readToEnd();
    } finally {
      reading--;
    }
  }, onError);
  function wake(committedUpTo?: number, sequenced?: Sequenced): void {
    if (timer === undefined || closing) return;
    // A hand-over that follows the one not yet fanned out joins it (two commits before the read loop ran).
    if (sequenced) handed = handed && sequenced.from === handed.upTo + 1 ? joined(handed, sequenced) : sequenced;
    asked = Math.max(asked, committedUpTo !== undefined && committedUpTo > 0 ? committedUpTo : Infinity);
    // No client, no read under way: nothing to fan out, so the end of the log is all the hub needs, and a local
    // commit knows it. (A read under way may be publishing to a client that has just left: it goes on as before.)
    // This spares a query on a reader thread per group commit while nobody streams.
    if (committedUpTo !== undefined && clients.size === 0 && reading === 0) {
      head = Math.max(head, committedUpTo);
      return;
    }
    void reads.trigger();
  }

  async function readToEnd(): Promise<void> {
    const given = handed;
    const wanted = asked;
    handed = null;
    asked = 0;
    // The events right after the head, every one of them (the tick gave each seq from `from` to `upTo`): fanned
    // out as the read would have, without the read. (Otherwise the hub is behind: it reads, from its head.)
    if (given && clients.size > 0 && given.from === head + 1) {
      await publish(given.events);
      head = Math.max(head, given.upTo);
    }
    // Nothing to read when every wake since the last loop named a seq the hub has reached (a tick's NOTIFY on its
    // own node, after the tick handed its events); a wake that named none (a poll) reads to the end.
    if (head >= wanted) return;
    for (;;) {
      if (clients.size === 0) {
        // Nobody to send to: follow the log's end without reading (and framing) its rows. Only taken if
        // still nobody is here when the answer arrives, else a client that joined meanwhile would miss events.
        const last = await events.lastSeq();
        if (clients.size === 0) {
          head = Math.max(head, last);
          return;
        }
      }
      const page = await events.readAfter(head, pageSize, pageBytes);
      await publish(page);
      // A page that is not full reached the end of the log as it was; a commit after that read woke us again. (One
      // ended by the byte budget is not the end.)
      if (!pageFull(page, pageSize, pageBytes)) return;
    }
  }

  /**
   * Each event is one synchronous step (advance head, write to every live client), so a client joining
   * between two events misses neither. Between steps the loop yields to I/O now and then, so that sockets
   * flush and healthy clients do not look behind during a burst (and ingest keeps its share of the loop).
   */
  async function publish(page: readonly StoredEvent[]): Promise<void> {
    let written = 0;
    // Each client's frames of this stretch of the page, written with one call (one syscall) per client
    // rather than one per event: under steady ingest a page holds several events, and with many clients the
    // writes were most of the hub's cost. Written before every await, and whenever a client's share reaches
    // its buffer bound (so the bound still judges a client that is behind), so nothing is held across a turn.
    // Each frame is encoded once, and clients given the same frames (all of them, unless they filter) are
    // written one shared buffer: the socket writes had each encoded their own copy of the text.
    const pending = new Map<Client, Batch>();
    // Every batch of a stretch starts on one shared list; a client given the same frames as the one before it
    // extends that list in step, and a client that was not given one of them (a filter, or a cursor ahead of
    // it) continues on a copy of its own. So the clients that got the same frames share one list, one buffer.
    let stretch: Buffer[] = [];
    const chunks = new Map<Buffer[], Map<number, Buffer>>();
    const chunkOf = ({ frames, count, size }: Batch): Buffer => {
      if (count === 1) return frames[0]!;
      let byCount = chunks.get(frames);
      if (!byCount) chunks.set(frames, (byCount = new Map()));
      let chunk = byCount.get(count);
      if (!chunk) byCount.set(count, (chunk = Buffer.concat(frames.slice(0, count), size)));
      return chunk;
    };
    const write = (client: Client, batch: Batch) => {
      const open = isOpen(client.out);
      if (writeBounded(client.out, chunkOf(batch), client.maxBufferBytes)) return;
      live.delete(client);
      if (open) options.onDropped?.('behind');
    };
    const flush = () => {
      for (const [client, batch] of pending) write(client, batch);
      pending.clear();
      chunks.clear();
      stretch = [];
    };
    for (const event of page) {
      head = event.seq;
      let frame: Buffer | undefined;
      for (const client of live) {
        if (event.seq <= client.cursor) continue;
        client.cursor = event.seq;
        if (!matches(client.filter, event)) continue;
        frame ??= frameOf(event);
        let batch = pending.get(client);
        if (!batch) pending.set(client, (batch = { frames: stretch, count: 0, size: 0 }));
        if (batch.frames.length === batch.count) batch.frames.push(frame);
        else if (batch.frames[batch.count] !== frame) batch.frames = [...batch.frames.slice(0, batch.count), frame];
        batch.count++;
        batch.size += frame.length;
        if (batch.size >= client.maxBufferBytes) {
          pending.delete(client);
          write(client, batch);
        }
      }
      written += frame?.length ?? 0;
      if (written >= yieldEveryBytes) {
        written = 0;
        flush();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    flush();
  }

  /**
   * Disconnects the clients whose connection has not drained for `stallMs`: neither the buffer bound (a live client
   * whose backlog stays below it on a quiet log, where no heartbeat is written while something waits) nor a replay
   * (which waits for the drain) would ever end them, and each holds its key's stream slot. Looked at a few times
   * per `stallMs` (at most every second); a drain in between counts too (the listener in subscribe).
   */
  function dropStalled(stallMs: number): void {
    const now = Date.now();
    for (const client of clients) {
      if (client.out.writableLength === 0) client.waitingSince = 0;
      else if (client.waitingSince === 0) client.waitingSince = now;
      else if (now - client.waitingSince >= stallMs && isOpen(client.out)) {
        client.out.destroy();
        options.onDropped?.('stalled');
      }
    }
  }

  /** Replays the log after `after` (a seq of the log `afterIn`, when said) at the client's pace, then joins the live clients with no gap. */
  async function catchUp(client: Client, after: number, afterIn: string | undefined): Promise<void> {
    const sendGap = (gap: GapOf<StreamGap>, id?: number) => {
      if (isOpen(client.out)) client.out.write(sseFrame({ id, event: gap.type, data: JSON.stringify({ ...gap, log_id: logId }) }));
    };
    /**
     * Seqs are dense: when the oldest left in the log (or, the log emptied, the next to come) is beyond the one
     * after `from`, retention deleted events the client never saw. Said whatever its filter (it is the cursor's),
     * up to `upTo` at most (the next event it is about to get); returns the cursor past what was deleted.
     */
    const prunedAfter = (from: number, { first, last }: { first: number; last: number }, upTo = Infinity): number => {
      const resumedAt = Math.min(first === 0 ? last + 1 : first, upTo);
      if (resumedAt <= from + 1) return from;
      sendGap({ type: 'switchboard.gap', reason: 'pruned', after: from, resumed_at: resumedAt, missed: resumedAt - from - 1 });
      return resumedAt - 1;
    };
    // The log's ends, read as the client connects (not the hub's head, which may lag behind the log).
    const bounds = await events.seqBounds();
    let cursor: number;
    // A cursor of another log (its id said: the database was reset or replaced, whatever its head), or past the end
    // of this one (a Last-Event-ID from before a reset, or a made-up since), means "from now" rather than an error
    // (EventSource gives up for good on an error status), said first: a client that skips the seqs it has seen (the
    // SDK) would skip the new log's events up to its old cursor, and one resumed after it would never see those.
    // The last seq given is read after the client's cursor was: an event appended since is no reset.
    // Its id is the head, where the stream goes on: a browser's EventSource that reconnects before the next event
    // sends that, not its old cursor again (which would be "from now" again, losing what came meanwhile).
    const replaced = afterIn !== undefined && afterIn !== logId;
    if (replaced || after > bounds.last) {
      sendGap({ type: 'switchboard.gap', reason: replaced ? 'log_replaced' : 'cursor_ahead', after, head: bounds.last }, bounds.last);
      cursor = bounds.last;
    } else {
      cursor = prunedAfter(after, bounds);
    }
    // Events per read: fewer after a page had to be cut (below), back up to a page as the client keeps up.
    let limit = pageSize;
    for (;;) {
      // Every event up to `known` was visible before the read below starts, so a short page proves the
      // client has seen all of them, even when the last of them was quarantined (never relayed).
      // A slot per page, not per replay: a client that reads slowly holds no slot while its socket drains,
      // and replays take turns page by page (a whole-log replay does not keep shorter ones waiting).
      await replayReads.acquire();
      if (!isOpen(client.out)) return replayReads.release();
      let known: number;
      let rest: readonly StoredEvent[];
      try {
        known = head;
        rest = await events.readAfter(cursor, limit, pageBytes);
      } finally {
        replayReads.release();
      }
      // The read skips seqs after the cursor (its first event is beyond the next seq, or it found none up to the
      // head): quarantined ones, never relayed, or events retention deleted while this replay went on. Told
      // apart by the log's oldest seq, read only then.
      const next = rest[0]?.seq ?? known + 1;
      if (next > cursor + 1) cursor = prunedAfter(cursor, await events.seqBounds(), next);
      // Ended by the byte budget, a page is not the end of the log, whatever its length.
      const short = !pageFull(rest, limit, pageBytes);
      let cut = false;
      for (let i = 0; i < rest.length; i++) {
        const event = rest[i]!;
        if (!isOpen(client.out)) return;
        cursor = event.seq;
        if (!matches(client.filter, event)) continue;
        if (client.out.write(frameOf(event))) continue;
        const ready = drained(client.out);
        // A frame larger than the socket's own buffer always asks to wait; a client that keeps up has taken it
        // by the next turn. One that has not may be waited for long, and the rest of its page stays in memory
        // meanwhile: at most its buffer bound of it (a page is 500 events of up to the body limit each), the
        // others are read again after, in smaller reads while it is slow.
        await new Promise((resolve) => setImmediate(resolve));
        if (client.out.writableLength > 0) {
          const kept = heldWithin(rest, i + 1, client.maxBufferBytes);
          if (kept.length < rest.length - i - 1) {
            cut = true;
            limit = Math.max(1, kept.length);
          }
          rest = kept;
          i = -1;
        }
        if (!(await ready)) return;
      }
      if (!cut) limit = Math.min(pageSize, limit * 2);
      if (short && !cut) cursor = Math.max(cursor, known);
      if (!isOpen(client.out)) return;
      // The check and the switch in one synchronous step: no event is fanned out between them, and publish
      // skips whatever this client has already read (seq ≤ cursor).
      if (cursor >= head) {
        client.cursor = cursor;
        live.add(client);
        return;
      }
    }
  }

  return {
    async start() {
      [head, logId] = await Promise.all([events.lastSeq(), events.logId()]);
      timer = setInterval(wake, pollMs);
      timer.unref();
      const { stallMs } = options;
      if (stallMs !== undefined && Number.isFinite(stallMs)) {
        stallTimer = setInterval(() => dropStalled(stallMs), Math.min(1000, stallMs / 4));
        stallTimer.unref();
      }
      markReady();
    },
    wake,
    get clients() {
      return clients.size;
    },
    get head() {
      return head;
    },
    async logId() {
      await ready;
      return logId;
    },
    async subscribe({ out, after, logId: afterIn, filter, maxBufferBytes }) {
      await ready;
      if (closing) return endStream(out, endGraceMs);
      const client: Client = { out, filter, maxBufferBytes, cursor: head, waitingSince: 0 };
      const gone = closed(out);
      const drainedNow = () => (client.waitingSince = 0);
      out.on('drain', drainedNow);
      clients.add(client);
      if (after === null) live.add(client);
      else {
        void catchUp(client, after, afterIn).catch((error: unknown) => {
          // Reading the log failed: drop the client, it resumes where it was when it reconnects. (Once the
          // client is gone, a read failing, as at shutdown when the database closes, concerns nobody.)
          if (!isOpen(out)) return;
          onError(error);
          out.destroy();
        });
      }
      // A replay still reading when its client goes away must not keep it counted (or the shutdown waiting).
      await gone;
      out.off('drain', drainedNow);
      live.delete(client);
      clients.delete(client);
    },
    async close() {
      closing = true;
      clearInterval(timer);
      clearInterval(stallTimer);
      markReady();
      await reads.idle();
      await Promise.all([...clients].map((client) => endStream(client.out, endGraceMs)));
    },
  };
}

/**
 * The events of `page` from `from` on that fit in `bytes`, each counted as a read of the log counts it.
 */
function heldWithin(page: readonly StoredEvent[], from: number, bytes: number): readonly StoredEvent[] {
  let end = from;
  for (let size = 0; end < page.length; end++) {
    size += eventBytes(page[end]!);
    if (size > bytes) break;
  }
  return page.slice(from, end);
}

function matches(filter: StreamFilter, event: StoredEvent): boolean {
  if (filter.sourceId !== undefined && event.sourceId !== filter.sourceId) return false;
  if (filter.widgetKey !== undefined && event.callAfter?.widget_key !== filter.widgetKey) return false;
  return filter.types === undefined || filter.types.has(envelopeType(event.status, event.type));
}

/**
 * The stream's note about its cursor (docs/api.md), as catchUp's `sendGap` takes it: without the log's id, which it
 * adds. Written without `id` the client's last event id stays (`pruned`: the next event moves it); with one
 * (`cursor_ahead`, `log_replaced`: the head) it moves to where the stream goes on.
 */
type GapOf<G> = G extends StreamGap ? Omit<G, 'log_id'> : never;

/** An event's SSE frame, encoded once for every client. */
function frameOf(event: StoredEvent): Buffer {
  return Buffer.from(sseFrame({ id: event.seq, event: envelopeType(event.status, event.type), data: envelopeJson(event) }));
}
