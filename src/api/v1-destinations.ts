import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { isKnownEventType } from '../domain/convolo.js';
import { signingSecrets, type Destination } from '../domain/destination.js';
import { envelopeJson, envelopeType, systemTypes, testEventType } from '../domain/envelope.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { createSender } from '../relay/send.js';
import { signatureHeaders, newWebhookSecret } from '../relay/signing.js';
import { checkDestinationUrl, DestinationRefused } from '../relay/ssrf.js';
import type { ApiKey, DeliveryAdmin, DeliveryReader, DestinationPatch, Destinations } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { presentDestination } from './destination-presenters.js';
import { idParam } from './id-param.js';
import { deliveryRoutes } from './v1-deliveries.js';

export interface DestinationRoutesOptions {
  storage: { destinations: Destinations; deliveries: DeliveryReader & DeliveryAdmin };
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Pick<Config, 'allowPrivateDestinations' | 'secretGraceHours' | 'deliveryTimeoutSec'>;
  now: () => number;
  /** Wakes the delivery worker (after a retry or a replay queued deliveries). */
  onQueued: () => void;
}

/** `null` clears a filter or a setting (ajv's `nullable`, so a 0 is not coerced to null on the way). */
const nullable = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, nullable: true });
const list = (maxLength: number, maxItems: number) =>
  Type.Array(Type.String({ minLength: 1, maxLength }), { minItems: 1, maxItems, uniqueItems: true });
const settings = {
  description: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
  event_types: Type.Optional(nullable(list(100, 50))),
  widget_keys: Type.Optional(nullable(list(255, 500))),
  call_statuses: Type.Optional(nullable(list(64, 50))),
  headers: Type.Optional(nullable(Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { maxProperties: 20 }))),
  rate_limit_per_sec: Type.Optional(nullable(Type.Integer({ minimum: 1, maximum: 10_000 }))),
  max_concurrency: Type.Optional(nullable(Type.Integer({ minimum: 1, maximum: 1000 }))),
};
// The URL is any string here: checkDestinationUrl judges it, and its refusals are 422 invalid_destination.
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

/** The envelope types a destination can subscribe to by name (Convolo's other types as `convolo.<type>`). */
const subscribable = new Set<string>([envelopeType('ok', 'start_call'), envelopeType('ok', 'end_call'), ...Object.values(systemTypes)]);
const convoloType = /^convolo\.[A-Za-z0-9_]{1,64}$/;
// RFC 9110 token characters.
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
// What Node and undici accept in a header value: anything else would make every delivery fail at send time.
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Headers a destination may not set: the signature's (`webhook-*`: a receiver must be able to trust
 * them), those that describe the body or the connection (the sender sets them; undici refuses some), and
 * the user agent that identifies us.
 */
const reservedHeaders = new Set([
  'content-type', 'content-length', 'host', 'user-agent', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer',
]);

const testMessage = 'This is a test event from Switchboard.';
const hour = 3_600_000;

/** `/v1/destinations` and `/v1/deliveries` (SPEC "Outbound webhooks"): `admin` scope on every route. */
export async function destinationRoutes(app: FastifyInstance, options: DestinationRoutesOptions): Promise<void> {
  const { storage, config, now } = options;
  app.addHook('onRequest', requireScope('admin', options.resolveKey));
  // The test sends go through a sender of their own, with the worker's timeout and SSRF rule.
  const sender = createSender({ timeoutMs: config.deliveryTimeoutSec * 1000, allowPrivate: config.allowPrivateDestinations, userAgent: 'Switchboard-Webhooks/1.0' });
  app.addHook('onClose', () => sender.close());
  // Registered here, so the admin hook above covers it too.
  await app.register(deliveryRoutes, { storage, now, onQueued: options.onQueued });

  const noDestination = () => new AppError('not_found', {}, { message: 'No destination has this id.' });
  const destinationId = (id: string) => idParam('dst', id, noDestination);
  async function find(id: string): Promise<Destination> {
    const destination = await storage.destinations.get(destinationId(id));
    if (!destination) throw noDestination();
    return destination;
  }
  const present = (d: Destination, revealSecret: boolean) => presentDestination(d, { now: now(), revealSecret });

  /** The body's settings as a patch, each one checked; the URL against the SSRF rule. */
  async function checkedPatch(body: Static<typeof PatchBody>): Promise<DestinationPatch> {
    for (const type of body.event_types ?? []) checkEventType(type);
    if (body.headers) checkHeaders(body.headers);
    // Last: it may resolve the host name, the only slow check.
    if (body.url !== undefined) {
      try {
        await checkDestinationUrl(body.url, { allowPrivate: config.allowPrivateDestinations });
      } catch (error) {
        // `reason` is the stable word for programs (`forbidden_port`, `forbidden_address`, …); `port` names a refused port.
        if (error instanceof DestinationRefused) throw new AppError('invalid_destination', { detail: error.message, reason: error.reason, ...(error.port === undefined ? {} : { port: error.port }) });
        throw error;
      }
    }
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

  app.post<{ Body: Static<typeof CreateBody> }>('/v1/destinations', { schema: { body: CreateBody } }, async (request, reply) => {
    const patch = await checkedPatch(request.body);
    const at = now();
    const destination: Destination = {
      id: newId('dst'),
      url: request.body.url,
      description: patch.description ?? null,
      eventTypes: patch.eventTypes ?? null,
      widgetKeys: patch.widgetKeys ?? null,
      callStatuses: patch.callStatuses ?? null,
      headers: patch.headers ?? null,
      rateLimitPerSec: patch.rateLimitPerSec ?? null,
      maxConcurrency: patch.maxConcurrency ?? null,
      secret: newWebhookSecret(),
      previousSecret: null,
      previousSecretExpiresAt: null,
      disabledAt: null,
      disabledReason: null,
      failingSince: null,
      createdAt: at,
      updatedAt: at,
    };
    await storage.destinations.create(destination);
    return reply.code(201).send(present(destination, true));
  });

  app.get('/v1/destinations', async () => ({ data: (await storage.destinations.list()).map((d) => present(d, false)) }));

  // Shows the secret, as Svix's "reveal secret" does: the administrator needs it to configure the receiver
  // that verifies our signatures, and an admin key can rotate it anyway.
  app.get<WithId>('/v1/destinations/:id', { schema: { params: Params } }, async (request) => present(await find(request.params.id), true));

  app.patch<WithId & { Body: Static<typeof PatchBody> }>('/v1/destinations/:id', { schema: { params: Params, body: PatchBody } }, async (request) => {
    const patch = await checkedPatch(request.body);
    const updated = await storage.destinations.update(destinationId(request.params.id), patch, now());
    if (!updated) throw noDestination();
    // Re-enabled: its pending deliveries are due again.
    if (patch.disabled === false) options.onQueued();
    return present(updated, false);
  });

  app.delete<WithId>('/v1/destinations/:id', { schema: { params: Params } }, async (request, reply) => {
    if (!(await storage.destinations.delete(destinationId(request.params.id), now()))) throw noDestination();
    return reply.code(204).send();
  });

  app.post<WithId>('/v1/destinations/:id/rotate-secret', { schema: { params: Params } }, async (request) => {
    const at = now();
    const rotated = await storage.destinations.rotateSecret(destinationId(request.params.id), newWebhookSecret(), at + config.secretGraceHours * hour, at);
    if (!rotated) throw noDestination();
    return present(rotated, true);
  });

  // Sent at once and answered with the receiver's reply; not stored in the log nor recorded as a delivery.
  app.post<WithId>('/v1/destinations/:id/test', { schema: { params: Params } }, async (request) => {
    const destination = await find(request.params.id);
    const body = Buffer.from(JSON.stringify({ message: testMessage }));
    const id = newId('evt');
    const payload = envelopeJson({
      seq: 0, id, type: testEventType, status: 'system', sourceId: '', callId: null, receivedAt: now(),
      contentType: 'application/json', body, callAfter: null,
    });
    const signed = signatureHeaders({ id, timestampSec: Math.floor(Date.now() / 1000), payload, secrets: signingSecrets(destination, now()) });
    const result = await sender.send({ url: destination.url, headers: { ...destination.headers, ...signed }, body: payload });
    return {
      ok: result.ok,
      status: result.status,
      latency_ms: result.latencyMs,
      response_body: result.responseBody,
      error: result.error ?? (result.ok ? null : `answered ${result.status}`),
    };
  });

  app.post<WithId & { Body: Static<typeof ReplayBody> }>(
    '/v1/destinations/:id/replay',
    {
      schema: { params: Params, body: ReplayBody },
      // Every field is optional, so no body at all means "everything": validate it as {}.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const { since, until, only_failed: onlyFailed } = request.body;
      const range = { since: since === undefined ? undefined : Date.parse(since), until: until === undefined ? undefined : Date.parse(until), onlyFailed };
      if (range.since !== undefined && range.until !== undefined && range.since >= range.until) {
        throw new AppError('invalid_request', { detail: 'since must be earlier than until' });
      }
      const queued = await storage.deliveries.replay(await find(request.params.id), range, now());
      if (queued > 0) options.onQueued();
      return reply.code(202).send({ queued });
    },
  );
}

function checkEventType(type: string): void {
  if (subscribable.has(type)) return;
  const convolo = convoloType.exec(type) ? type.slice('convolo.'.length) : null;
  if (convolo !== null && !isKnownEventType(convolo)) return;
  const detail = convolo !== null
    ? `"${type}" is sent as "${envelopeType('ok', convolo)}"`
    : `unknown event type "${type}": expected one of ${[...subscribable].join(', ')}, or convolo.<type>`;
  throw new AppError('invalid_request', { detail });
}

function checkHeaders(headers: Record<string, string>): void {
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!headerName.test(name)) throw new AppError('invalid_request', { detail: `header name ${JSON.stringify(name)} is not a valid HTTP header name` });
    if (lower.startsWith('webhook-') || reservedHeaders.has(lower)) throw new AppError('invalid_request', { detail: `header "${name}" is set by Switchboard and cannot be configured` });
    if (seen.has(lower)) throw new AppError('invalid_request', { detail: `header "${name}" is given twice (names are case-insensitive)` });
    if (!headerValue.test(value)) throw new AppError('invalid_request', { detail: `header "${name}" has a value with CR, LF or another character HTTP does not allow` });
    seen.add(lower);
  }
}
