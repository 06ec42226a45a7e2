import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import { ErrorBody } from '../domain/contract/errors.js';
import { AppError } from '../domain/errors.js';
import { serializeError } from '../observability/log-error.js';
import { authMissLimit } from './auth-misses.js';
import { presentedKey } from './auth.js';
import { metricsAccess } from './ops.js';
import { sessionCookie } from './session-auth.js';
import { registerErrorHandling, sendError } from './errors.js';
import { limitExpensive } from './expensive.js';
import { ingestPath } from './hooks.js';
import type { FrontHandler } from './ingest-front.js';
import { refuseNul, refuseNulInBody } from './nul-guard.js';
import { refuseNonFiniteNumbers } from './finite-numbers.js';
import { rateLimitOptions } from './rate-limits.js';
import { redactUrl } from '../domain/redact.js';
import { securityHeaders } from './security-headers.js';
import { refuseUnknownFields } from './strict-bodies.js';
import { sharedCompilers } from './schema-compilers.js';

export interface HttpServerOptions {
  /** Pino options, or false for no logs (tests). */
  logger?: boolean | Record<string, unknown>;
  now: () => number;
  /** The version shown in the OpenAPI document. */
  version: string;
  /** True when the secret is a source token, API key or session known to be valid (its failures are not counted as misses). */
  isKnownSecret: (secret: string) => boolean;
}

export interface HttpServer {
  server: FastifyInstance;
  /** Every route registered, as `METHOD url` (the OpenAPI test checks each is documented). */
  routes: Array<{ method: string; url: string }>;
  /**
   * Adds the guards only the API's routes (`/v1/…`) need to `api`, an encapsulated context holding those
   * routes: NUL in the URL or a JSON body (nul-guard.ts) and the expensive-request slots (expensive.ts).
   * The ingest route is registered outside it and runs none of them (docs/benchmarks.md, issue 15 part 3).
   */
  guardApi(api: FastifyInstance): void;
  /**
   * From now on, requests already in flight are finished; new ones get 503 shutting_down in our error format
   * (Fastify's own 503 would not be), and every answer closes its connection, so keep-alive clients do not
   * hold the server open until their idle timeout.
   */
  beginClosing(): void;
  /** True once beginClosing was called. */
  isClosing(): boolean;
  /**
   * Puts `front` ahead of Fastify on the node:http server: every request goes to it first, and to Fastify
   * when it declines (api/ingest-front.ts). Once a shutdown has begun every request goes straight to Fastify,
   * which answers 503 shutting_down.
   */
  installFront(front: FrontHandler): void;
}

/**
 * The Fastify instance and everything every route shares: logging, time limits, the error format, guards on
 * what a request may contain, security headers, the OpenAPI document, CORS and the rate limits. Routes are
 * registered on it afterwards (api/routes.ts).
 */
export function createHttpServer(config: Readonly<Config>, options: HttpServerOptions): HttpServer {
  const requestTimeoutMs = config.requestTimeoutSec * 1000;
  const server = Fastify({
    logger: options.logger === false ? false : {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
      // err: a database error's log line keeps its code and message, never the row it quoted (log-error.ts).
      serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, url: redactUrl(req.url) }), err: serializeError },
      ...(typeof options.logger === 'object' ? options.logger : {}),
    },
    // An access log line per request would cost more than the ingest itself at full load; errors are always logged.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    bodyLimit: 64 * 1024,
    // An unknown body field is refused (strict-bodies.ts), never silently removed.
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: { compilersFactory: sharedCompilers },
    // A path id is bounded by its route's schema (a call_id as the ingest takes it: 255 characters, each up
    // to 12 as %-escapes), not by the router's default of 100: a call with a longer id could not be read.
    routerOptions: { maxParamLength: 4096 },
    // The router's own refusals (a path that does not decode, a segment beyond that) in the error format.
    frameworkErrors: (error, request, reply) => sendError(request, reply, error),
    // Slow clients (a body trickled a byte at a time, headers never finished, a reader that stalls) must not
    // hold connections for ever. Node's requestTimeout covers receiving the request, not the answer, so a
    // stream outlives it; it is checked every connectionsCheckingInterval (Node's default 30 s is too coarse
    // for short timeouts). The idle-connection timeout does not apply to streams (api/v1-stream.ts).
    requestTimeout: requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutSec * 1000,
    keepAliveTimeout: config.keepAliveTimeoutSec * 1000,
    http: {
      requestTimeout: requestTimeoutMs,
      // Node refuses a headers timeout above the request timeout.
      headersTimeout: Math.min(config.headersTimeoutSec * 1000, requestTimeoutMs || Infinity),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor((requestTimeoutMs || 60_000) / 4))),
    },
  });
  server.server.maxConnections = config.maxConnections;
  registerErrorHandling(server);
  let closing = false;
  let front: FrontHandler | null = null;
  // Fastify handles the node:http server's requests through its one 'request' listener; a front goes before it.
  const [fastifyHandler] = server.server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
  server.server.removeAllListeners('request');
  server.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (front === null || closing || !front(request, response)) fastifyHandler!(request, response);
  });
  server.addHook('onRequest', (_request, _reply, done) => done(closing ? new AppError('shutting_down') : undefined));
  server.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  securityHeaders(server);
  const routes: Array<{ method: string; url: string }> = [];
  server.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  server.addHook('onRoute', refuseUnknownFields);
  server.addHook('onRoute', refuseNonFiniteNumbers);
  // The error envelope every route documents (domain/contract/errors.ts), referenced by $id.
  server.addSchema(ErrorBody);
  // OpenAPI from the same TypeBox schemas that validate the requests (registered first: it collects the
  // routes registered after it); served at /openapi.json, browsable at /docs.
  void server.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Switchboard', version: options.version, description: "Receives Convolo's call webhooks, keeps every call, relays them in real time." },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: sbk_…' },
          session: { type: 'apiKey', in: 'cookie', name: 'sb_session', description: "The dashboard's session (POST /v1/auth/login), accepted from the dashboard's own origin only; requests that change something need a same-origin Origin." },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
    // Shared schemas appear under their $id (components.schemas.ErrorBody), not def-0.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  void server.register(swaggerUi, { routePrefix: '/docs' });
  server.get('/openapi.json', { schema: { hide: true } }, async () => server.swagger());
  // Browsers call the API and open the stream from the user's own web app, another origin. The key is the
  // credential (a header, or access_token for EventSource), never a cookie, so any origin may be allowed.
  void server.register(cors, {
    origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
    credentials: false,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'last-event-id'],
    // The stream's log id, for the SDK's fetch in a page of another origin (it sends it back on reconnecting).
    exposedHeaders: ['switchboard-log-id'],
    maxAge: 600,
  });
  void server.register(rateLimit, rateLimitOptions({ apiPerMin: config.rateLimitApiPerMin }));
  const expensive = limitExpensive(config.expensivePerKey);
  const guardApi = (api: FastifyInstance) => {
    api.addHook('onRequest', refuseNul);
    api.addHook('preValidation', refuseNulInBody);
    api.addHook('onRequest', expensive.onRequest);
    api.addHook('onSend', expensive.onSend);
  };
  const isIngest = (request: FastifyRequest) => request.routeOptions.url === ingestPath;
  const isOwnLimited = (request: FastifyRequest) => {
    const route = request.routeOptions.url;
    return route === '/v1/auth/login' || route === '/v1/auth/password' || (route === '/v1/auth/session' && sessionCookie(request) === undefined);
  };
  // /metrics behind SWITCHBOARD_METRICS_TOKEN: its wrong tokens are failed authentications like a wrong key's.
  const metricsGuarded = config.metricsToken !== '';
  const isMetrics = (request: FastifyRequest) => metricsGuarded && request.routeOptions.url === '/metrics';
  const mayReadMetrics = metricsAccess(config.metricsToken);
  authMissLimit(server, {
    perMin: config.authMissesPerMin,
    now: options.now,
    // The route's path, not the URL's: the router decodes the path, so `/%761/events` is `/v1/events` too.
    covers: (request) => request.routeOptions.url?.startsWith('/v1/') === true || isIngest(request) || isMetrics(request),
    isKnown: (request) => {
      if (isMetrics(request)) return mayReadMetrics(request);
      const secret = isIngest(request) ? (request.params as { token?: string }).token : presentedKey(request) ?? sessionCookie(request);
      return secret !== undefined && options.isKnownSecret(secret);
    },
    // 401: a missing or unknown key; 404 on the ingest route: an unknown token (405s have their own code).
    isMiss: (request, status) => status === 401 || (status === 404 && isIngest(request)),
    // Sign-ins and password changes have their own limits (login-limits.ts); asking for the session without a
    // cookie (the dashboard's first question) looks nothing up.
    ownLimited: isOwnLimited,
    // The dashboard asks who is signed in first: an expired cookie from a blocked address is just "not signed
    // in" (no lookup: nothing to learn from it), so the person gets the sign-in form rather than an error.
    answerWhenBlocked: (request) => (request.method === 'GET' && request.routeOptions.url === '/v1/auth/session' ? new AppError('not_signed_in') : undefined),
  });
  return {
    server, routes, guardApi,
    beginClosing: () => { closing = true; },
    isClosing: () => closing,
    installFront: (handler) => { front = handler; },
  };
}
