import { systemTypes } from '../domain/envelope.js';
import type { Calls } from '../storage/ports.js';
import type { Ingest } from './service.js';
import { systemEvent } from './system-event.js';

export interface StaleSweepOptions {
  calls: Pick<Calls, 'staleCandidates'>;
  ingest: Pick<Ingest, 'appendSystem'>;
  /** A call with no end_call this long after its last event becomes stale. */
  staleAfterMin: number;
  now: () => number;
  /** Calls marked per append (the sweep repeats until none is left). */
  batch?: number;
}

/**
 * Appends a `call.stale` event for each call in progress for longer than `staleAfterMin`. The event marks the
 * call in the same transaction (the call record's merge), so two nodes sweeping at once mark a call once.
 * Resolves to the number of calls marked.
 */
export function createStaleSweep({ calls, ingest, staleAfterMin, now, batch = 500 }: StaleSweepOptions): () => Promise<number> {
  const data = { reason: 'no_end_call', stale_after_min: staleAfterMin };
  return async function sweepStale() {
    let marked = 0;
    for (;;) {
      const candidates = await calls.staleCandidates(now() - staleAfterMin * 60_000, batch);
      if (candidates.length === 0) return marked;
      const at = now();
      const results = await ingest.appendSystem(candidates.map((c) => systemEvent({ type: systemTypes.callStale, sourceId: c.sourceId, callId: c.callId, data, at })));
      marked += results.filter((r) => !r.skipped).length;
      if (candidates.length < batch) return marked;
    }
  };
}
