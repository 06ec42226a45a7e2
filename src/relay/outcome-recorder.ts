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
const isDataException = (error: unknown): boolean => codeOf(error)?.startsWith('22') === true;

/**
 * The database refused what the batch holds, not the write: a data exception, or an integrity violation
 * (PostgreSQL's class 23; SQLite's SQLITE_CONSTRAINT…). Written again, the same outcomes would be refused again.
 */
const isRefusal = (error: unknown): boolean => {
  const code = codeOf(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23') || code.startsWith('SQLITE_CONSTRAINT'));
};

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
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
  /** Of those, the outcomes of an attempt (a deferral writes no attempt: the database may take it and refuse every attempt). */
  let recordedAttempts = 0;
  /** While recording fails: how long to wait before trying again (0: the last write went through). */
  let backoffMs = 0;
  /**
   * While the database refuses every new attempt's outcome (a broken constraint: each write's all set aside, none
   * recorded): how long the worker rests its claims after such a write (0: the last new ones were recorded).
   * Else it would claim, send and set aside its whole backlog again every lease period, saying each one.
   */
  let restMs = 0;
  /** From a refusal of new outcomes to the end of the write, and of its rest if every one was refused. */
  let resting = false;
  /**
   * Outcomes the database refused on their own (`isRefusal`, even without their text): set aside, so that they
   * hold up neither the others nor the worker's claims, and tried again alone now and then (`refusedBackoffMs`)
   * while their lease holds; past it they are dropped, and the delivery goes out again (same webhook-id).
   */
  const refused: DeliveryOutcome[] = [];
  /** Those said (once each: `onError`, the delivery's id and the database's code). */
  const said = new WeakSet<DeliveryOutcome>();
  let refusedTimer: NodeJS.Timeout | null = null;
  let refusedBackoffMs = 0;

  function schedule(): void {
    if (writing) return;
    writing = new Promise<void>((resolve) => setImmediate(resolve)).then(write).finally(() => {
      writing = null;
      if (pending.length > 0) schedule();
      options.onWritten();
    });
  }

  /** Records the batch in one transaction and counts its attempts; throws what `complete` throws. */
  async function commit(batch: readonly DeliveryOutcome[]): Promise<void> {
    const { stale, appended, rescheduled = [] } = await options.complete(batch, now());
    recorded += batch.length;
    recordedAttempts += batch.filter((o) => o.attempt !== null).length;
    const dropped = new Set<string>(stale);
    // A failure recorded as pending (a retry was asked for during its attempt) is counted as the retry it is.
    const retried = new Set<string>(rescheduled);
    for (const outcome of batch) {
      if (outcome.result !== 'deferred' && !dropped.has(outcome.deliveryId)) metrics.deliveryAttempts.inc({ result: retried.has(outcome.deliveryId) ? 'retry' : outcome.result });
    }
    if (appended.length > 0) options.onAppended();
  }

  /**
   * Writes `batch`, saying a failure (`onError`) if it is not a refusal or `say` holds. Refused (`isRefusal`): its
   * halves in turn, and so on down to the outcomes the database refuses alone, so that the others are recorded
   * now, in a few transactions, with their text. One refused alone with a data exception (text PostgreSQL
   * cannot hold, say) is written once more without its attempt's text (it came from outside; without it the
   * outcome still counts); refused even so, it is set aside (`setAside`). Answers what a failure of the write
   * itself (not a refusal) left unwritten.
   */
  async function record(batch: readonly DeliveryOutcome[], say: boolean): Promise<DeliveryOutcome[]> {
    try {
      await commit(batch);
      return [];
    } catch (error) {
      const refusal = isRefusal(error);
      if (say || !refusal) options.onError(error);
      // New outcomes refused: no claims while they are sorted out (write() decides whether to rest after).
      if (say && refusal) resting = true;
      if (!refusal) return [...batch];
      if (batch.length === 1) {
        if (isDataException(error) && hasText(batch[0]!)) return record([withoutText(batch[0]!)], false);
        setAside(batch[0]!, error);
        return [];
      }
      const half = Math.ceil(batch.length / 2);
      const first = await record(batch.slice(0, half), false);
      return first.length > 0 ? [...first, ...batch.slice(half)] : record(batch.slice(half), false);
    }
  }

  function setAside(outcome: DeliveryOutcome, error: unknown): void {
    if (!said.has(outcome)) {
      said.add(outcome);
      options.onError(new Error(`the database refused the outcome of delivery ${outcome.deliveryId} (${codeOf(error)}): it is tried again alone until its lease runs out, then the delivery goes out again`));
    }
    refused.push(outcome);
    if (refusedTimer) return;
    refusedBackoffMs = Math.min(Math.max(refusedBackoffMs * 2, 100), maxWriteBackoffMs);
    refusedTimer = setTimeout(() => {
      refusedTimer = null;
      const at = now();
      const again = refused.splice(0).filter((o) => !options.closing() && o.lease !== null && o.lease > at);
      if (again.length === 0) {
        refusedBackoffMs = 0;
        return;
      }
      pending.push(...again);
      schedule();
    }, refusedBackoffMs);
    refusedTimer.unref();
  }

  async function write(): Promise<void> {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    // Outcomes set aside before go alone and unsaid: refused again, they hold up no other and are not said again.
    const again = batch.filter((o) => said.has(o));
    const parts = again.length === 0 ? [batch] : [batch.filter((o) => !said.has(o)), ...again.map((o) => [o])];
    const unwritten: DeliveryOutcome[] = [];
    const before = recordedAttempts;
    let freshRecorded = 0;
    for (const part of parts) {
      // The database failed a write: the rest waits with what it left.
      if (unwritten.length > 0) unwritten.push(...part);
      else if (part.length > 0) unwritten.push(...(await record(part, !said.has(part[0]!))));
      if (part === parts[0]) freshRecorded = recordedAttempts - before;
    }
    const fresh = parts[0]!.filter((o) => o.attempt !== null).length;
    // Kept while their leases hold, and recorded when the database answers again: dropped, they would be
    // sent again by whichever worker claims them once the leases run out — the same webhooks every lease
    // period for as long as writes fail. Meanwhile the worker claims nothing new. Past its lease an
    // outcome is dropped (the fence would refuse it) and the delivery goes out again, same webhook-id.
    const at = now();
    const held = options.closing() ? [] : unwritten.filter((o) => o.lease !== null && o.lease > at);
    if (fresh > 0 && freshRecorded === 0 && unwritten.length === 0 && !options.closing()) {
      // Every new attempt's outcome refused: no claims for a while (what is claimed meanwhile would be refused too).
      restMs = Math.min(Math.max(restMs * 2, 100), maxWriteBackoffMs);
      await sleep(restMs);
    } else if (freshRecorded > 0) restMs = 0;
    resting = false;
    if (held.length === 0) {
      backoffMs = 0;
      return;
    }
    pending = [...held, ...pending];
    backoffMs = Math.min(Math.max(backoffMs * 2, 100), maxWriteBackoffMs);
    await sleep(backoffMs);
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
    /** Writes are failing, or resting after the database refused every new outcome: claim nothing new meanwhile. */
    get failing(): boolean {
      return backoffMs > 0 || resting;
    },
    /** Resolves once every outcome added, and any added meanwhile, has been written (or given up, or set aside: refused). */
    async drain(): Promise<void> {
      while (writing || pending.length > 0) await (writing ?? write());
    },
  };
}
