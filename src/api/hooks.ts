import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Ingest } from '../ingest/service.js';
import type { Source } from '../storage/ports.js';
import { IngestAck } from '../domain/contract/events.js';
import { sendError } from './errors.js';
import { answers, serializeWithJsonStringify } from './responses.js';

export interface HooksOptions {
  ingest: Ingest;
  resolveSource: (token: string) => Promise<Source | null>;
  /** What resolveSource would answer from its cache, or undefined when it must look the token up. */
  cachedSource: (token: string) => Source | null | undefined;
  /** 0 when the source may send now, else the milliseconds until it may (api/rate-limits.ts). */
  limitSource: (sourceId: string) => number;
  bodyLimitBytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    source?: Source;
    /** The content type the sender claimed, kept as sent. */
    claimedContentType?: string;
  }
  interface FastifyContextConfig {
    /** false: @fastify/cors adds no headers to this route's answers (it reads the flag; its types do not declare it). */
    cors?: false;
  }
}

/** The ingest route, as Fastify names it (`request.routeOptions.url`). */
export const ingestPath = '/hooks/convolo/:token';

/**
 * `POST /hooks/convolo/{token}`: the URL Convolo posts to. The body is taken as raw bytes whatever its
 * content type, so it can be hashed and kept verbatim before anything is parsed.
 */
export async function hooksRoutes(app: FastifyInstance, options: HooksOptions): Promise<void> {
  serializeWithJsonStringify(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimitBytes }, (_request, body, done) => done(null, body));

  app.setErrorHandler(async (error: Error & { code?: string }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && request.source) {
      const declared = Number(request.headers['content-length']);
      const answer = await options.ingest
        .receiveTooLarge(request.source.id, Number.isFinite(declared) ? declared : 0, request.claimedContentType)
        .catch((storeError: unknown) => storeError as Error);
      if (answer instanceof Error) return sendError(request, reply, answer);
      return reply.code(answer.status).send(answer.body);
    }
    return sendError(request, reply, error);
  });

  app.post<{ Params: { token: string } }>(ingestPath, {
    // Sources have their own limit (below); @fastify/rate-limit's hook let this route through by its allowList
    // after awaiting its key and the list on every request: it is not attached at all.
    // CORS is for browsers calling the API from another origin; Convolo's servers post here (no hook runs
    // for it but @fastify/cors's own check of this flag).
    config: { rateLimit: false, cors: false },
    schema: {
      description: 'Any other method on this URL answers 405 `method_not_allowed` with `Allow: POST`.',
      response: answers(
        { 200: { ...IngestAck, description: 'A known type (start_call, end_call), committed.' }, 202: { ...IngestAck, description: 'An unknown type, committed and relayed as convolo.<type>.' } },
        404, 413, 422, 429,
      ),
    },
    // The token is checked before the body is read: an unknown token costs no body parsing. A callback hook:
    // a token resolved recently (nearly every request) is answered from the cache with no promise.
    onRequest: (request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const admit = (source: Source | null) => {
        // Answering early, a callback hook sends and does not call done.
        if (!source) return void sendError(request, reply, new AppError('unknown_source'));
        const waitMs = options.limitSource(source.id);
        if (waitMs > 0) return void sendError(request, reply, new AppError('rate_limited', { retry_after_sec: Math.ceil(waitMs / 1000) }));
        request.source = source;
        // Fastify refuses media types it cannot parse (415) before any parser runs; the claimed type is only
        // information here, so keep it aside and let every body through as bytes.
        request.claimedContentType = request.headers['content-type'];
        request.headers['content-type'] = 'application/octet-stream';
        done();
      };
      const cached = options.cachedSource(request.params.token);
      if (cached !== undefined) return admit(cached);
      options.resolveSource(request.params.token).then(admit, done);
    },
    handler: async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const answer = await options.ingest.receive({ sourceId: request.source!.id, raw, contentType: request.claimedContentType });
      return reply.code(answer.status).send(answer.body);
    },
  });

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: ingestPath,
    // Not an operation of its own in /openapi.json (the POST's description names it): five entries that
    // only answer 405 stood at the top of /docs.
    schema: { hide: true, response: answers({}, 405) },
    handler: async (request, reply) => {
      void reply.header('allow', 'POST');
      return sendError(request, reply, new AppError('method_not_allowed'));
    },
  });
}
