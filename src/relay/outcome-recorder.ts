import { setTimeout as sleep } from 'node:timers/promises';
import type { CompleteResult, DeliveryOutcome } from '../storage/ports.js';

export interface OutcomeRecorderOptions {
  /** Records a batch in one transaction (storage's `deliveries.complete`). */
  complete: (outcomes: readonly DeliveryOutcome[], now: number) => Promise<CompleteResult>;
  now: () => number;
  /** Counts the attempts recorded, by result (the Metrics' `deliveryAttempts`). */
  metrics: { deliveryAttempts: { inc(labels: { result: string }): void } };
  /** Operational events were appended (the stream looks for them). */
  onAppended: () => void;
  onError: (error: unknown) => void;
  /** A write ended, done or not: what it freed (a call's next event, a slot) may be claimed. */
  onWritten: () => void;
  /** The worker is closing: the outcomes of a write that failed are dropped rather than held. */
  closing: () => boolean;
}

/** An attempt's error in place of its own when the database refused the attempt's text (its answer's body is left out). */
export const textNotStored = 'not stored: the database refused this attempt\'s text';

/** SQLSTATE class 22, data exception (PostgreSQL's errors carry their code). */
const isDataException = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
};

const hasText = (o: DeliveryOutcome): boolean =>
  o.attempt !== null && (o.attempt.responseBody !== null || (o.attempt.error !== null && o.attempt.error !== textNotStored));
const withoutText = (o: DeliveryOutcome): DeliveryOutcome =>
  hasText(o) ? { ...o, attempt: { ...o.attempt!, responseBody: null, error: o.attempt!.error === null ? null : textNotStored } } : o;

/** Recording outcomes that failed is tried again after 100 ms, doubling up to this. */
const maxWriteBackoffMs = 5000;

/**
 * The delivery worker's outcomes, written in batches: every outcome that arrives before the next macrotask
 * goes in one transaction, and one write at a time.
 *
 * @example
 * const recorder = createOutcomeRecorder({ complete: (o, now) => storage.deliveries.complete(o, now), now, metrics, onAppended, onError, onWritten: kick, closing: () => closed });
 * recorder.add(outcome);
 * await recorder.drain();
 */
export function createOutcomeRecorder(options: OutcomeRecorderOptions) {
  const { metrics, now } = options;
  let pending: DeliveryOutcome[] = [];
  let writing: Promise<void> | null = null;
  let recorded = 0;
  /** While recording fails: how long to wait before trying again (0: the last write went through). */
  let backoffMs = 0;

  function schedule(): void {
    if (writing) return;
    writing = new Promise<void>((resolve) => setImmediate(resolve)).then(write).finally(() => {
      writing = null;
      if (pending.length > 0) schedule();
      options.onWritten();
    });
  }

  async function write(): Promise<void> {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      const { stale, appended, rescheduled = [] } = await options.complete(batch, now());
      recorded += batch.length;
      const dropped = new Set<string>(stale);
      // A failure recorded as pending (a retry was asked for during its attempt) is counted as the retry it is.
      const retried = new Set<string>(rescheduled);
      for (const outcome of batch) {
        if (outcome.result !== 'deferred' && !dropped.has(outcome.deliveryId)) metrics.deliveryAttempts.inc({ result: retried.has(outcome.deliveryId) ? 'retry' : outcome.result });
      }
      if (appended.length > 0) options.onAppended();
      backoffMs = 0;
    } catch (error) {
      options.onError(error);
      // A value the database refuses (a data exception: text PostgreSQL cannot hold, say) would fail every retry
      // of this batch, and the worker claims nothing while writes fail: one receiver's answer would hold up every
      // destination. The attempts' text (the answer's body, the error) is what came from outside; written once
      // more without it, the outcomes still count. Refused again, the batch is held as any failed write.
      if (isDataException(error) && batch.some(hasText)) {
        pending = [...batch.map(withoutText), ...pending];
        return;
      }
      // Kept while their leases hold, and recorded when the database answers again: dropped, they would be
      // sent again by whichever worker claims them once the leases run out — the same webhooks every lease
      // period for as long as writes fail. Meanwhile the worker claims nothing new. Past its lease an
      // outcome is dropped (the fence would refuse it) and the delivery goes out again, same webhook-id.
      const at = now();
      const held = options.closing() ? [] : batch.filter((o) => o.lease !== null && o.lease > at);
      if (held.length === 0) {
        backoffMs = 0;
        return;
      }
      pending = [...held, ...pending];
      backoffMs = Math.min(Math.max(backoffMs * 2, 100), maxWriteBackoffMs);
      await sleep(backoffMs);
    }
  }

  return {
    add(outcome: DeliveryOutcome): void {
      pending.push(outcome);
      schedule();
    },
    /** Outcomes written so far (including those storage dropped as stale). */
    get recorded(): number {
      return recorded;
    },
    /** Writes are failing: claim nothing new until one goes through. */
    get failing(): boolean {
      return backoffMs > 0;
    },
    /** Resolves once every outcome added, and any added meanwhile, has been written (or given up). */
    async drain(): Promise<void> {
      while (writing || pending.length > 0) await (writing ?? write());
    },
  };
}
