import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { createDestinationsService } from '../admin/destinations.js';
import { DestinationList, DestinationTestResult, DestinationWithSecret, Destination as DestinationBody, NoContent, Nullable, ReplayAnswer } from '../domain/contract/index.js';
import type { Destination } from '../domain/destination.js';
import type { ApiKey, DeliveryAdmin, DeliveryReader, DestinationPatch, Destinations } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { presentDestination } from './destination-presenters.js';
import { adminErrors, answers, bodyErrors, serializeWithJsonStringify } from './responses.js';
import { deliveryRoutes } from './v1-deliveries.js';

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
const PatchBody = Type.Object({ url: Type.Optional(Type.String()), ...settings, disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
const ReplayBody = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  only_failed: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
type WithId = { Params: Static<typeof Params> };

/** `/v1/destinations` and `/v1/deliveries` (SPEC "Outbound webhooks"): `admin` scope on every route. */
export async function destinationRoutes(app: FastifyInstance, options: DestinationRoutesOptions): Promise<void> {
  const { storage, now } = options;
  app.addHook('onRequest', requireScope('admin', options.resolveKey));
  serializeWithJsonStringify(app);
  const destinations = createDestinationsService(options);
  app.addHook('onClose', () => destinations.close());
  // Registered here, so the admin hook above covers it too.
  await app.register(deliveryRoutes, { storage, now, onQueued: options.onQueued });

  const present = (d: Destination, revealSecret: boolean) => presentDestination(d, { now: now(), revealSecret });

  app.post<{ Body: Static<typeof CreateBody> }>('/v1/destinations', { schema: { body: CreateBody, response: answers({ 201: DestinationWithSecret }, ...adminErrors, ...bodyErrors, 422) } }, async (request, reply) => {
    const created = await destinations.create({ ...patchOf(request.body), url: request.body.url });
    return reply.code(201).send(present(created, true));
  });

  app.get('/v1/destinations', { schema: { response: answers({ 200: DestinationList }, ...adminErrors) } }, async () => ({ data: (await destinations.list()).map((d) => present(d, false)) }));

  // Shows the secret, as Svix's "reveal secret" does: the administrator needs it to configure the receiver
  // that verifies our signatures, and an admin key can rotate it anyway.
  app.get<WithId>('/v1/destinations/:id', { schema: { params: Params, response: answers({ 200: DestinationWithSecret }, ...adminErrors, 404) } }, async (request) => present(await destinations.find(request.params.id), true));

  app.patch<WithId & { Body: Static<typeof PatchBody> }>('/v1/destinations/:id', { schema: { params: Params, body: PatchBody, response: answers({ 200: DestinationBody }, ...adminErrors, ...bodyErrors, 404, 422) } }, async (request) =>
    present(await destinations.update(request.params.id, patchOf(request.body)), false));

  app.delete<WithId>('/v1/destinations/:id', { schema: { params: Params, response: answers({ 204: NoContent }, ...adminErrors, 404) } }, async (request, reply) => {
    await destinations.delete(request.params.id);
    return reply.code(204).send();
  });

  app.post<WithId>('/v1/destinations/:id/rotate-secret', { schema: { params: Params, response: answers({ 200: DestinationWithSecret }, ...adminErrors, 404) } }, async (request) =>
    present(await destinations.rotateSecret(request.params.id), true));

  // Sent at once and answered with the receiver's reply; not stored in the log nor recorded as a delivery.
  app.post<WithId>('/v1/destinations/:id/test', { schema: { params: Params, response: answers({ 200: DestinationTestResult }, ...adminErrors, 404) } }, async (request) => {
    const result = await destinations.test(request.params.id);
    return { ok: result.ok, status: result.status, latency_ms: result.latencyMs, response_body: result.responseBody, error: result.error };
  });

  app.post<WithId & { Body: Static<typeof ReplayBody> }>(
    '/v1/destinations/:id/replay',
    {
      schema: { params: Params, body: ReplayBody, response: answers({ 202: ReplayAnswer }, ...adminErrors, ...bodyErrors, 404) },
      // Every field is optional, so no body at all means "everything": validate it as {}.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const { since, until, only_failed: onlyFailed } = request.body;
      const range = { since: since === undefined ? undefined : Date.parse(since), until: until === undefined ? undefined : Date.parse(until), onlyFailed };
      return reply.code(202).send({ queued: await destinations.replay(request.params.id, range) });
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
  };
}
