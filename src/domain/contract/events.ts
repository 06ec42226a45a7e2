import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, Nullable, Page, StringEnum } from './shared.js';

/** An event in a list: no body. */
export const EventSummary = Type.Object(
  {
    id: Type.String({ description: '`evt_…`' }),
    seq: Type.Integer({ description: 'The log sequence: the stream\'s `id`, and `GET /v1/events`\' cursor.' }),
    source_id: Type.String(),
    call_id: Nullable(Type.String()),
    type: Nullable(Type.String({ description: 'Convolo\'s type (`start_call`, `end_call`, …), or Switchboard\'s own for system events.' })),
    status: StringEnum(['ok', 'quarantined', 'system']),
    error: Nullable(Type.String({ description: 'Quarantined events: the error code the request was answered with.' })),
    error_detail: Nullable(Type.String()),
    content_type: Nullable(Type.String({ description: 'The content type the sender claimed.' })),
    received_at: IsoTime(),
    body_size: Type.Integer({ description: 'The body\'s size in bytes as received.' }),
    body_truncated: Type.Boolean({ description: 'Only the first bytes were kept (quarantined bodies over the limit).' }),
    reprocessed_into: Type.Optional(Nullable(Type.String({ description: 'Quarantined events only: the event a reprocess made of it.' }))),
  },
  { description: 'An event in a list: no body.' },
);
export type EventSummary = Static<typeof EventSummary>;

/** `GET /v1/events`: newest first; the cursor is a `seq`. */
export const EventPage = Page(EventSummary, Type.Integer({ description: 'A seq.' }));
export type EventPage = Static<typeof EventPage>;

/** One event with its raw body: `body_base64` is the exact bytes, `body` the same as text when it is UTF-8. */
export const EventDetail = Type.Object(
  {
    ...EventSummary.properties,
    body: Nullable(Type.String({ description: 'The body as text when it is valid UTF-8, else null.' })),
    body_base64: Nullable(Type.String({ description: 'The exact bytes received (null: no body was kept).' })),
  },
  { description: 'One event with its raw body.' },
);
export type EventDetail = Static<typeof EventDetail>;

/**
 * The ingest route's acknowledgement (SPEC "Ingest"), sent only after the event is durably committed; also
 * the answer to reprocessing one quarantined record.
 */
export const IngestAck = Type.Object(
  {
    ok: Type.Literal(true),
    id: Type.String({ description: '`evt_…`: the event, or the first one with the same body bytes.' }),
    duplicate: Type.Optional(Type.Literal(true, { description: 'The same source sent the same bytes before: nothing new was kept.' })),
  },
  { description: 'Committed.' },
);
export type IngestAck = Static<typeof IngestAck>;

/** `POST /v1/events/reprocess`: what became of the quarantined records not reprocessed yet. */
export const ReprocessCounts = Type.Object({
  reprocessed: Type.Integer(),
  still_invalid: Type.Integer({ description: 'Still do not parse: left as they are.' }),
  not_reprocessable: Type.Integer({ description: 'Kept without their body (over the size limit): nothing to reprocess.' }),
});
export type ReprocessCounts = Static<typeof ReprocessCounts>;
