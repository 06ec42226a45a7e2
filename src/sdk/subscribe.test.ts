import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SwitchboardApiError, type FetchLike } from './http.js';
import { streamEvents, subscribe, type StreamEvent, type StreamOptions } from './subscribe.js';

/** A fake server: each connection answers with the next scripted response; records the headers it got. */
function scripted(answers: Array<() => Response>) {
  const requests: Array<{ url: string; lastEventId: string | null; authorization: string | null }> = [];
  const fetch: FetchLike = async (url, init) => {
    const headers = new Headers(init?.headers);
    requests.push({ url, lastEventId: headers.get('last-event-id'), authorization: headers.get('authorization') });
    const next = answers.shift();
    if (!next) {
      // No more answers: a connection that stays open until aborted.
      return new Response(new ReadableStream({ start: (c) => init?.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError'))) }));
    }
    return next();
  };
  return { fetch, requests };
}

const frame = (seq: number, type = 'call.ended') => `id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify({ id: `evt_${seq}`, type, call_id: `c${seq}`, data: {}, call: null })}\n\n`;
const sse = (text: string) => () => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });
const refused = () => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }));
const fast = { baseMs: 1, maxMs: 2 };

describe('streamEvents', () => {
  it('reconnects after a dropped connection with Last-Event-ID, skipping what it already yielded', async () => {
    const server = scripted([
      sse(`retry: 2000\n\n${frame(1)}${frame(2)}`),
      () => { throw new TypeError('fetch failed'); },
      // A replay that overlaps what was seen: 2 must not come twice.
      sse(`${frame(2)}${frame(3)}`),
    ]);
    const controller = new AbortController();
    const errors: string[] = [];
    const seen: StreamEvent[] = [];
    for await (const event of streamEvents({ baseUrl: 'http://sb.test/', apiKey: 'sbk_x', types: ['call.ended', 'call.started'], signal: controller.signal, fetch: server.fetch, backoff: fast, onError: (e) => errors.push(e.code) })) {
      seen.push(event);
      if (event.seq === 3) controller.abort();
    }
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(seen[0]!.envelope.call_id).toBe('c1');
    expect(JSON.parse(seen[0]!.json).id).toBe('evt_1');
    expect(server.requests.map((r) => r.lastEventId)).toEqual([null, '2', '2']);
    expect(server.requests[0]!.url).toBe('http://sb.test/v1/stream?types=call.ended%2Ccall.started');
    expect(server.requests[0]!.authorization).toBe('Bearer sbk_x');
    expect(errors).toEqual(['stream_closed', 'connection_failed']);
  });

  it('starts after `since` and retries 503 and refused connections', async () => {
    const server = scripted([
      () => new Response('{"error":"overloaded","message":"busy"}', { status: 503 }),
      refused as never,
      sse(frame(8)),
    ]);
    const controller = new AbortController();
    const seqs: number[] = [];
    for await (const event of streamEvents({ baseUrl: 'http://sb.test', apiKey: 'k', since: 7, signal: controller.signal, fetch: server.fetch, backoff: fast })) {
      seqs.push(event.seq);
      controller.abort();
    }
    expect(seqs).toEqual([8]);
    expect(server.requests.map((r) => r.lastEventId)).toEqual(['7', '7', '7']);
  });

  it('stops with the server\'s error on 401 instead of retrying', async () => {
    const server = scripted([() => new Response('{"error":"unauthorized","message":"A valid API key is required"}', { status: 401 })]);
    const run = async () => {
      for await (const _ of streamEvents({ baseUrl: 'http://sb.test', apiKey: 'bad', fetch: server.fetch, backoff: fast })) void _;
    };
    await expect(run()).rejects.toMatchObject({ name: 'SwitchboardApiError', status: 401, code: 'unauthorized' });
    expect(server.requests).toHaveLength(1);
  });

  it('reconnects when the server goes silent for longer than idleTimeoutMs', async () => {
    // The first connection brings event 1 then stays open and silent; the second brings event 2.
    const answers = [() => Promise.resolve(sse(frame(2))())];
    const opened: Array<string | null> = [];
    const fetch: FetchLike = async (url, init) => {
      opened.push(new Headers(init?.headers).get('last-event-id'));
      if (opened.length === 1) {
        const body = new ReadableStream<Uint8Array>({
          start: (c) => {
            c.enqueue(new TextEncoder().encode(frame(1)));
            init?.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
          },
        });
        return new Response(body);
      }
      return answers[0]!();
    };
    const controller = new AbortController();
    const seqs: number[] = [];
    const errors: string[] = [];
    for await (const event of streamEvents({ baseUrl: 'http://sb.test', apiKey: 'k', signal: controller.signal, fetch, backoff: fast, idleTimeoutMs: 50, onError: (e) => errors.push(e.code) })) {
      seqs.push(event.seq);
      if (seqs.length === 2) controller.abort();
    }
    expect(seqs).toEqual([1, 2]);
    expect(opened).toEqual([null, '1']);
    expect(errors).toEqual(['stream_idle']);
  });
});

describe('subscribe', () => {
  it('calls onEvent one event at a time and moves lastEventId only after it settles', async () => {
    const server = scripted([sse(`${frame(4)}${frame(5)}`)]);
    const order: string[] = [];
    let sub!: ReturnType<typeof subscribe>;
    sub = subscribe({
      baseUrl: 'http://sb.test', apiKey: 'k', fetch: server.fetch, backoff: fast,
      onEvent: async ({ seq }) => {
        order.push(`start ${seq} (last ${sub.lastEventId})`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(`end ${seq}`);
        if (seq === 5) setImmediate(() => sub.close());
      },
    });
    await sub.done;
    expect(order).toEqual(['start 4 (last null)', 'end 4', 'start 5 (last 4)', 'end 5']);
    expect(sub.lastEventId).toBe(5);
  });

  it('rejects done when onEvent throws, and does not count that event as handled', async () => {
    const server = scripted([sse(`${frame(1)}${frame(2)}`)]);
    const fatal: string[] = [];
    const sub = subscribe({
      baseUrl: 'http://sb.test', apiKey: 'k', fetch: server.fetch,
      onEvent: ({ seq }) => { if (seq === 2) throw new Error('boom'); },
      onError: (error, info) => { if (info.fatal) fatal.push(error.code); },
    });
    await expect(sub.done).rejects.toThrow('boom');
    expect(sub.lastEventId).toBe(1);
    expect(fatal).toEqual(['handler_failed']);
  });

  it('hands gap frames to onGap in order, moves lastEventId back to the head on cursor_ahead, and stops on a throw there', async () => {
    const gap = (fields: object) => `event: switchboard.gap\ndata: ${JSON.stringify({ type: 'switchboard.gap', ...fields })}\n\n`;
    const server = scripted([
      sse(`${gap({ reason: 'pruned', after: 10, resumed_at: 15, missed: 4 })}${frame(15)}`),
      sse(`${gap({ reason: 'cursor_ahead', after: 15, head: 2 })}${gap({ reason: 'a_newer_one', after: 2 })}${frame(3)}`),
      sse(gap({ reason: 'cursor_ahead', after: 3, head: 0 })),
    ]);
    const seen: string[] = [];
    const fatal: string[] = [];
    const sub = subscribe({
      baseUrl: 'http://sb.test', apiKey: 'k', fetch: server.fetch, backoff: fast, since: 10,
      onEvent: ({ seq }) => void seen.push(`event ${seq} (last ${sub.lastEventId})`),
      onGap: (g) => {
        seen.push(`${g.reason} after ${g.after} (last ${sub.lastEventId})`);
        if (g.reason === 'cursor_ahead' && g.head === 0) throw new Error('not this server');
      },
      onError: (error, info) => { if (info.fatal) fatal.push(error.message); },
    });
    await expect(sub.done).rejects.toThrow('not this server');
    expect(seen).toEqual(['pruned after 10 (last 10)', 'event 15 (last 10)', 'cursor_ahead after 15 (last 15)', 'event 3 (last 2)', 'cursor_ahead after 3 (last 3)']);
    expect(server.requests.map((r) => r.lastEventId)).toEqual(['10', '15', '3']);
    expect(sub.lastEventId).toBe(3);
    expect(fatal).toEqual(['onGap failed: not this server']);
  });

  it('takes a gap frame that carries an id (cursor_ahead: id <head>) as the gap, not as an event already seen', async () => {
    const gap = (id: number, fields: object) => `id: ${id}\nevent: switchboard.gap\ndata: ${JSON.stringify({ type: 'switchboard.gap', ...fields })}\n\n`;
    const server = scripted([
      sse(`${gap(2, { reason: 'cursor_ahead', after: 15, head: 2 })}${gap(9, { reason: 'a_newer_one', after: 2 })}${frame(3)}`),
      sse(`${gap(0, { reason: 'cursor_ahead', after: 3, head: 0 })}${frame(1)}`),
    ]);
    const seen: string[] = [];
    const sub = subscribe({
      baseUrl: 'http://sb.test', apiKey: 'k', fetch: server.fetch, backoff: fast, since: 15,
      onEvent: ({ seq }) => {
        seen.push(`event ${seq} (last ${sub.lastEventId})`);
        if (seq === 1) sub.close();
      },
      onGap: (g) => void seen.push(`${g.reason} after ${g.after} (last ${sub.lastEventId})`),
    });
    await sub.done;
    expect(seen).toEqual(['cursor_ahead after 15 (last 15)', 'event 3 (last 2)', 'cursor_ahead after 3 (last 3)', 'event 1 (last 0)']);
    expect(server.requests.map((r) => r.lastEventId)).toEqual(['15', '3']);
  });

  it('sends back the log id the server named; keeps a cursor\'s own log until the log_replaced gap moves it, even across a connection lost before it', async () => {
    const logA = 'log_00000000aAAAAAAAAAAAA';
    const logB = 'log_00000000bBBBBBBBBBBBB';
    const named = (logId: string, text: string) => () => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream', 'switchboard-log-id': logId } });
    const server = scripted([
      // Live from now: the log the server names is the cursor's from the first event on.
      named(logA, frame(1) + frame(2)),
      // Another database: a connection lost before its first frame (the gap) must not take its id for the cursor's.
      named(logB, ''),
      named(logB, `id: 5
event: switchboard.gap
data: ${JSON.stringify({ type: 'switchboard.gap', reason: 'log_replaced', after: 2, head: 5, log_id: logB })}

${frame(6)}`),
      named(logB, frame(7)),
    ]);
    const seen: string[] = [];
    const connects: Array<[number | null, string | null]> = [];
    const sub = subscribe({
      baseUrl: 'http://sb.test', apiKey: 'k', fetch: server.fetch, backoff: fast,
      onConnect: ({ lastEventId, logId }) => void connects.push([lastEventId, logId]),
      onEvent: ({ seq }) => {
        seen.push(`event ${seq} (${sub.lastEventId} of ${sub.logId})`);
        if (seq === 7) sub.close();
      },
      onGap: (g) => void seen.push(`${g.reason} after ${g.after}, head ${'head' in g ? g.head : '-'} of ${g.log_id} (${sub.lastEventId} of ${sub.logId})`),
      onError: () => {},
    });
    await sub.done;
    expect(seen).toEqual([
      `event 1 (null of ${logA})`, `event 2 (1 of ${logA})`,
      `log_replaced after 2, head 5 of ${logB} (2 of ${logA})`,
      `event 6 (5 of ${logB})`, `event 7 (6 of ${logB})`,
    ]);
    expect([sub.lastEventId, sub.logId]).toEqual([7, logB]);
    expect(server.requests.map((r) => [r.lastEventId, new URL(r.url).searchParams.get('log_id')])).toEqual([[null, null], ['2', logA], ['2', logA], ['6', logB]]);
    expect(connects).toEqual([[null, logA], [2, logA], [2, logA], [6, logB]]);

    // Resumed with the pair kept: the first connection sends both.
    const again = scripted([named(logB, frame(8))]);
    const resumed = subscribe({ baseUrl: 'http://sb.test', apiKey: 'k', fetch: again.fetch, since: 7, logId: logB, onEvent: () => resumed.close() });
    await resumed.done;
    expect(again.requests.map((r) => [r.lastEventId, new URL(r.url).searchParams.get('log_id')])).toEqual([['7', logB]]);
    expect([resumed.lastEventId, resumed.logId]).toEqual([8, logB]);
  });

  it('leaves no listener on the caller\'s signal once a subscription has ended', async () => {
    // One signal for the life of an app, many subscriptions: each kept its listener (and its controller) before.
    const app = new AbortController();
    for (let i = 0; i < 20; i++) {
      const server = scripted([() => new Response('{"error":"forbidden","message":"no scope"}', { status: 403 })]);
      const sub = subscribe({ baseUrl: 'http://sb.test', apiKey: 'k', fetch: server.fetch, signal: app.signal, onEvent: () => {} });
      await sub.done.catch(() => {});
    }
    expect(getEventListeners(app.signal, 'abort')).toHaveLength(0);
  });

  it('exposes a 403 as a SwitchboardApiError on done', async () => {
    const server = scripted([() => new Response('{"error":"forbidden","message":"no scope"}', { status: 403 })]);
    const sub = subscribe({ baseUrl: 'http://sb.test', apiKey: 'k', fetch: server.fetch, onEvent: () => {} });
    const error = await sub.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchboardApiError);
    expect((error as SwitchboardApiError).code).toBe('forbidden');
  });
});

/** A real HTTP server on loopback; `answer` handles each request; counts the connections made to it. */
async function loopback(answer: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let requests = 0;
  const server = createServer((req, res) => answer(req, res, ++requests));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Follows the stream for `ms`, then aborts; what it saw and what onError heard. */
async function follow(options: Omit<StreamOptions, 'signal'>, ms: number) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const seqs: number[] = [];
  const errors: Array<{ code: string; retryInMs: number }> = [];
  try {
    for await (const event of streamEvents({ ...options, signal: controller.signal, onError: (e, info) => errors.push({ code: e.code, retryInMs: info.retryInMs }) })) seqs.push(event.seq);
  } finally {
    clearTimeout(timer);
  }
  return { seqs, errors };
}

describe('streamEvents against a real server on loopback', () => {
  it('waits out a Retry-After longer than a timer can hold instead of reconnecting after 1 ms', async () => {
    // 10^11 s: as milliseconds it is above 2^31-1, which Node's setTimeout runs after 1 ms.
    const server = await loopback((_req, res) => res.writeHead(503, { 'retry-after': '99999999999', 'content-type': 'application/json' }).end('{"error":"overloaded","message":"busy"}'));
    try {
      const { errors } = await follow({ baseUrl: server.url, apiKey: 'k' }, 400);
      expect(server.requests()).toBe(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.code).toBe('overloaded');
    } finally {
      await server.close();
    }
  });

  it('takes an idleTimeoutMs above 2^31-1 (Infinity: no idle limit) as the longest wait, not as 1 ms', async () => {
    const server = await loopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`retry: 2000\n\n${frame(1)}`); // then silent, as a quiet server between heartbeats
    });
    try {
      const { seqs, errors } = await follow({ baseUrl: server.url, apiKey: 'k', idleTimeoutMs: Infinity, backoff: fast }, 400);
      expect(seqs).toEqual([1]);
      expect(errors).toEqual([]);
      expect(server.requests()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('reconnects when the server never answers the request, or never finishes its error body, within idleTimeoutMs', async () => {
    const server = await loopback((_req, res, n) => {
      if (n === 1) return; // accepts the connection, never sends a status line
      if (n === 2) return void res.writeHead(503, { 'content-type': 'application/json' }).write('{"error":"overl'); // never ends
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`retry: 2000\n\n${frame(5)}`);
    });
    try {
      const { seqs, errors } = await follow({ baseUrl: server.url, apiKey: 'k', idleTimeoutMs: 150, backoff: fast }, 1200);
      // The second answered 503 and then stalled: its status stands, with no body to read a code from.
      expect(errors.slice(0, 2).map((e) => e.code)).toEqual(['stream_idle', 'http_503']);
      expect(seqs[0]).toBe(5);
      expect(server.requests()).toBeGreaterThanOrEqual(3);
    } finally {
      await server.close();
    }
  });

  it('keeps backing off from a server that accepts and closes at once, and starts over after an event or a heartbeat', async () => {
    const server = await loopback((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (n <= 3) return void res.end('retry: 2000\n\n'); // a proxy or a server that drops every stream at once
      if (n === 4) return void res.end(`retry: 2000\n\n${frame(1)}`);
      if (n === 5) return void res.end('retry: 2000\n\n: heartbeat\n\n');
      res.write('retry: 2000\n\n'); // then stays open
    });
    try {
      const { seqs, errors } = await follow({ baseUrl: server.url, apiKey: 'k', backoff: { baseMs: 40, maxMs: 10_000 } }, 1500);
      expect(seqs).toEqual([1]);
      expect(errors.map((e) => e.code)).toEqual(['stream_closed', 'stream_closed', 'stream_closed', 'stream_closed', 'stream_closed']);
      const waits = errors.map((e) => e.retryInMs);
      // Attempts 0, 1, 2 (within the upper half of 40, 80, 160 ms), then 0 after the event, 0 after the heartbeat.
      expect(waits[0]).toBeLessThanOrEqual(40);
      expect(waits[1]).toBeGreaterThanOrEqual(40);
      expect(waits[2]).toBeGreaterThanOrEqual(80);
      expect(waits[3]).toBeLessThanOrEqual(40);
      expect(waits[4]).toBeLessThanOrEqual(40);
      expect(server.requests()).toBe(6);
    } finally {
      await server.close();
    }
  });

  it('keeps growing its backoff past 2^31-1 ms without reconnecting at once', async () => {
    const server = await loopback((_req, res) => res.writeHead(502).end('bad gateway'));
    try {
      await follow({ baseUrl: server.url, apiKey: 'k', backoff: { baseMs: 2 ** 32, maxMs: 2 ** 40 } }, 400);
      expect(server.requests()).toBe(1);
    } finally {
      await server.close();
    }
  });
});
