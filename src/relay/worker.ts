import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/index.js';
import type { Destination } from '../domain/destination.js';
import { envelopeJson } from '../domain/envelope.js';
import type { Metrics } from '../observability/metrics.js';
import type { ClaimShare, Delivery, DeliveryOutcome, Destinations, EventReader, Outbox, PaceSlots, StoredEvent } from '../storage/ports.js';
import { eventBytes, pageFull, readPageBytes } from '../storage/shared/event-log.js';
import { createCircuitBreakers } from './breaker.js';
import { coalesce, singleFlight } from './coalesce.js';
import { deferred, outcomeAfterAttempt, unsendable, type OutcomeContext } from './delivery-outcome.js';
import { createInFlight } from './in-flight.js';
import { createOutcomeRecorder } from './outcome-recorder.js';
import { createWebhookSender } from './sign-and-send.js';

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
 * (breaker.ts). SWITCHBOARD_DESTINATION_CONCURRENCY and the circuits are per worker (N workers may have N ×
 * that many requests in flight to one); a destination's own max_concurrency and rate_limit_per_sec hold for
 * every worker on the database together (the claim counts the cluster's leases, `pace` reserves send slots
 * from one bucket: Outbox).
 */
export type WorkerConfig = Pick<
  Config,
  | 'retryScheduleSec' | 'retryJitter' | 'deliveryTimeoutSec' | 'deliveryConcurrency' | 'deliveryLeaseSec' | 'disableAfterFailingHours' | 'relayPollMs'
  | 'allowPrivateDestinations' | 'destinationConcurrency' | 'breakerFailures' | 'breakerCooldownSec'
>;

export interface DeliveryWorkerOptions {
  storage: { deliveries: Outbox; events: Pick<EventReader, 'getBySeqs' | 'waitSequenced'>; destinations: Pick<Destinations, 'list'> };
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
  /**
   * The bytes of events a claim reads and the sends in flight hold (each event counted as the log's reads count it):
   * a claim's events past it wait for a later claim, and no claim is made while the sends in flight hold it. With
   * large events, a claim of 500 deliveries would read hundreds of MB. Default: `readPageBytes`.
   */
  pageBytes?: number;
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
/** A rate-limited delivery's send slot: wait this long, or come back in this long (deferred). */
type Slot = { waitMs: number } | { retryInMs: number };
/** A rate-limited delivery waits in memory this long at most (holding a send slot); beyond, it is deferred. */
const maxRateWaitMs = 1000;

export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { storage, config, metrics, now } = options;
  const outcomes: OutcomeContext = { policy: config, now, random: options.random ?? Math.random };
  const webhooks = createWebhookSender(config);
  const circuits = createCircuitBreakers({ threshold: config.breakerFailures, cooldownMs: config.breakerCooldownSec * 1000 });
  const inFlight = createInFlight();
  const recorder = createOutcomeRecorder({
    complete: (batch, at) => storage.deliveries.complete(batch, at),
    now,
    metrics,
    onAppended: options.onAppended,
    onError: options.onError,
    onWritten: () => kick(),
    closing: () => closed,
  });
  const claim = singleFlight(claimAndStart);
  const pageBytes = options.pageBytes ?? readPageBytes;
  /** The bytes of the events of the sends in flight (an event sent to several destinations counts once for each). */
  let inFlightBytes = 0;
  const refillAt = Math.max(1, Math.floor(config.deliveryConcurrency / 4));
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /**
   * Rate-limited destinations whose bucket had no slot within the longest wait: until when (the clock of due
   * times). Claims leave them out meanwhile: each claim would otherwise lease a share of their backlog only
   * to defer it, again and again, until the whole backlog had been rewritten.
   */
  const pacedUntil = new Map<string, number>();

  /** Claims what fits in the free concurrency and starts sending it; resolves to how many were claimed. */
  async function claimAndStart(): Promise<number> {
    const room = config.deliveryConcurrency - inFlight.size;
    if (room <= 0 || closed || recorder.failing || inFlightBytes >= pageBytes) return 0;
    const at = now();
    const share: ClaimShare = { perDestination: config.destinationConcurrency, busy: inFlight.busy(), caps: { ...circuits.caps(at), ...pacedCaps(at) } };
    const claimed = await storage.deliveries.claim(at, Math.min(room, maxClaim), config.deliveryLeaseSec * 1000, share);
    if (claimed.length === 0) return 0;
    const [{ events, through }, destinations] = await Promise.all([loadEvents(claimed, pageBytes - inFlightBytes), loadDestinations()]);
    const slots = reserveSlots(claimed, events, destinations);
    const payloads = new Map<number, string>();
    for (const d of claimed) {
      // Its event was not read (the claim's events past the budget): it waits for a claim once sends have ended.
      if (d.eventSeq > through) {
        recorder.add(deferred(d, at));
        continue;
      }
      const event = events.get(d.eventSeq);
      const destination = destinations.get(d.destinationId);
      if (event && !payloads.has(d.eventSeq)) payloads.set(d.eventSeq, envelopeJson(event));
      const sending = deliver(d, event, destination, payloads.get(d.eventSeq), slots.get(d.id));
      const bytes = event ? eventBytes(event) : 0;
      inFlightBytes += bytes;
      void sending.finally(() => (inFlightBytes -= bytes)).catch(() => {});
      inFlight.track(d.destinationId, sending.then((outcome) => recorder.add(outcome), (error: unknown) => options.onError(error)));
      // Once the send is answered, its slot is free: claim again then, rather than after the outcome's write
      // (which waits for the write under way, then its own), so that claims, sends and writes overlap.
      void sending.then(afterSend, afterSend);
    }
    return claimed.length;
  }

  /**
   * The send slots of the claim's deliveries to rate-limited destinations, reserved at once (one request per
   * destination): each delivery's wait, or, past the longest wait, when to come back (the first slot not
   * reserved, and one interval more for each one after it, so that they do not all come back at once).
   */
  function reserveSlots(claimed: Delivery[], events: Map<number, StoredEvent>, destinations: Map<string, Destination>): Map<string, Promise<Slot>> {
    const groups = new Map<string, Delivery[]>();
    for (const d of claimed) {
      if (!events.has(d.eventSeq) || !destinations.get(d.destinationId)?.rateLimitPerSec) continue;
      const group = groups.get(d.destinationId);
      if (group) group.push(d);
      else groups.set(d.destinationId, [d]);
    }
    const slots = new Map<string, Promise<Slot>>();
    if (groups.size === 0) return slots;
    const requests = [...groups].map(([id, ds]) => ({ destinationId: id, perSecond: destinations.get(id)!.rateLimitPerSec!, count: ds.length }));
    // Not reserved (the database did not answer): all come back after the longest wait.
    const reserved = storage.deliveries.pace(requests, maxRateWaitMs).catch((error: unknown): PaceSlots[] => {
      options.onError(error);
      return requests.map(() => ({ waits: [], retryInMs: maxRateWaitMs }));
    });
    void reserved.then((all) => all.forEach(({ retryInMs }, i) => {
      if (retryInMs !== null) pacedUntil.set(requests[i]!.destinationId, now() + retryInMs);
    }));
    requests.forEach((r, i) => groups.get(r.destinationId)!.forEach((d, k) => slots.set(d.id, reserved.then((all): Slot => {
      const { waits, retryInMs } = all[i]!;
      return k < waits.length ? { waitMs: waits[k]! } : { retryInMs: (retryInMs ?? maxRateWaitMs) + (k - waits.length) * (1000 / r.perSecond) };
    }))));
    return slots;
  }

  /** A cap of 0 for each destination whose bucket has no slot yet (pacedUntil). */
  function pacedCaps(at: number): Record<string, number> {
    const caps: Record<string, number> = {};
    for (const [id, until] of pacedUntil) {
      if (until > at) caps[id] = 0;
      else pacedUntil.delete(id);
    }
    return caps;
  }

  async function deliver(d: Delivery, event: StoredEvent | undefined, destination: Destination | undefined, payload: string | undefined, paced: Promise<Slot> | undefined): Promise<DeliveryOutcome> {
    if (!event || !destination || payload === undefined) {
      // Pruned event or deleted destination: nothing left to send.
      return unsendable(d, !event ? 'the event is no longer in the log' : 'the destination was deleted', now());
    }
    if (paced) {
      const slot = await paced;
      if ('retryInMs' in slot) return deferred(d, now() + slot.retryInMs);
      if (slot.waitMs > 0) await sleep(slot.waitMs);
    }
    const result = await webhooks.signAndSend(destination, { id: event.id, payload }, now());
    metrics.deliveryLatency.observe(result.latencyMs / 1000);
    // No status: no answer at all (timeout, refused, reset). Any answer shows the receiver is there.
    const change = circuits.record(destination.id, now(), result.status !== null);
    if (change) options.onCircuit?.(destination.id, change);
    return outcomeAfterAttempt(d, event, destination, result, outcomes);
  }

  /** Claims again and again while there is room and work; one loop at a time, once more if kicked meanwhile. */
  const claims = coalesce(async () => {
    while (!closed && (await claim.join()) > 0 && inFlight.size < config.deliveryConcurrency);
  }, options.onError);
  /**
   * A send was answered. A claim has a cost of its own in the database (one walk per destination), so
   * one goes out once a quarter of the slots is free; the outcome's write kicks as before (what it freed,
   * a call's next event, can only be claimed after it).
   */
  function afterSend(): void {
    if (config.deliveryConcurrency - inFlight.size >= refillAt) kick();
  }
  function kick(): void {
    if (closed) return;
    void claims.trigger();
  }

  /**
   * The events of a claim's deliveries, the first by seq that fit in `maxBytes` (one at least). `through`: the highest
   * seq read when the budget ended the read (the deliveries of later events were not read), else Infinity: an event
   * missing up to it is no longer in the log.
   */
  async function loadEvents(claimed: Delivery[], maxBytes: number): Promise<{ events: Map<number, StoredEvent>; through: number }> {
    const seqs = [...new Set(claimed.map((d) => d.eventSeq))];
    const events = await storage.events.getBySeqs(seqs, maxBytes);
    const cut = events.length < seqs.length && pageFull(events, Infinity, maxBytes);
    return { events: new Map(events.map((e) => [e.seq, e])), through: cut ? events.at(-1)!.seq : Infinity };
  }

  /** Read afresh for every claim (one query), so an edit, a rotation or a deletion applies at once. */
  async function loadDestinations(): Promise<Map<string, Destination>> {
    return new Map((await storage.destinations.list()).map((d) => [d.id, d]));
  }

  /** Everything sent is answered and every outcome written. */
  async function settle(): Promise<void> {
    await inFlight.settle();
    await recorder.drain();
  }

  return {
    start() {
      timer = setInterval(kick, config.relayPollMs);
      timer.unref();
      kick();
    },
    wake: kick,
    async runUntilIdle() {
      const before = recorder.recorded;
      for (;;) {
        const mark = recorder.recorded;
        // PostgreSQL: a delivery is claimable once its event has its seq (given after commit).
        await storage.events.waitSequenced();
        // A claim that reads the clock now: one already running may have read it before the clock moved.
        const claimed = await claim.fresh();
        await settle();
        if (claimed === 0 && recorder.recorded === mark) return recorder.recorded - before;
      }
    },
    get circuitsOpen() {
      return circuits.open;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await settle();
      await webhooks.close();
    },
  };
}
