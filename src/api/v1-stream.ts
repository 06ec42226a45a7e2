import { Type, type Static } from '@sinclair/typebox';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { presentedKey, requireScope, streamOwner, streamQuota } from './auth.js';
import { AppError } from '../domain/errors.js';
import { logIdPattern } from '../domain/ids.js';
import type { StreamFilter, StreamHub } from '../relay/hub.js';
import { endStream, firstOf, sseComment, writeBounded } from '../relay/sse.js';
import type { StreamKeys } from '../relay/stream-keys.js';
import type { ApiKey } from '../storage/ports.js';
import { Media } from '../domain/contract/ops.js';
import { answers, readErrors, serializeWithJsonStringify } from './responses.js';

const StreamQuery = Type.Object({
  /** Comma-separated envelope types. */
  types: Type.Optional(Type.String({ maxLength: 2048 })),
  widget_key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  source_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  since: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  /** The log the resuming cursor is a seq of (the `Switchboard-Log-Id` the client was answered): another log's is told. */
  log_id: Type.Optional(Type.String({ pattern: logIdPattern })),
  access_token: Type.Optional(Type.String({ maxLength: 128 })),
});
// EventSource sends back the last id it saw, which is always one of our seqs; an empty one means none.
const StreamHeaders = Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{0,15}$' })) });

const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  // no-transform: a compressing proxy would hold events back to fill its blocks.
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx buffers proxied responses unless told not to.
  'x-accel-buffering': 'no',
};
/** The first line tells EventSource how long to wait before reconnecting, and shows the stream is open. */
const opening = 'retry: 2000\n\n';
/** How long a revoked key's stream may take to receive the end of what was written to it. */
const endGraceMs = 1000;
const streamsFullRetrySec = 30;
const streamAnswer = Media(
  'text/event-stream',
  'Server-Sent Events: `id: <seq>`, `event: <type>`, `data: <the relay envelope as JSON>`; a comment heartbeat between them. '
    + 'A resuming stream whose cursor the log cannot continue right after (events deleted by retention, a cursor beyond the log\'s end, or `log_id` another log\'s) '
    + 'gets an `event: switchboard.gap` frame first: `data: {"type":"switchboard.gap","reason":"pruned"|"cursor_ahead"|"log_replaced",…,"log_id":"log_…"}`, without `id` when pruned, with `id: <head>` otherwise (docs/api.md). '
    + 'The answer\'s `Switchboard-Log-Id` header names the log the seqs are of.',
);

export interface StreamRouteOptions {
  hub: StreamHub;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  heartbeatSec: number;
  maxBufferBytes: number;
  /** Streams per key, and the end of a revoked key's streams (relay/stream-keys.ts). */
  streamKeys: StreamKeys;
}

/**
 * `GET /v1/stream` (SPEC "Real time"): Server-Sent Events with the relay envelope, `id:` being the log seq.
 * Any active API key may read it (`read` scope), from the Authorization header or, because a browser's
 * EventSource cannot set headers, from `access_token` in the query (redacted in logs), or the dashboard's
 * session cookie from its own origin (api/session-auth.ts).
 *
 * @example
 * // curl -N -H "authorization: Bearer $KEY" 'http://127.0.0.1:8787/v1/stream?types=call.ended'
 * void app.register(streamRoutes, { hub, resolveKey, heartbeatSec: 15, maxBufferBytes: 1 << 20 });
 */
export async function streamRoutes(app: FastifyInstance, options: StreamRouteOptions): Promise<void> {
  const { hub, heartbeatSec, maxBufferBytes } = options;

  // onRequest runs before validation: a request without a valid key gets 401 whatever else is wrong with it.
  app.addHook('onRequest', requireScope('read', options.resolveKey, presentedKey));
  serializeWithJsonStringify(app);

  app.get<{ Querystring: Static<typeof StreamQuery>; Headers: Static<typeof StreamHeaders> }>(
    '/v1/stream',
    // No HEAD route: it would hold a connection open with nothing to send.
    { schema: { querystring: StreamQuery, headers: StreamHeaders, response: answers({ 200: streamAnswer }, ...readErrors) }, exposeHeadRoute: false },
    async (request, reply) => {
      const lastEventId = request.headers['last-event-id'];
      // Last-Event-ID wins: it is where a reconnecting EventSource really is, while `since` stays in its URL.
      const after = lastEventId ? Number(lastEventId) : (request.query.since ?? null);
      const filter = filterOf(request.query);
      const res = reply.raw;
      // A request pipelined behind another on its connection is answered once that one has been (behind a stream:
      // never). It waits for its turn before it counts as a stream or subscribes: an answer that never had the
      // socket never says it closed, and would have held its key's slot, the client count and the shutdown.
      if (!(await hasItsTurn(res, request.raw.socket))) return reply.hijack();
      // Known once the hub has started (at once, but for a request that came in while the server was starting).
      const logId = await hub.logId();
      // Ended the SSE way when the key is revoked: the response closes, and the reconnection gets 401.
      const registered = options.streamKeys.open(streamOwner(request.principal!), () => void endStream(res, endGraceMs), streamQuota(request.principal!));
      if (!registered) {
        // A slot frees only when one of the key's streams closes, at no moment we can tell: a polite pace.
        throw new AppError('streams_full', { retry_after_sec: streamsFullRetrySec });
      }
      // The connection timeout (idle socket) is for requests and responses that stall; a stream is idle
      // by nature between events, and its heartbeat, buffer bound and the hub's stall check (SWITCHBOARD_STREAM_STALL_SEC)
      // deal with a reader that went away or stopped reading.
      request.raw.socket.setTimeout(0);

      reply.hijack();
      // Headers set by hooks before the hijack (CORS) are not sent by Fastify any more: pass them along.
      res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...sseHeaders, ...(logId === null ? {} : { 'switchboard-log-id': logId }) });
      res.write(opening);
      // Only on a stream with nothing waiting to leave: frames on their way are the traffic, and the bound judged
      // then would drop a client in the middle of one event larger than it (a replay waits for it to drain).
      const heartbeat = setInterval(() => res.writableLength === 0 && writeBounded(res, sseComment('heartbeat'), maxBufferBytes), heartbeatSec * 1000);
      try {
        await hub.subscribe({ out: res, after, logId: request.query.log_id, filter, maxBufferBytes });
      } finally {
        clearInterval(heartbeat);
        registered.close();
        if (!res.destroyed && !res.writableEnded) res.end();
      }
    },
  );
}

/** True once `res` has its connection's socket (the answers before it on the connection are done); false if the connection closes first. */
function hasItsTurn(res: ServerResponse, connection: Socket): Promise<boolean> {
  if (res.socket) return Promise.resolve(true);
  if (connection.destroyed) return Promise.resolve(false);
  return firstOf([res, 'socket'], [connection, 'close']);
}

function filterOf(query: Static<typeof StreamQuery>): StreamFilter {
  const types = query.types?.split(',').map((t) => t.trim()).filter((t) => t !== '');
  return {
    types: types && types.length > 0 ? new Set(types) : undefined,
    widgetKey: query.widget_key,
    sourceId: query.source_id,
  };
}
