import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { SourceId } from '../domain/ids.js';
import { presentCall } from '../domain/presenters.js';
import type { ApiKey, Calls, DeliveryReader, EventReader, Sources, StoredEvent } from '../storage/ports.js';
import { CallDetail, EventDetail, EventPage, Media, QuarantineCounts } from '../domain/contract/index.js';
import { requireScope } from './auth.js';
import { idFilter, idParam } from './id-param.js';
import { answers, readErrors, serializeWithJsonStringify } from './responses.js';
import { presentDeliverySummary } from './destination-presenters.js';
import { presentEvent, presentEventSummary } from './presenters.js';

const CallParams = Type.Object({ call_id: Type.String({ minLength: 1, maxLength: 255 }) });
const CallQuery = Type.Object({ source_id: Type.Optional(Type.String({ maxLength: 64 })) });
const EventParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const EventsQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('quarantined')])),
  type: Type.Optional(Type.String({ maxLength: 64 })),
  call_id: Type.Optional(Type.String({ maxLength: 255 })),
  source_id: Type.Optional(Type.String({ maxLength: 64 })),
  // A seq beyond 2^53 was never given (and beyond 2^63 PostgreSQL's bigint refuses it).
  cursor: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
});

const noCall = () => new AppError('no_such_call');
const noEvent = () => new AppError('no_such_id', {}, { params: { what: 'event' } });

const rawAnswer = Media('application/octet-stream', 'The exact bytes received, as an attachment; the type the sender claimed is in X-Original-Content-Type.', { type: 'string', format: 'binary' });
/** The first read endpoints (`read` scope): a call with its timeline, one event with its raw body, the event list. */
export async function v1ReadRoutes(app: FastifyInstance, options: { storage: { events: EventReader; calls: Calls; deliveries: DeliveryReader; sources: Pick<Sources, 'list'> }; resolveKey: (key: string) => Promise<ApiKey | null> }): Promise<void> {
  const { storage } = options;
  app.addHook('onRequest', requireScope('read', options.resolveKey));
  serializeWithJsonStringify(app);

  app.get<{ Params: Static<typeof CallParams>; Querystring: Static<typeof CallQuery> }>(
    '/v1/calls/:call_id',
    { schema: { params: CallParams, querystring: CallQuery, response: answers({ 200: CallDetail }, ...readErrors, 404) } },
    async (request) => {
      const callId = request.params.call_id;
      const parts = (sourceId: SourceId) =>
        Promise.all([
          storage.events.list({ callId, sourceId, status: 'ok', limit: 500, bodies: false }),
          storage.deliveries.summarize({ callId, sourceId }),
        ]);
      // With its source known, the record, timeline and deliveries are read at once (one round trip on
      // PostgreSQL instead of two); without it, the record says which source's call is meant.
      const known = request.query.source_id ? idParam('src', request.query.source_id, noCall) : undefined;
      const [call, [events, deliveries]] =
        known === undefined
          ? await storage.calls.get(callId).then(async (c) => [c, c ? await parts(c.source_id as SourceId) : [[], []]] as const)
          : await Promise.all([storage.calls.get(callId, known), parts(known)]);
      if (!call) throw noCall();
      return { ...presentCall(call), events: events.reverse().map(presentEventSummary), deliveries: deliveries.map(presentDeliverySummary) };
    },
  );

  async function findEvent(id: string) {
    const event = await storage.events.get(idParam('evt', id, noEvent));
    if (!event) throw noEvent();
    return event;
  }

  /**
   * What the event list and one event add to the log's fields: the source's name (a viewer cannot list the
   * sources) and, for a reprocessed quarantine record, the call of the event it became.
   */
  async function extras(events: readonly StoredEvent[]) {
    const into = events.flatMap((e) => (e.reprocessedInto ? [e.reprocessedInto] : []));
    const [sources, calls] = await Promise.all([storage.sources.list(), storage.events.callIdsOf(into)]);
    const names = new Map<string, string>(sources.map((s) => [s.id, s.name]));
    return (e: StoredEvent) => ({
      source_name: names.get(e.sourceId) ?? null,
      ...(e.status === 'quarantined' ? { reprocessed_call_id: e.reprocessedInto ? (calls.get(e.reprocessedInto) ?? null) : null } : {}),
    });
  }

  app.get('/v1/events/quarantine', { schema: { response: answers({ 200: QuarantineCounts }, ...readErrors) } }, () => storage.events.quarantineCounts());

  app.get<{ Params: Static<typeof EventParams> }>('/v1/events/:id', { schema: { params: EventParams, response: answers({ 200: EventDetail }, ...readErrors, 404) } }, async (request) => {
    const event = await findEvent(request.params.id);
    return { ...presentEvent(event), ...(await extras([event]))(event) };
  });

  // The exact bytes as received. Served as an attachment of type octet-stream whatever the sender claimed,
  // so a hostile body can never be rendered as a page on this origin; the claimed type is in a header.
  app.get<{ Params: Static<typeof EventParams> }>('/v1/events/:id/raw', { schema: { params: EventParams, response: answers({ 200: rawAnswer }, ...readErrors, 404) } }, async (request, reply) => {
    const event = await findEvent(request.params.id);
    void reply
      .type('application/octet-stream')
      .header('content-disposition', `attachment; filename="${event.id}"`)
      .header('x-content-type-options', 'nosniff')
      .header('x-original-content-type', encodeURIComponent(event.contentType ?? ''));
    return event.body ?? Buffer.alloc(0);
  });

  app.get<{ Querystring: Static<typeof EventsQuery> }>('/v1/events', { schema: { querystring: EventsQuery, response: answers({ 200: EventPage }, ...readErrors) } }, async (request) => {
    const q = request.query;
    const limit = q.limit ?? 50;
    const sourceId = idFilter('src', q.source_id);
    if (sourceId === null) return { data: [], next_cursor: null };
    const events = await storage.events.list({
      status: q.status,
      type: q.type,
      callId: q.call_id,
      sourceId,
      beforeSeq: q.cursor,
      limit,
      bodies: false,
    });
    const extra = await extras(events);
    return { data: events.map((e) => ({ ...presentEventSummary(e), ...extra(e) })), next_cursor: events.length === limit ? events.at(-1)!.seq : null };
  });
}
