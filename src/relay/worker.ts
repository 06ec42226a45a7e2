import type { Config } from '../config/index.js';
import { signingSecrets, type Destination } from '../domain/destination.js';
import { envelopeJson, envelopeType, systemTypes } from '../domain/envelope.js';
import { applyRetryAfter, nextDelayMs, parseRetryAfter } from '../domain/retry.js';
import type { Metrics } from '../observability/metrics.js';
import type { ClaimShare, Delivery, DeliveryOutcome, Destinations, EventReader, NewEvent, Outbox, StoredEvent } from '../storage/ports.js';
import { systemEvent } from '../ingest/system-event.js';
import { createCircuitBreakers } from './breaker.js';
import { createRateLimits } from './rate-limit.js';
import { createSender, type SendResult } from './send.js';
import { signatureHeaders } from './signing.js';
import { coalesce } from './coalesce.js';

/**
 * The delivery worker: claims due deliveries from the outbox with a lease, sends each as a signed webhook,
 * and records the outcomes in batches (one transaction per batch, with the operational events they raise).
 * Per-call order comes from the claim itself: a delivery is not claimable while an earlier event of its call
 * is pending at the same destination, and a delivery stays pending until its outcome is committed.
 * Several workers (processes, nodes) can share the table: claims are disjoint, and a crashed worker's
 * leases run out and are claimed again, so every delivery is sent at least once; an outcome is recorded only
 * under the lease it was claimed with, so a worker that lost its lease records nothing over another's claim.
 * No destination may take more than its share of the send slots (issue 10): each has a cap on requests in
 * flight (SWITCHBOARD_DESTINATION_CONCURRENCY, or its own max_concurrency), the claim shares the free slots
 * round-robin among destinations, and a destination that stops answering is left alone for a cool-down
 * (breaker.ts). Caps and circuits are per worker: N workers may have N × cap requests in flight to one.
 */
export type WorkerConfig = Pick<
  Config,
  | 'retryScheduleSec' | 'retryJitter' | 'deliveryTimeoutSec' | 'deliveryConcurrency' | 'deliveryLeaseSec' | 'disableAfterFailingHours' | 'relayPollMs'
  | 'allowPrivateDestinations' | 'destinationConcurrency' | 'breakerFailures' | 'breakerCooldownSec'
>;

export interface DeliveryWorkerOptions {
  storage: { deliveries: Outbox; events: Pick<EventReader, 'getBySeqs'>; destinations: Pick<Destinations, 'list'> };
  config: WorkerConfig;
  metrics: Metrics;
  /** The clock of due times and schedules (tests drive it). Signatures always carry the real time. */
  now: () => number;
  random?: () => number;
  /** The worker appended operational events (the stream looks for them). */
  onAppended: () => void;
  onError: (error: unknown) => void;
  /** A destination's circuit opened (it stopped answering) or closed again (a probe was answered). */
  onCircuit?: (destinationId: string, change: 'opened' | 'closed') => void;
}

export interface DeliveryWorker {
  start(): void;
  /** Deliveries may be due (a commit queued some, or a retry/replay was asked for). */
  wake(): void;
  /** Sends everything due now, and what falls due as a result (a call's next event), then resolves. */
  runUntilIdle(): Promise<number>;
  close(): Promise<void>;
  /** Destinations whose circuit is open or probing (a metric). */
  readonly circuitsOpen: number;
}

const maxClaim = 500;
/** A rate-limited delivery waits in memory this long at most (holding a send slot); beyond, it is deferred. */
const maxRateWaitMs = 1000;
/** Recording outcomes that failed is tried again after 100 ms, doubling up to this. */
const maxWriteBackoffMs = 5000;
const userAgent = 'Switchboard-Webhooks/1.0';

export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { storage, config, metrics, now } = options;
  const random = options.random ?? Math.random;
  const sender = createSender({ timeoutMs: config.deliveryTimeoutSec * 1000, allowPrivate: config.allowPrivateDestinations, userAgent });
  const limits = createRateLimits();
  const circuits = createCircuitBreakers({ threshold: config.breakerFailures, cooldownMs: config.breakerCooldownSec * 1000 });
  const inFlight = new Set<Promise<void>>();
  /** This worker's requests in flight per destination (claimed, not yet answered). */
  const busy = new Map<string, number>();
  let done: DeliveryOutcome[] = [];
  let flushing: Promise<void> | null = null;
  let claiming: Promise<number> | null = null;
  let recorded = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** While recording outcomes fails: how long to wait before trying again (0: the last write went through). */
  let writeBackoffMs = 0;

  /** Claims what fits in the free concurrency and starts sending it; resolves to how many were claimed. */
  function claimAndStart(): Promise<number> {
    claiming ??= (async () => {
      const room = config.deliveryConcurrency - inFlight.size;
      if (room <= 0 || closed || writeBackoffMs > 0) return 0;
      const at = now();
      const share: ClaimShare = { perDestination: config.destinationConcurrency, busy: Object.fromEntries(busy), caps: circuits.caps(at) };
      const claimed = await storage.deliveries.claim(at, Math.min(room, maxClaim), config.deliveryLeaseSec * 1000, share);
      if (claimed.length === 0) return 0;
      const [events, destinations] = await Promise.all([loadEvents(claimed), loadDestinations()]);
      const payloads = new Map<number, string>();
      for (const d of claimed) {
        const event = events.get(d.eventSeq);
        const destination = destinations.get(d.destinationId);
        if (event && !payloads.has(d.eventSeq)) payloads.set(d.eventSeq, envelopeJson(event));
        track(d.destinationId, deliver(d, event, destination, payloads.get(d.eventSeq)));
      }
      return claimed.length;
    })().finally(() => (claiming = null));
    return claiming;
  }

  /** A claim that reads the clock now: one already running may have read it before the clock moved. */
  async function claimFresh(): Promise<number> {
    while (claiming) await claiming.catch(() => 0);
    return claimAndStart();
  }

  function track(destinationId: string, sending: Promise<DeliveryOutcome>): void {
    busy.set(destinationId, (busy.get(destinationId) ?? 0) + 1);
    const p = sending.then(
      (outcome) => {
        done.push(outcome);
        scheduleFlush();
      },
      (error: unknown) => options.onError(error),
    ).finally(() => {
      const n = (busy.get(destinationId) ?? 1) - 1;
      if (n > 0) busy.set(destinationId, n);
      else busy.delete(destinationId);
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }

  async function deliver(d: Delivery, event: StoredEvent | undefined, destination: Destination | undefined, payload: string | undefined): Promise<DeliveryOutcome> {
    if (!event || !destination || payload === undefined) {
      // Pruned event or deleted destination: nothing left to send.
      const reason = !event ? 'the event is no longer in the log' : 'the destination was deleted';
      return outcomeOf(d, 'failed', attemptOf(d, { ok: false, status: null, latencyMs: 0, responseBody: '', retryAfter: null, error: reason }), null, null);
    }
    const slot = limits.take(destination.id, destination.rateLimitPerSec, maxRateWaitMs);
    if ('retryInMs' in slot) return outcomeOf(d, 'deferred', null, now() + slot.retryInMs, null);
    if (slot.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, slot.waitMs));
    const headers = {
      ...destination.headers,
      ...signatureHeaders({ id: event.id, timestampSec: Math.floor(Date.now() / 1000), payload, secrets: signingSecrets(destination, now()) }),
    };
    const result = await sender.send({ url: destination.url, headers, body: payload });
    metrics.deliveryLatency.observe(result.latencyMs / 1000);
    // No status: no answer at all (timeout, refused, reset). Any answer shows the receiver is there.
    const change = circuits.record(destination.id, now(), result.status !== null);
    if (change) options.onCircuit?.(destination.id, change);
    return decide(d, event, destination, result);
  }

  /** What an attempt's result means: delivered, retry later, or failed (410 Gone, or the schedule ran out). */
  function decide(d: Delivery, event: StoredEvent, destination: Destination, result: SendResult): DeliveryOutcome {
    const attempt = attemptOf(d, result);
    if (result.ok) return outcomeOf(d, 'delivered', attempt, null, null);
    const at = attempt.attemptedAt;
    const events: NewEvent[] = [];
    const failingFor = at - (destination.failingSince ?? at);
    const disable =
      result.status === 410 ? 'the destination answered 410 Gone'
      : failingFor >= config.disableAfterFailingHours * 3_600_000 ? `failing continuously for ${config.disableAfterFailingHours} hours`
      : null;
    if (disable) events.push(operationalEvent(systemTypes.destinationDisabled, '', null, { destination_id: destination.id, reason: disable }));
    const scheduled = disable === null ? nextDelayMs(config.retryScheduleSec, d.attempts - d.scheduleStart + 1, config.retryJitter, random) : null;
    if (scheduled === null) {
      events.push(operationalEvent(systemTypes.deliveryFailed, event.sourceId, event.callId, {
        delivery_id: d.id, destination_id: destination.id, event_id: event.id, event_type: envelopeType(event.status, event.type),
        attempts: d.attempts + 1, last_status: result.status, last_error: attempt.error, reason: disable ?? 'the retry schedule ran out',
      }));
      return { ...outcomeOf(d, 'failed', attempt, null, disable), raises: events };
    }
    const delay = result.status === 429 || result.status === 503 ? applyRetryAfter(scheduled, parseRetryAfter(result.retryAfter ?? undefined, Date.now())) : scheduled;
    return { ...outcomeOf(d, 'retry', attempt, at + delay, null), raises: events };
  }

  function attemptOf(d: Delivery, r: SendResult) {
    const error = r.error ?? (r.ok ? null : `answered ${r.status}`);
    return { attempt: d.attempts + 1, attemptedAt: now(), status: r.status, latencyMs: r.latencyMs, responseBody: r.responseBody || null, error };
  }

  function operationalEvent(type: string, sourceId: string, callId: string | null, data: Record<string, unknown>): NewEvent {
    return systemEvent({ type, sourceId, callId, data, at: now() });
  }

  function scheduleFlush(): void {
    if (flushing) return;
    flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(flush).finally(() => {
      flushing = null;
      if (done.length > 0) scheduleFlush();
      kick();
    });
  }

  async function flush(): Promise<void> {
    const batch = done;
    done = [];
    if (batch.length === 0) return;
    try {
      const { stale, appended } = await storage.deliveries.complete(batch, now());
      recorded += batch.length;
      const dropped = new Set<string>(stale);
      for (const outcome of batch) if (outcome.result !== 'deferred' && !dropped.has(outcome.deliveryId)) metrics.deliveryAttempts.inc({ result: outcome.result });
      if (appended.length > 0) options.onAppended();
      writeBackoffMs = 0;
    } catch (error) {
      options.onError(error);
      // Kept while their leases hold, and recorded when the database answers again: dropped, they would be
      // sent again by whichever worker claims them once the leases run out — the same webhooks every lease
      // period for as long as writes fail. Meanwhile this worker claims nothing new. Past its lease an
      // outcome is dropped (the fence would refuse it) and the delivery goes out again, same webhook-id.
      const at = now();
      const held = closed ? [] : batch.filter((o) => o.lease !== null && o.lease > at);
      if (held.length === 0) {
        writeBackoffMs = 0;
        return;
      }
      done = [...held, ...done];
      writeBackoffMs = Math.min(Math.max(writeBackoffMs * 2, 100), maxWriteBackoffMs);
      await new Promise((resolve) => setTimeout(resolve, writeBackoffMs));
    }
  }

  /** Claims again and again while there is room and work; one loop at a time, once more if kicked meanwhile. */
  const claims = coalesce(async () => {
    while (!closed && (await claimAndStart()) > 0 && inFlight.size < config.deliveryConcurrency);
  }, options.onError);
  function kick(): void {
    if (closed) return;
    void claims.trigger();
  }

  async function loadEvents(claimed: Delivery[]): Promise<Map<number, StoredEvent>> {
    const events = await storage.events.getBySeqs([...new Set(claimed.map((d) => d.eventSeq))]);
    return new Map(events.map((e) => [e.seq, e]));
  }

  /** Read afresh for every claim (one query), so an edit, a rotation or a deletion applies at once. */
  async function loadDestinations(): Promise<Map<string, Destination>> {
    return new Map((await storage.destinations.list()).map((d) => [d.id, d]));
  }

  return {
    start() {
      timer = setInterval(kick, config.relayPollMs);
      timer.unref();
      kick();
    },
    wake: kick,
    async runUntilIdle() {
      const before = recorded;
      for (;;) {
        const mark = recorded;
        const claimed = await claimFresh();
        while (inFlight.size > 0) await Promise.all([...inFlight]);
        while (flushing || done.length > 0) await (flushing ?? flush());
        if (claimed === 0 && recorded === mark) return recorded - before;
      }
    },
    get circuitsOpen() {
      return circuits.open;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      while (flushing || done.length > 0) await (flushing ?? flush());
      await sender.close();
    },
  };
}

function outcomeOf(d: Delivery, result: DeliveryOutcome['result'], attempt: DeliveryOutcome['attempt'], nextAttemptAt: number | null, disable: string | null): DeliveryOutcome {
  return { deliveryId: d.id, destinationId: d.destinationId, result, attempt, nextAttemptAt, disableDestination: disable, lease: d.lease };
}
