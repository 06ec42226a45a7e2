import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.js';
import { parseId, type DeliveryId } from '../domain/ids.js';
import type { DeliveryAdmin, DeliveryFilter, DeliveryReader, DeliveryStatus } from '../storage/ports.js';
import { Delivery, DeliveryPage, deliveryStatuses } from '../domain/contract/deliveries.js';
import { presentDelivery } from './destination-presenters.js';
import { idFilter, idParam } from './id-param.js';
import { adminErrors, answers, readErrors } from './responses.js';
import type { onRequestHookHandler } from 'fastify';

const DeliveriesQuery = Type.Object({
  destination_id: Type.Optional(Type.String({ maxLength: 64 })),
  status: Type.Optional(Type.String({
    pattern: `^(${deliveryStatuses.join('|')})(,(${deliveryStatuses.join('|')}))*$`, maxLength: 100,
    description: 'One status or several, comma-separated: `failed,pending`.',
  })),
  event_id: Type.Optional(Type.String({ maxLength: 64 })),
  event_type: Type.Optional(Type.String({ minLength: 1, maxLength: 120, description: 'The envelope type of the delivery\'s event: `call.ended`, `switchboard.call.stale`, …' })),
  call_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
});
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
type WithId = { Params: Static<typeof Params> };
const noDelivery = () => new AppError('no_such_id', {}, { params: { what: 'delivery' } });

/**
 * `/v1/deliveries`: each delivery with every attempt (`read` scope), and the manual retry (`admin`).
 * Registered by destinationRoutes, with its scope checks.
 */
export async function deliveryRoutes(
  app: FastifyInstance,
  options: { storage: { deliveries: DeliveryReader & DeliveryAdmin }; now: () => number; onQueued: () => void; scopes: Record<'read' | 'admin', onRequestHookHandler> },
): Promise<void> {
  const { storage, scopes } = options;

  async function find(id: DeliveryId) {
    const delivery = await storage.deliveries.get(id);
    if (!delivery) throw noDelivery();
    return delivery;
  }

  app.get<{ Querystring: Static<typeof DeliveriesQuery> }>('/v1/deliveries', { onRequest: scopes.read, schema: { querystring: DeliveriesQuery, response: answers({ 200: DeliveryPage }, ...readErrors) } }, async (request) => {
    const q = request.query;
    const limit = q.limit ?? 50;
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const destinationId = idFilter('dst', q.destination_id);
    const eventId = idFilter('evt', q.event_id);
    if (destinationId === null || eventId === null) return { data: [], next_cursor: null };
    const statuses = q.status === undefined ? undefined : [...new Set(q.status.split(','))] as DeliveryStatus[];
    const deliveries = await storage.deliveries.list({ destinationId, statuses, eventId, eventType: q.event_type, callId: q.call_id, before, limit });
    const last = deliveries.at(-1);
    return { data: deliveries.map(presentDelivery), next_cursor: deliveries.length === limit && last ? encodeCursor(last) : null };
  });

  app.get<WithId>('/v1/deliveries/:id', { onRequest: scopes.read, schema: { params: Params, response: answers({ 200: Delivery }, ...readErrors, 404) } }, async (request) => presentDelivery(await find(idParam('dlv', request.params.id, noDelivery))));

  app.post<WithId>('/v1/deliveries/:id/retry', { onRequest: scopes.admin, schema: { params: Params, response: answers({ 202: Delivery }, ...adminErrors, 404, 409) } }, async (request, reply) => {
    const id = idParam('dlv', request.params.id, noDelivery);
    if ((await find(id)).status === 'delivered') {
      throw new AppError('conflict', { detail: 'this delivery succeeded; replay its destination to send the event again' });
    }
    const retried = await storage.deliveries.retry(id, options.now());
    if (retried.result === 'pending') throw new AppError('delivery_pending', { delivery_id: retried.pendingId }, { params: { id: retried.pendingId } });
    if (retried.result === 'not_retried') throw new AppError('destination_deleted');
    options.onQueued();
    return reply.code(202).send(presentDelivery(await find(id)));
  });
}

type Cursor = NonNullable<DeliveryFilter['before']>;

/** Opaque to clients: the (created_at, id) of the last delivery of a page, newest first. */
function encodeCursor(d: { createdAt: number; id: string }): string {
  return Buffer.from(`${d.createdAt}.${d.id}`).toString('base64url');
}

function decodeCursor(cursor: string): Cursor {
  const match = /^(\d{1,16})\.(dlv_[A-Za-z0-9_-]{1,60})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = match && parseId('dlv', match[2]!);
  if (!match || id === null) throw new AppError('invalid_request', { detail: 'cursor is not one this API gave (use next_cursor as it is)' });
  return { createdAt: Number(match[1]), id };
}
