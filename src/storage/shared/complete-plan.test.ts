import { describe, expect, it } from 'vitest';
import type { DeliveryId, DestinationId } from '../../domain/ids.js';
import type { DeliveryOutcome } from '../ports.js';
import { completionRows } from './complete-plan.js';

const outcome = (id: string, result: DeliveryOutcome['result'], attempt: number | null, extra: Partial<DeliveryOutcome> = {}): DeliveryOutcome => ({
  deliveryId: id as DeliveryId,
  destinationId: (extra.destinationId ?? 'dst_a') as DestinationId,
  result,
  attempt: attempt === null ? null : { attempt, attemptedAt: 1_000 * attempt, status: result === 'delivered' ? 200 : 500, latencyMs: 3, responseBody: 'x', error: null },
  nextAttemptAt: result === 'retry' || result === 'deferred' ? 99_000 : null,
  disableDestination: null,
  lease: 60_000,
  ...extra,
});

describe('recording delivery outcomes', () => {
  it('pushes a retried delivery’s successors to its retry time, and pulls them forward when it finally ends', () => {
    const rows = completionRows([
      outcome('dlv_first_try_ok', 'delivered', 1),
      outcome('dlv_retry', 'retry', 1),
      outcome('dlv_late_ok', 'delivered', 3),
      outcome('dlv_dead', 'failed', 8),
      outcome('dlv_deferred', 'deferred', null),
    ]);
    expect(rows.successors).toEqual([
      { id: 'dlv_retry', kind: 'push', at: 99_000 },
      { id: 'dlv_late_ok', kind: 'pull', at: 3_000 },
      { id: 'dlv_dead', kind: 'pull', at: 8_000 },
    ]);
    expect(rows.attempts.map((a) => [a.delivery_id, a.attempt])).toEqual([['dlv_first_try_ok', 1], ['dlv_retry', 1], ['dlv_late_ok', 3], ['dlv_dead', 8]]);
    expect(rows.deliveries.map((d) => [d.id, d.status, d.attempted, d.finished_at])).toEqual([
      ['dlv_first_try_ok', 'delivered', 1, 1_000], ['dlv_retry', 'pending', 1, null], ['dlv_late_ok', 'delivered', 1, 3_000],
      ['dlv_dead', 'failed', 1, 8_000], ['dlv_deferred', 'pending', 0, null],
    ]);
  });

  it('folds a batch into one update per destination: the last attempt decides, a disable reason is kept', () => {
    const rows = completionRows([
      outcome('dlv_1', 'retry', 1, { destinationId: 'dst_a' as DestinationId }),
      outcome('dlv_2', 'delivered', 2, { destinationId: 'dst_a' as DestinationId }),
      outcome('dlv_3', 'retry', 1, { destinationId: 'dst_b' as DestinationId }),
      outcome('dlv_4', 'failed', 4, { destinationId: 'dst_b' as DestinationId, disableDestination: 'gone' }),
      outcome('dlv_5', 'deferred', null, { destinationId: 'dst_c' as DestinationId }),
    ]);
    expect(rows.destinations).toEqual([
      { id: 'dst_a', failure: 'cleared', failingSince: null, disabledReason: null },
      { id: 'dst_b', failure: 'failing', failingSince: 1_000, disabledReason: 'gone' },
      { id: 'dst_c', failure: 'unchanged', failingSince: null, disabledReason: null },
    ]);
  });
});
