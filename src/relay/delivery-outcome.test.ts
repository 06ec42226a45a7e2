import { describe, expect, it } from 'vitest';
import type { DeliveryId, DestinationId, EventId, SourceId } from '../domain/ids.js';
import { deferred, outcomeAfterAttempt, unsendable, type ClaimedDelivery, type DeliveredEvent, type OutcomeContext } from './delivery-outcome.js';
import type { SendResult } from './send.js';

const at = 5_000_000;
const context: OutcomeContext = { policy: { retryScheduleSec: [5], retryJitter: 0, disableAfterFailingHours: 120 }, now: () => at };
const delivery: ClaimedDelivery = { id: 'dlv_1' as DeliveryId, destinationId: 'dst_1' as DestinationId, attempts: 0, scheduleStart: 0, lease: at + 30_000 };
const event: DeliveredEvent = { id: 'evt_1' as EventId, sourceId: 'src_1' as SourceId, callId: 'call_1', type: 'end_call', status: 'ok' };
const destination = { id: 'dst_1' as DestinationId, failingSince: null };
const result = (status: number | null, extra: Partial<SendResult> = {}): SendResult => ({
  ok: status !== null && status < 300, status, latencyMs: 12, responseBody: '', retryAfter: null, error: null, ...extra,
});
const data = (e: { body: Buffer | null }) => JSON.parse(String(e.body)) as Record<string, unknown>;

describe('outcomeAfterAttempt', () => {
  it('records a success as delivered, with the attempt and no events', () => {
    expect(outcomeAfterAttempt(delivery, event, destination, result(200, { responseBody: 'ok' }), context)).toEqual({
      deliveryId: 'dlv_1', destinationId: 'dst_1', result: 'delivered', nextAttemptAt: null, disableDestination: null, lease: at + 30_000,
      attempt: { attempt: 1, attemptedAt: at, status: 200, latencyMs: 12, responseBody: 'ok', error: null },
    });
  });

  it('schedules a retry, raising nothing', () => {
    const outcome = outcomeAfterAttempt(delivery, event, destination, result(500), context);
    expect(outcome).toMatchObject({ result: 'retry', nextAttemptAt: at + 5_000, raises: [], attempt: { error: 'answered 500', responseBody: null } });
  });

  it('fails the delivery when the schedule runs out, raising delivery.failed', () => {
    const outcome = outcomeAfterAttempt({ ...delivery, attempts: 1 }, event, destination, result(null, { error: 'connection refused' }), context);
    expect(outcome).toMatchObject({ result: 'failed', nextAttemptAt: null, disableDestination: null });
    expect(outcome.raises!.map((e) => e.type)).toEqual(['switchboard.delivery.failed']);
    expect(outcome.raises![0]).toMatchObject({ sourceId: 'src_1', callId: 'call_1', receivedAt: at });
    expect(data(outcome.raises![0]!)).toEqual({
      delivery_id: 'dlv_1', destination_id: 'dst_1', event_id: 'evt_1', event_type: 'call.ended', attempts: 2, last_status: null,
      last_error: 'connection refused', reason: 'the retry schedule ran out',
    });
  });

  it('on 410 disables the destination too, with destination.disabled for storage to raise if this disables it, and delivery.failed', () => {
    const outcome = outcomeAfterAttempt(delivery, event, destination, result(410), context);
    expect(outcome).toMatchObject({ result: 'failed', disableDestination: 'the destination answered 410 Gone' });
    expect(outcome.raises!.map((e) => e.type)).toEqual(['switchboard.delivery.failed']);
    expect(outcome.disabledEvent!.type).toBe('switchboard.destination.disabled');
    expect(data(outcome.disabledEvent!)).toEqual({ destination_id: 'dst_1', reason: 'the destination answered 410 Gone' });
    expect(outcome.disabledEvent).toMatchObject({ sourceId: '', callId: null });
    expect(outcomeAfterAttempt({ ...delivery, attempts: 1 }, event, destination, result(500), context)).not.toHaveProperty('disabledEvent');
  });
});

describe('outcomes without a send', () => {
  it('fails a delivery with nothing left to send, the reason as its error', () => {
    expect(unsendable(delivery, 'the destination was deleted', at)).toMatchObject({
      result: 'failed', attempt: { attempt: 1, attemptedAt: at, status: null, latencyMs: 0, responseBody: null, error: 'the destination was deleted' },
    });
  });

  it('defers a rate-limited delivery without an attempt', () => {
    expect(deferred(delivery, at + 250)).toMatchObject({ result: 'deferred', attempt: null, nextAttemptAt: at + 250 });
  });
});
