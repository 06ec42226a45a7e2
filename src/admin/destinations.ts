import type { Config } from '../config/index.js';
import { isKnownEventType } from '../domain/convolo.js';
import type { Destination } from '../domain/destination.js';
import { envelopeJson, envelopeType, systemTypes, testEventType } from '../domain/envelope.js';
import { AppError } from '../domain/errors.js';
import { newId, parseId, type DestinationId } from '../domain/ids.js';
import { attemptError, createWebhookSender } from '../relay/sign-and-send.js';
import { newWebhookSecret } from '../relay/signing.js';
import { checkDestinationUrl, DestinationRefused } from '../relay/ssrf.js';
import type { DeliveryAdmin, DestinationPatch, Destinations, ReplayRange } from '../storage/ports.js';

/**
 * Outbound webhook destinations (SPEC "Outbound webhooks"): the rules a destination's settings obey, its
 * defaults and secret, and the test send. The API's routes parse and present; the decisions are here.
 */
export interface DestinationsServiceOptions {
  storage: { destinations: Destinations; deliveries: Pick<DeliveryAdmin, 'replay' | 'retryFailed'> };
  config: Pick<Config, 'allowPrivateDestinations' | 'secretGraceHours' | 'deliveryTimeoutSec'>;
  now: () => number;
  /** Wakes the delivery worker: deliveries are due (a destination re-enabled, a replay queued some). */
  onQueued: () => void;
}

/** A new destination: its URL and any settings (absent ones take their defaults). */
export type NewDestination = DestinationPatch & { url: string };

/** The receiver's answer to a test send. */
export interface TestSendResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  responseBody: string;
  error: string | null;
}

/** The envelope types a destination can subscribe to by name (Convolo's other types as `convolo.<type>`). */
const subscribable = new Set<string>([envelopeType('ok', 'start_call'), envelopeType('ok', 'end_call'), ...Object.values(systemTypes)]);
const convoloType = /^convolo\.[A-Za-z0-9_]{1,64}$/;
// RFC 9110 token characters.
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
// What Node and undici accept in a header value: anything else would make every delivery fail at send time.
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Headers a destination may not set: the signature's (`webhook-*`: a receiver must be able to trust
 * them), those that describe the body or the connection (the sender sets them; undici refuses some; the body is
 * never encoded, so a `content-encoding` made receivers that decode it refuse every delivery), and
 * the user agent that identifies us.
 */
const reservedHeaders = new Set([
  'content-type', 'content-length', 'content-encoding', 'host', 'user-agent', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer',
]);

const testMessage = 'This is a test event from Switchboard.';
const hour = 3_600_000;

/**
 * @example
 * const destinations = createDestinationsService({ storage, config, now: Date.now, onQueued: () => worker.wake() });
 * const created = await destinations.create({ url: 'https://hooks.example.com/convolo', eventTypes: ['call.ended'] });
 * await destinations.test(created.id); // { ok: true, status: 204, latencyMs: 41, responseBody: '', error: null }
 */
export function createDestinationsService(options: DestinationsServiceOptions) {
  const { storage, config, now } = options;
  // The test sends go through a sender of their own, with the worker's timeout and SSRF rule.
  const webhooks = createWebhookSender(config);
  const missing = () => new AppError('no_such_id', {}, { params: { what: 'destination' } });

  /** A URL's id: one of another kind names nothing, so it is answered as an unknown destination is. */
  function destinationId(id: string): DestinationId {
    const parsed = parseId('dst', id);
    if (parsed === null) throw missing();
    return parsed;
  }

  async function find(id: string): Promise<Destination> {
    const destination = await storage.destinations.get(destinationId(id));
    if (!destination) throw missing();
    return destination;
  }

  /** Each setting of the patch checked; the URL against the SSRF rule. */
  async function check(patch: DestinationPatch): Promise<void> {
    for (const type of patch.eventTypes ?? []) checkEventType(type);
    if (patch.headers) checkHeaders(patch.headers);
    // Last: it may resolve the host name, the only slow check.
    if (patch.url !== undefined) {
      try {
        await checkDestinationUrl(patch.url, { allowPrivate: config.allowPrivateDestinations });
      } catch (error) {
        // `reason` is the stable word for programs (`forbidden_port`, `forbidden_address`, …); `port` names a refused port.
        if (error instanceof DestinationRefused) throw new AppError('invalid_destination', { detail: error.message, reason: error.reason, ...(error.port === undefined ? {} : { port: error.port }) });
        throw error;
      }
    }
  }

  return {
    find,
    list: () => storage.destinations.list(),

    async create(input: NewDestination): Promise<Destination> {
      await check(input);
      const at = now();
      const destination: Destination = {
        id: newId('dst'),
        url: input.url,
        description: input.description ?? null,
        eventTypes: input.eventTypes ?? null,
        widgetKeys: input.widgetKeys ?? null,
        callStatuses: input.callStatuses ?? null,
        headers: input.headers ?? null,
        rateLimitPerSec: input.rateLimitPerSec ?? null,
        maxConcurrency: input.maxConcurrency ?? null,
        secret: newWebhookSecret(),
        previousSecrets: [],
        disabledAt: null,
        disabledReason: null,
        failingSince: null,
        pausedAt: null,
        createdAt: at,
        updatedAt: at,
      };
      await storage.destinations.create(destination);
      return destination;
    },

    async update(id: string, patch: DestinationPatch): Promise<Destination> {
      await check(patch);
      const updated = await storage.destinations.update(destinationId(id), patch, now());
      if (!updated) throw missing();
      // Re-enabled or resumed: its pending deliveries are due again (in per-call order, as the claim keeps it).
      if (patch.disabled === false || patch.paused === false) options.onQueued();
      return updated;
    },

    async delete(id: string): Promise<void> {
      if (!(await storage.destinations.delete(destinationId(id), now()))) throw missing();
    },

    /** A new secret; the current one keeps signing beside it for `secretGraceHours`, as do earlier ones until their own grace ends. */
    async rotateSecret(id: string): Promise<Destination> {
      const at = now();
      const rotated = await storage.destinations.rotateSecret(destinationId(id), newWebhookSecret(), at + config.secretGraceHours * hour, at);
      if (!rotated) throw missing();
      return rotated;
    },

    /** Sent at once and answered with the receiver's reply; not stored in the log nor recorded as a delivery. */
    async test(id: string): Promise<TestSendResult> {
      const destination = await find(id);
      const body = Buffer.from(JSON.stringify({ message: testMessage }));
      const eventId = newId('evt');
      const payload = envelopeJson({
        seq: 0, id: eventId, type: testEventType, status: 'system', sourceId: '', callId: null, receivedAt: now(),
        contentType: 'application/json', body, callAfter: null,
      });
      const result = await webhooks.signAndSend(destination, { id: eventId, payload }, now());
      return { ok: result.ok, status: result.status, latencyMs: result.latencyMs, responseBody: result.responseBody, error: attemptError(result) };
    },

    /** Queues the destination's deliveries in the range again; how many (a dry run: how many it would). */
    async replay(id: string, range: ReplayRange, dryRun = false): Promise<number> {
      if (range.since !== undefined && range.until !== undefined && range.since >= range.until) {
        throw new AppError('invalid_request', { detail: 'since must be earlier than until' });
      }
      const queued = await storage.deliveries.replay(await find(id), range, now(), dryRun);
      if (queued > 0 && !dryRun) options.onQueued();
      return queued;
    },

    /** Sends every failed delivery of the destination again, each with a fresh schedule; how many (a dry run: how many it would). */
    async retryFailed(id: string, dryRun: boolean): Promise<number> {
      const retried = await storage.deliveries.retryFailed((await find(id)).id, now(), dryRun);
      if (retried > 0 && !dryRun) options.onQueued();
      return retried;
    },

    close: () => webhooks.close(),
  };
}

export type DestinationsService = ReturnType<typeof createDestinationsService>;

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
