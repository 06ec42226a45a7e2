import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Ingest } from '../ingest/service.js';
import type { Source } from '../storage/ports.js';
import { AppError } from '../domain/errors.js';
import { logFailure, toAppError } from './errors.js';
import { dataPolicy, everyAnswerHeaders } from './security-headers.js';

/** Takes a request the node:http server received; answers it and says true, or says false and leaves it alone. */
export type FrontHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

export interface IngestFrontOptions {
  ingest: Ingest;
  /** What the token resolves to from the cache, without a promise; undefined when it would be looked up. */
  cachedSource: (token: string) => Source | null | undefined;
  /** 0 when the source may send now (the same budget as the Fastify route's). */
  limitSource: (sourceId: string) => number;
  bodyLimitBytes: number;
  /**
   * True once the server is shutting down: the answer then closes its connection (server.ts's onSend does the
   * same). A request that arrives after that never reaches the front (server.ts sends it to Fastify).
   */
  isClosing: () => boolean;
  log: () => FastifyBaseLogger;
}

const prefix = '/hooks/convolo/';
const tokenShape = /^[A-Za-z0-9_-]+$/;

/**
 * The ingest's usual request, answered on node:http ahead of Fastify (issue 15: Fastify's request, reply,
 * hooks and body parser were ~10 % of the main thread's CPU per event, docs/benchmarks.md). It takes a
 * request only when its answer is the route's usual one: `POST /hooks/convolo/{token}` with no query, a token
 * the source cache knows as active and a declared length within the limit. Everything else (an unknown or
 * uncached token, a body over the limit or without a length, other methods, a shutdown) goes to the Fastify
 * route in api/hooks.ts, which stays the reference: this answers as it does, byte for byte
 * (test/ingest-front.test.ts sends both the same requests).
 *
 * A source over its rate limit is answered here (429), since the budget was taken.
 */
export function createIngestFront(options: IngestFrontOptions): FrontHandler {
  return (request, response) => {
    if (request.method !== 'POST' || !request.url?.startsWith(prefix)) return false;
    const token = request.url.slice(prefix.length);
    if (!tokenShape.test(token)) return false;
    const length = declaredLength(request);
    if (length === null || length === 0 || length > options.bodyLimitBytes) return false;
    const source = options.cachedSource(token);
    if (!source) return false;
    const waitMs = options.limitSource(source.id);
    if (waitMs > 0) {
      answerError(request, response, options, new AppError('rate_limited', { retry_after_sec: Math.ceil(waitMs / 1000) }));
      return true;
    }
    readBody(request, length, (raw) => {
      options.ingest.receive({ sourceId: source.id, raw, contentType: request.headers['content-type'] }).then(
        (answer) => write(response, options, answer.status, JSON.stringify(answer.body)),
        (error: Error) => answerError(request, response, options, error),
      );
    });
    return true;
  };
}

/** Content-Length as a number, or null when the body is chunked or its length is not a plain integer. */
function declaredLength(request: IncomingMessage): number | null {
  if (request.headers['transfer-encoding'] !== undefined) return null;
  const text = request.headers['content-length'];
  if (text === undefined || !/^\d{1,9}$/.test(text)) return null;
  return Number(text);
}

/** The body's bytes once all have come (llhttp stops at the declared length); nothing on an aborted request. */
function readBody(request: IncomingMessage, length: number, done: (raw: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let received = 0;
  request.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
  });
  request.on('end', () => {
    if (received === length) done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
  });
}

function answerError(request: IncomingMessage, response: ServerResponse, options: IngestFrontOptions, error: Error): void {
  const appError = toAppError(error);
  logFailure(options.log(), request.url ?? '', appError, error);
  const after = appError.retryAfterSec;
  write(response, options, appError.status, JSON.stringify(appError.toJSON()), after === undefined ? undefined : String(after));
}

function write(response: ServerResponse, options: IngestFrontOptions, status: number, body: string, retryAfter?: string): void {
  if (response.destroyed) return;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'content-security-policy': dataPolicy,
    ...everyAnswerHeaders,
  };
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
  if (options.isClosing()) headers.connection = 'close';
  response.writeHead(status, headers).end(body);
}
