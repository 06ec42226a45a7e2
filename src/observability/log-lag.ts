import type { FastifyBaseLogger } from 'fastify';
import type { SequencerStatus } from '../storage/ports.js';
import type { Metrics } from './metrics.js';

/**
 * The PostgreSQL log's lag (issue 14) as metrics, and a warning while it is past `warnMs`: an event waits
 * for its seq until every transaction older than its own has ended, so one transaction left open anywhere
 * in the cluster (a console session, a stuck job) holds every stream and delivery back. Logged once when
 * the lag goes past the threshold (then again at most every minute while it stays) and once when it is back.
 */
export function createLogLagWarning(options: { metrics: Metrics; log: () => FastifyBaseLogger; warnMs: number; repeatMs?: number }) {
  const repeatMs = options.repeatMs ?? 60_000;
  let warnedAt = 0;
  let warning = false;
  return {
    update(status: SequencerStatus): void {
      const { metrics } = options;
      metrics.logUnsequenced.set(status.unsequenced);
      metrics.logWatermarkLag.set(status.oldestUnsequencedMs / 1000);
      metrics.oldestTransactionAge.set(status.oldestTransactionMs / 1000);
      metrics.sequencerHolder.set(status.holder ? 1 : 0);
      const late = status.oldestUnsequencedMs > options.warnMs || status.oldestTransactionMs > options.warnMs;
      const now = Date.now();
      if (late && (!warning || now - warnedAt >= repeatMs)) {
        warning = true;
        warnedAt = now;
        options.log().warn(
          { watermark_lag_ms: status.oldestUnsequencedMs, oldest_transaction_ms: status.oldestTransactionMs, unsequenced: status.unsequenced },
          'the event log is held back: a transaction open for long in the PostgreSQL cluster keeps new events from their seq (streams and deliveries wait); see pg_stat_activity for the oldest xact_start',
        );
      } else if (!late && warning) {
        warning = false;
        options.log().info({ unsequenced: status.unsequenced }, 'the event log caught up');
      }
    },
  };
}
