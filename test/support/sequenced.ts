import type { Storage } from '../../src/storage/ports.js';

/**
 * Waits until every event committed so far has its seq (PostgreSQL's sequencer gives it after commit; at once on
 * SQLite), and fails the test saying so when they still have none after `withinMs`. The bound is generous: the
 * tests share one PostgreSQL cluster, whose watermark another test's open transaction may hold back for a while
 * under load; it costs nothing when green (the wait ends as soon as the seqs are there). Without the check a
 * wait that ran out passed silently, and the test failed later on a read that found nothing numbered.
 */
export async function sequenced(storage: Pick<Storage, 'events'>, withinMs = 45_000): Promise<void> {
  if (await storage.events.waitSequenced(withinMs)) return;
  throw new Error(`events committed before this wait still had no seq after ${withinMs / 1000} s: no sequencer runs, or a transaction holds the cluster's watermark back`);
}
