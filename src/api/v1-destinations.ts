import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { createDestinationsService } from '../admin/destinations.js';
import { DestinationHealthList, DestinationList, DestinationMaybeSecret, DestinationTestResult, DestinationWithSecret, Destination as DestinationBody, NoContent, Nullable, ReplayAnswer, RetryFailedAnswer } from '../domain/contract/index.js';
import { iso } from '../domain/presenters.js';
import type { Destination } from '../domain/destination.js';
import type { ApiKey, DeliveryAdmin, DeliveryReader, DestinationPatch, Destinations } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { presentDestination } from './destination-presenters.js';
import { redactUrlsIn } from '../domain/redact.js';
import { adminErrors, answers, answerWhenDone, bodyErrors, readErrors, serializeWithJsonStringify } from './responses.js';
import { deliveryRoutes } from './v1-deliveries.js';
import { time } from './date-time.js';

export interface DestinationRoutesOptions {
  storage: { destinations: Destinations; deliveries: DeliveryReader & DeliveryAdmin };
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Pick<Config, 'allowPrivateDestinations' | 'secretGraceHours' | 'deliveryTimeoutSec'>;
  now: () => number;
  /** Wakes the delivery worker (after a retry or a replay queued deliveries). */
  onQueued: () => void;
}

const list = (maxLength: number, maxItems: number) =>
  Type.Array(Type.String({ minLength: 1, maxLength }), { minItems: 1, maxItems, uniqueItems: true });
// `null` clears a filter or a setting (ajv's `nullable`, so a 0 is not coerced to null on the way).
const settings = {
  description: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
  event_types: Type.Optional(Nullable(list(100, 50))),
  widget_keys: Type.Optional(Nullable(list(255, 500))),
  call_statuses: Type.Optional(Nullable(list(64, 50))),
  headers: Type.Optional(Nullable(Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { maxProperties: 20 }))),
  rate_limit_per_sec: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 10_000 }))),
  max_concurrency: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1000 }))),
};
// The URL is any string here: the destinations service judges it (SSRF rule), and its refusals are 422 invalid_destination.
// additionalProperties: false tells OpenAPI readers what strict-bodies.ts enforces: unknown fields are refused.
const CreateBody = Type.Object({ url: Type.String(), ...settings }, { additionalProperties: false });
const PatchBody = Type.Object({
  url: Type.Optional(Type.String()), ...settings, disabled: Type.Optional(Type.Boolean()),
  paused: Type.Optional(Type.Boolean({ description: 'true: deliveries are queued but none is sent; false: resume (the backlog goes out in per-call order).' })),
}, { additionalProperties: false });
const dryRun = Type.Optional(Type.Boolean({ description: 'Change nothing: answer how many it would.' }));
const ReplayBody = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  only_failed: Type.Optional(Type.Boolean()),
  dry_run: dryRun,
}, { additionalProperties: false });
const RetryFailedBody = Type.Object({ dry_run: dryRun }, { additionalProperties: false });
/** Every field of these bodies is optional, so no body at all means "the defaults": validate it as {}. */
const emptyBodyIsDefaults = async (request: { body: unknown }) => {
  request.body ??= {};
};
const hour = 3_600_000;
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
type WithId = { Params: Static<typeof Params> };

/**
 * `/v1/destinations` and `/v1/deliveries` (SPEC "Outbound webhooks"): reading them takes the `read` scope
 * (a viewer sees destinations and deliveries, never a secret), everything else `admin`.
 */
export async function destinationRoutes(app: FastifyInstance, options: DestinationRoutesOptions): Promise<void> {
  const { storage, now } = options;
  const scopes = { read: requireScope('read', options.resolveKey), admin: requireScope('admin', options.resolveKey) };
  const admin = { onRequest: scopes.admin };
  const read = { onRequest: scopes.read };
  serializeWithJsonStringify(app);
  const destinations = createDestinationsService(options);
  app.addHook('onClose', () => destinations.close());
  await app.register(deliveryRoutes, { storage, now, onQueued: options.onQueued, scopes });

  // An administrator reads a destination's header values and whole URL; a viewer the header names and the
  // URL without its query values and userinfo (destination-presenters.ts).
  const present = (d: Destination, revealSecret: boolean, revealCredentials = true) => presentDestination(d, { now: now(), revealSecret, revealCredentials });
  const isAdmin = (request: { principal?: { scope: string } | null }) => request.principal?.scope === 'admin';

  app.post<{ Body: Static<typeof CreateBody> }>('/v1/destinations', { ...admin, schema: { body: CreateBody, response: answers({ 201: DestinationWithSecret }, ...adminErrors, ...bodyErrors, 422) } }, async (request, reply) => {
    const created = await destinations.create({ ...patchOf(request.body), url: request.body.url });
    return reply.code(201).send(present(created, true));
  });

  app.get('/v1/destinations', { ...read, schema: { response: answers({ 200: DestinationList }, ...readErrors) } }, async (request) => ({ data: (await destinations.list()).map((d) => present(d, false, isAdmin(request))) }));

  // The Webhooks page's glance: a static path, so it is never taken for a destination's id.
  app.get('/v1/destinations/health', { ...read, schema: { response: answers({ 200: DestinationHealthList }, ...readErrors) } }, async () => {
    const since = Math.floor(now() / hour) * hour - 23 * hour;
    const data = await storage.deliveries.health(since);
    return {
      since: iso(since),
      data: data.map((h) => ({
        destination_id: h.destinationId, delivered: h.delivered, failed: h.failed, pending: h.pending,
        hourly: h.hourly.map((b, i) => ({ start: iso(since + i * hour), ...b })),
        last_error: h.lastError && { at: iso(h.lastError.at), status: h.lastError.status, error: redactUrlsIn(h.lastError.error) },
      })),
    };
  });

  // Shows the secret to an administrator, as Svix's "reveal secret" does: they need it to configure the
  // receiver that verifies our signatures, and an admin key can rotate it anyway. A viewer gets no secret.
  app.get<WithId>('/v1/destinations/:id', { ...read, schema: { params: Params, response: answers({ 200: DestinationMaybeSecret }, ...readErrors, 404) } }, async (request) =>
    present(await destinations.find(request.params.id), isAdmin(request), isAdmin(request)));

  app.patch<WithId & { Body: Static<typeof PatchBody> }>('/v1/destinations/:id', { ...admin, schema: { params: Params, body: PatchBody, response: answers({ 200: DestinationBody }, ...adminErrors, ...bodyErrors, 404, 422) } }, async (request) =>
    present(await destinations.update(request.params.id, patchOf(request.body)), false));

  app.delete<WithId>('/v1/destinations/:id', { ...admin, schema: { params: Params, response: answers({ 204: NoContent }, ...adminErrors, 404) } }, async (request, reply) => {
    await destinations.delete(request.params.id);
    return reply.code(204).send();
  });

  app.post<WithId>('/v1/destinations/:id/rotate-secret', { ...admin, schema: { params: Params, response: answers({ 200: DestinationWithSecret }, ...adminErrors, 404) } }, async (request) =>
    present(await destinations.rotateSecret(request.params.id), true));

  // Sent at once and answered with the receiver's reply; not stored in the log nor recorded as a delivery.
  app.post<WithId>('/v1/destinations/:id/test', { ...admin, schema: { params: Params, response: answers({ 200: DestinationTestResult }, ...adminErrors, 404) } }, async (request) => {
    const result = await destinations.test(request.params.id);
    return { ok: result.ok, status: result.status, latency_ms: result.latencyMs, response_body: result.responseBody, error: result.error };
  });

  app.post<WithId & { Body: Static<typeof ReplayBody> }>(
    '/v1/destinations/:id/replay',
    { ...admin, schema: { params: Params, body: ReplayBody, response: answers({ 200: ReplayAnswer, 202: ReplayAnswer }, ...adminErrors, ...bodyErrors, 404) }, preValidation: emptyBodyIsDefaults },
    async (request, reply) => {
      const { since, until, only_failed: onlyFailed, dry_run: dry = false } = request.body;
      const range = { since: since === undefined ? undefined : time('since', since), until: until === undefined ? undefined : time('until', until), onlyFailed };
      // The answer comes once the walk of the log is over.
      answerWhenDone(request);
      // A dry run walks the same events with the same filters, and inserts nothing: 200, nothing accepted.
      return reply.code(dry ? 200 : 202).send({ queued: await destinations.replay(request.params.id, range, dry), dry_run: dry });
    },
  );

  app.post<WithId & { Body: Static<typeof RetryFailedBody> }>(
    '/v1/destinations/:id/retry-failed',
    { ...admin, schema: { params: Params, body: RetryFailedBody, response: answers({ 200: RetryFailedAnswer, 202: RetryFailedAnswer }, ...adminErrors, ...bodyErrors, 404) }, preValidation: emptyBodyIsDefaults },
    async (request, reply) => {
      const dry = request.body.dry_run ?? false;
      return reply.code(dry ? 200 : 202).send({ retried: await destinations.retryFailed(request.params.id, dry), dry_run: dry });
    },
  );
}

/** The body's settings in the service's terms (the rules that judge them are the service's). */
function patchOf(body: Static<typeof PatchBody>): DestinationPatch {
  return {
    url: body.url,
    description: body.description,
    eventTypes: body.event_types,
    widgetKeys: body.widget_keys,
    callStatuses: body.call_statuses,
    headers: body.headers,
    rateLimitPerSec: body.rate_limit_per_sec,
    maxConcurrency: body.max_concurrency,
    disabled: body.disabled,
    paused: body.paused,
  };
}
