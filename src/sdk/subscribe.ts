import type { SwitchboardEvent } from './envelope.js';
import { apiErrorOf, authHeader, backoffMs, buildUrl, connectionError, credentialsFor, maxTimerMs, sleep, SwitchboardApiError, type FetchLike } from './http.js';
import { sseMessages } from './sse-stream.js';

/**
 * One event of the stream.
 *
 * @example
 * function onEvent({ seq, envelope }: StreamEvent) {
 *   if (envelope.type === 'call.ended') console.log(seq, envelope.data.call_status);
 * }
 */
export interface StreamEvent {
  /** The log sequence (the SSE `id`): increasing, the cursor to resume after. */
  seq: number;
  type: string;
  /** The relay envelope (SPEC "Relay envelope"); narrow it on `type`. */
  envelope: SwitchboardEvent;
  /** The envelope's JSON text exactly as received: forward or verify these bytes, not a re-serialisation. */
  json: string;
}

/**
 * The stream's note about the cursor (a `switchboard.gap` frame), sent before anything else
 * on a connection that resumes (`since`, or a reconnection) when the log cannot continue right after the cursor:
 *   - `pruned`: retention deleted the `missed` events after `after`; the stream goes on at `resumed_at`, the
 *     oldest kept (whatever the filters: some of them may not have been for this stream). Also sent where the
 *     deleted stretch was when retention overtakes a replay that is still going on. The frame has no SSE `id`:
 *     the cursor stays, the next event moves it.
 *   - `cursor_ahead`: `after` is beyond `head`, the newest event of the log: its database was reset or
 *     replaced. The stream goes on with the events after `head`, and the cursor moves back to `head` (the frame's
 *     SSE `id` is `head`, 0 for an empty log, so a browser's `EventSource` resumes there too).
 *   - `log_replaced`: the cursor is a seq of another log than the server's (the log id sent back is not its
 *     `log_id`): its database was reset or replaced, whether or not its log has passed `after`. As `cursor_ahead`:
 *     the stream goes on after `head`, where the cursor moves, and `log_id` is the log's id from then on.
 * `log_id` is the server's log (absent from a server of a version before log ids).
 *
 * @example
 * const onGap = (gap: StreamGap) => {
 *   if (gap.reason === 'pruned') console.warn(`${gap.missed} events after #${gap.after} were deleted before they could be read`);
 * };
 */
export type StreamGap =
  | { type: 'switchboard.gap'; reason: 'pruned'; after: number; resumed_at: number; missed: number; log_id?: string }
  | { type: 'switchboard.gap'; reason: 'cursor_ahead' | 'log_replaced'; after: number; head: number; log_id?: string };

/**
 * Where to connect and what to follow, for `streamEvents` and `subscribe`.
 *
 * @example
 * const options: StreamOptions = { baseUrl: 'http://127.0.0.1:8787', apiKey: 'sbk_…', types: ['call.ended'], since: 0 };
 */
export interface StreamOptions {
  baseUrl: string;
  /** An API key (`sbk_…`, `read` scope is enough); omitted, the same-origin session cookie is sent (the dashboard). */
  apiKey?: string;
  /** Only these envelope types, e.g. `['call.started', 'call.ended']`. */
  types?: readonly string[];
  widgetKey?: string;
  sourceId?: string;
  /** Start after this seq (0: from the beginning of the log). Omitted: only events from now on. */
  since?: number;
  /**
   * The log `since` is a seq of (`log_…`: the `logId` a subscription had, kept with its cursor), sent with it: a
   * server whose log is another (a database reset or replaced) says so with a `log_replaced` gap instead of going on
   * after `since` in its own log. Omitted: the server's log is taken as the one `since` is of, and learnt from its
   * answer (`Switchboard-Log-Id`) for the reconnections.
   */
  logId?: string;
  /** Stops the stream (the iterator ends; `subscribe`'s `done` resolves). */
  signal?: AbortSignal;
  fetch?: FetchLike;
  /** Told of each disconnection that will be retried, with the wait before the next attempt. */
  onError?: (error: SwitchboardApiError, info: { fatal: boolean; attempt: number; retryInMs: number }) => void;
  /**
   * Told when a connection is established (the first, and each reconnection), with the cursor it resumes after and
   * the log that cursor is of (null while none is known).
   */
  onConnect?: (info: { lastEventId: number | null; logId: string | null }) => void;
  /**
   * Told when the stream cannot go on right after the last event seen (see `StreamGap`): events deleted by
   * retention (`pruned`), a server whose log ends before that event (`cursor_ahead`: its database was reset), or
   * whose log is not the one that event was of (`log_replaced`); for these two the last seen id moves back to the
   * new log's head, so its new events, numbered from 1 again, are delivered.
   * Awaited before the next event; a throw stops the stream with it.
   */
  onGap?: (gap: StreamGap) => void | Promise<void>;
  /** Reconnect waits: `baseMs` doubling up to `maxMs`, with jitter. Default 500 ms to 30 s. */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Reconnect when the server sent nothing (not even its 15 s heartbeat) for this long, answer included.
   * Default 45 s; at most 2^31-1 ms (24.8 days, what a timer holds), so `Infinity` means that.
   */
  idleTimeoutMs?: number;
}

const defaultBackoff = { baseMs: 500, maxMs: 30_000 };

/**
 * A 4xx other than 408 and 429 will be the same on every attempt (a bad key, a key without the scope, a bad
 * filter), so the stream stops instead of retrying forever.
 */
function isFatal(error: SwitchboardApiError): boolean {
  return (error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) || error.code === 'invalid_stream_data';
}

/**
 * `GET /v1/stream` as an async iterator of events that survives disconnections: it keeps the last seq it
 * yielded and reconnects with backoff sending it as `Last-Event-ID`, with the id of the log it is of (`log_id`,
 * from the server's `Switchboard-Log-Id`), and the server replays from its durable log after it, so no event is
 * missed or repeated (one already seen is also skipped here), or says its log is another one. Uses
 * `fetch`, not `EventSource`, to send the key as an `Authorization` header. Throws a
 * `SwitchboardApiError` when retrying cannot help (401, 403, 400). Ends when `signal` aborts or the loop
 * breaks.
 *
 * @example
 * import { streamEvents } from 'switchboard/sdk';
 * const controller = new AbortController();
 * for await (const event of streamEvents({ baseUrl, apiKey, types: ['call.ended'], since: 0, signal: controller.signal })) {
 *   console.log(event.seq, event.envelope.call_id, event.envelope.call?.status);
 * }
 */
export async function* streamEvents(options: StreamOptions): AsyncGenerator<StreamEvent, void, undefined> {
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const { signal } = options;
  const query = { types: options.types, widget_key: options.widgetKey, source_id: options.sourceId };
  let last: number | null = options.since ?? null;
  /** The log `last` is a seq of; null: not known yet (then the server's is taken as it). */
  let logId: string | null = options.logId ?? null;
  // The server's `retry:` hint is for EventSource; this backoff (with jitter, growing) is used instead.
  let attempt = 0;
  while (!signal?.aborted) {
    // One controller per connection: aborted by the caller's signal, by the idle timer, or at cleanup.
    const connection = new AbortController();
    const stop = () => connection.abort();
    signal?.addEventListener('abort', stop, { once: true });
    let failure: SwitchboardApiError;
    let minDelayMs = 0;
    let idle = false;
    const idleMs = Math.min(options.idleTimeoutMs ?? 45_000, maxTimerMs);
    const onIdle = () => {
      idle = true;
      stop();
    };
    // A server that accepts the connection and never answers is as silent as one that stops mid-stream.
    let answerTimer: ReturnType<typeof setTimeout> | undefined = setTimeout(onIdle, idleMs);
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeader(options.apiKey) };
      if (last !== null) headers['last-event-id'] = String(last);
      const url = buildUrl(options.baseUrl, '/v1/stream', { ...query, log_id: last === null ? null : logId });
      const response = await fetchImpl(url, { headers, signal: connection.signal, ...credentialsFor(options.apiKey) });
      if (!response.ok || !response.body) {
        // Its status is known even when the body never ends: the timer cuts the body short, not the answer.
        failure = await apiErrorOf(response);
        minDelayMs = (failure.retryAfter ?? 0) * 1000;
      } else {
        clearTimeout(answerTimer);
        answerTimer = undefined;
        // Without a cursor, or one of no known log, the server's log is the one from now on. A cursor of another log
        // keeps its own until the server's log_replaced gap (its first frame) moves it: a connection lost before
        // that frame must send the old log again, not resume after a seq of a log it never read.
        const told = response.headers.get('switchboard-log-id');
        if (told !== null && (last === null || logId === null)) logId = told;
        options.onConnect?.({ lastEventId: last, logId });
        // The backoff starts over once the connection proves useful (an event, or a heartbeat: it lived
        // 15 s), not merely on a 200: a server or proxy that accepts and closes at once is backed off from.
        const healthy = () => void (attempt = 0);
        for await (const message of sseMessages(response.body, { idleMs, abort: onIdle, onComment: healthy })) {
          healthy();
          // With or without an id (a cursor_ahead one carries the head): a gap, never an event to dedupe.
          if (message.event === 'switchboard.gap') {
            const gap = gapOf(message.data);
            if (!gap) continue;
            try {
              await options.onGap?.(gap);
            } catch (error) {
              throw new HandlerFailed(error);
            }
            // The server goes on after its head: ids at or below the one seen before are the new log's events.
            if (gap.reason !== 'pruned') {
              last = gap.head;
              logId = gap.log_id ?? logId;
            }
            continue;
          }
          const seq = Number(message.id);
          if (!Number.isSafeInteger(seq) || (last !== null && seq <= last)) continue;
          const envelope = parseEnvelope(message.data, seq);
          last = seq;
          yield { seq, type: message.event ?? envelope.type, envelope, json: message.data };
        }
        failure = new SwitchboardApiError({ status: 0, code: 'stream_closed', message: 'Switchboard closed the stream' });
      }
    } catch (error) {
      if (error instanceof HandlerFailed) throw error.cause;
      if (signal?.aborted) return;
      if (idle) failure = new SwitchboardApiError({ status: 0, code: 'stream_idle', message: `Switchboard sent nothing for ${idleMs / 1000} s` });
      else failure = error instanceof SwitchboardApiError ? error : connectionError(options.baseUrl, error);
    } finally {
      clearTimeout(answerTimer);
      signal?.removeEventListener('abort', stop);
      connection.abort();
    }
    // Stopped while the consumer held an event: whatever the connection did next is no failure.
    if (signal?.aborted) return;
    if (isFatal(failure)) {
      options.onError?.(failure, { fatal: true, attempt, retryInMs: 0 });
      throw failure;
    }
    // What `sleep` can wait (24.8 days), so that the wait said is the wait made.
    const retryInMs = Math.min(Math.max(minDelayMs, backoffMs(attempt, options.backoff ?? defaultBackoff)), maxTimerMs);
    attempt += 1;
    options.onError?.(failure, { fatal: false, attempt, retryInMs });
    await sleep(retryInMs, signal);
  }
}

/** A throw of the caller's own handler (`onGap`): it ends the stream as it is, never taken for a lost connection. */
class HandlerFailed {
  constructor(readonly cause: unknown) {}
}

/** A gap frame's data; null for one this SDK does not know (a newer server's reason), which is skipped. */
function gapOf(data: string): StreamGap | null {
  let gap: Partial<Record<keyof StreamGap | 'resumed_at' | 'missed' | 'head' | 'log_id', unknown>>;
  try {
    gap = JSON.parse(data) as typeof gap;
  } catch {
    return null;
  }
  if (gap === null || typeof gap !== 'object' || gap.type !== 'switchboard.gap' || !Number.isSafeInteger(gap.after)) return null;
  if (gap.log_id !== undefined && typeof gap.log_id !== 'string') return null;
  if (gap.reason === 'pruned' && Number.isSafeInteger(gap.resumed_at) && Number.isSafeInteger(gap.missed)) return gap as StreamGap;
  if ((gap.reason === 'cursor_ahead' || gap.reason === 'log_replaced') && Number.isSafeInteger(gap.head)) return gap as StreamGap;
  return null;
}

function parseEnvelope(data: string, seq: number): SwitchboardEvent {
  try {
    // Not validated field by field: it comes from the server over an authenticated connection.
    const envelope = JSON.parse(data) as SwitchboardEvent;
    if (envelope !== null && typeof envelope === 'object' && typeof envelope.type === 'string') return envelope;
  } catch {
    // reported below
  }
  // Reconnecting would replay the same bytes: a stop with the reason is the only useful answer.
  throw new SwitchboardApiError({ status: 0, code: 'invalid_stream_data', message: `event ${seq} of the stream is not an envelope` });
}

/**
 * @example
 * const options: SubscribeOptions = { baseUrl, apiKey, onEvent: ({ seq, type }) => console.log(seq, type) };
 */
export interface SubscribeOptions extends StreamOptions {
  /**
   * Called for each event, one at a time: the next waits until the promise it returns settles, and
   * `lastEventId` moves past an event only then. A throw stops the subscription (`done` rejects with it).
   */
  onEvent: (event: StreamEvent) => void | Promise<void>;
}

/**
 * A running `subscribe()`.
 *
 * @example
 * const subscription = subscribe({ baseUrl, apiKey, onEvent });
 * setTimeout(() => subscription.close(), 60_000);
 * await subscription.done;
 * // Kept together, passed back as `since` and `logId` to resume: a server on another database then says so.
 * saveCursor({ since: subscription.lastEventId, logId: subscription.logId });
 */
export interface Subscription {
  /**
   * The seq of the last event `onEvent` finished with (or `since`); null before any. A `cursor_ahead` or
   * `log_replaced` gap moves it back to the new log's head once `onGap` finished with it.
   */
  readonly lastEventId: number | null;
  /**
   * The log `lastEventId` is a seq of (`log_…`, or the `logId` given; null until the server named it): keep it
   * with `lastEventId` and pass both back (`since`, `logId`) to resume, so that a server on another database says so.
   */
  readonly logId: string | null;
  /** Stops following the stream; `done` resolves. */
  close(): void;
  /**
   * Resolves once stopped by `close()` or the signal; rejects when it cannot go on (401, 403, a throw in
   * `onEvent` or `onGap`). When `onError` is given it also hears of that, and an unobserved `done` is not an unhandled rejection.
   */
  done: Promise<void>;
}

/**
 * Follows the stream with a callback per event, reconnecting with backoff and resuming after the last
 * event handled (see `streamEvents`).
 *
 * @example
 * import { subscribe } from 'switchboard/sdk';
 * const subscription = subscribe({
 *   baseUrl: 'http://127.0.0.1:8787',
 *   apiKey: process.env.SWITCHBOARD_API_KEY!,
 *   types: ['call.started', 'call.ended'],
 *   onEvent: async ({ seq, envelope }) => console.log(seq, envelope.type, envelope.call_id),
 *   onError: (error, { retryInMs }) => console.warn(`${error.message}; reconnecting in ${retryInMs} ms`),
 * });
 * process.once('SIGINT', () => subscription.close());
 * await subscription.done;
 */
export function subscribe(options: SubscribeOptions): Subscription {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (options.signal?.aborted) controller.abort();
  else options.signal?.addEventListener('abort', abort, { once: true });
  let lastEventId = options.since ?? null;
  let logId = options.logId ?? null;
  const done = (async () => {
    try {
      const onGap = async (gap: StreamGap) => {
        try {
          await options.onGap?.(gap);
        } catch (error) {
          options.onError?.(asApiError(error, 'onGap'), { fatal: true, attempt: 0, retryInMs: 0 });
          throw error;
        }
        if (gap.reason !== 'pruned') {
          lastEventId = gap.head;
          logId = gap.log_id ?? logId;
        }
      };
      // The log streamEvents takes its cursor to be of, as it told it (it learns it from the server's answer when it
      // had none): its rule, not a second copy of it here.
      const onConnect = (info: { lastEventId: number | null; logId: string | null }) => {
        logId = info.logId;
        options.onConnect?.(info);
      };
      for await (const event of streamEvents({ ...options, onGap, onConnect, signal: controller.signal })) {
        try {
          await options.onEvent(event);
        } catch (error) {
          options.onError?.(asApiError(error, 'onEvent'), { fatal: true, attempt: 0, retryInMs: 0 });
          throw error;
        }
        lastEventId = event.seq;
      }
    } finally {
      // A caller's long-lived signal (one for many subscriptions) keeps nothing of a subscription that ended.
      options.signal?.removeEventListener('abort', abort);
    }
  })();
  if (options.onError) done.catch(() => {});
  return {
    get lastEventId() {
      return lastEventId;
    },
    get logId() {
      return logId;
    },
    close: () => controller.abort(),
    done,
  };
}

function asApiError(error: unknown, handler: 'onEvent' | 'onGap'): SwitchboardApiError {
  if (error instanceof SwitchboardApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SwitchboardApiError({ status: 0, code: 'handler_failed', message: `${handler} failed: ${message}`, cause: error });
}
