import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, Nullable, Page, StringEnum } from './shared.js';

export const deliveryStatuses = ['pending', 'delivered', 'failed', 'cancelled'] as const;

/** One attempt to send a delivery (SPEC: time, status code, latency, first 2 KiB of the answer, error). */
export const DeliveryAttempt = Type.Object({
  attempt: Type.Integer({ description: '1 for the first.' }),
  attempted_at: IsoTime(),
  status: Nullable(Type.Integer({ description: 'The receiver\'s HTTP status; null when it gave none (timeout, refused, …).' })),
  latency_ms: Nullable(Type.Number()),
  response_body: Nullable(Type.String({ description: 'The first 2 KiB of the receiver\'s answer.' })),
  error: Nullable(Type.String()),
});
export type DeliveryAttempt = Static<typeof DeliveryAttempt>;

/** One event to one destination, with every attempt. */
export const Delivery = Type.Object({
  id: Type.String({ description: '`dlv_…`' }),
  destination_id: Type.String(),
  event_id: Type.String(),
  event_seq: Type.Integer(),
  event_type: Nullable(Type.String({ description: 'The envelope type of its event (null once the event is pruned).' })),
  call_id: Nullable(Type.String({ description: 'The call of its event (null for operational events and pruned ones).' })),
  source_id: Nullable(Type.String({ description: 'The source of its event, which with call_id names the call (two sources may send the same call id; null once the event is pruned).' })),
  status: StringEnum(deliveryStatuses, { description: '`failed` is the dead letter: attempts ran out; replayable.' }),
  attempt_count: Type.Integer(),
  next_attempt_at: Nullable(IsoTime({ description: 'Pending deliveries: when the next attempt is due.' })),
  last_status: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  created_at: IsoTime(),
  updated_at: IsoTime(),
  finished_at: Nullable(IsoTime()),
  attempts: Type.Array(DeliveryAttempt),
});
export type Delivery = Static<typeof Delivery>;

/** `GET /v1/deliveries`: newest first. */
export const DeliveryPage = Page(Delivery, Type.String({ description: 'Opaque.' }));
export type DeliveryPage = Static<typeof DeliveryPage>;

/** A call's deliveries to one destination, in its detail view: counts by status and the latest attempt. */
export const DeliverySummary = Type.Object({
  destination_id: Type.String(),
  pending: Type.Integer(),
  delivered: Type.Integer(),
  failed: Type.Integer(),
  cancelled: Type.Integer(),
  last_attempt_at: Nullable(IsoTime()),
  last_status: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
});
export type DeliverySummary = Static<typeof DeliverySummary>;
