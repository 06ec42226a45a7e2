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
    reprocessed_call_id: Type.Optional(Nullable(Type.String({ description: 'In `GET /v1/events` and `/v1/events/{id}`, quarantined events only: the call of the event a reprocess made of it (same source).' }))),
    origin: Type.Optional(StringEnum(['reconcile'], { description: "Present only for an end_call fetched from Convolo's call list because its webhook never arrived." })),
    source_name: Type.Optional(Nullable(Type.String({ description: 'In `GET /v1/events` and `/v1/events/{id}`: the source\'s name (null when it is gone).' }))),
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

/** `POST /v1/events/{id}/reprocess`: the event the quarantined request became, and its call. */
export const ReprocessAck = Type.Object(
  {
    ...IngestAck.properties,
    call_id: Type.String({ description: 'The call of that event (same source as the record).' }),
  },
  { description: 'Reprocessed: the event it became.' },
);
export type ReprocessAck = Static<typeof ReprocessAck>;

/** What became of one record in `POST /v1/events/reprocess`. */
export const ReprocessOutcome = Type.Object(
  {
    id: Type.String({ description: 'The quarantine record (`evt_…`).' }),
    outcome: StringEnum(['reprocessed', 'still_invalid', 'not_reprocessable']),
    event_id: Type.Optional(Type.String({ description: '`reprocessed`: the event it became.' })),
    call_id: Type.Optional(Type.String({ description: '`reprocessed`: that event\'s call.' })),
    duplicate: Type.Optional(Type.Literal(true, { description: '`reprocessed`: the same bytes were already an event of the source.' })),
    error: Type.Optional(Type.String({ description: 'Otherwise: the error code reprocessing it answers now (`invalid_json`, `invalid_event`, `conflict`).' })),
    detail: Type.Optional(Type.String({ description: 'Otherwise: why, as that error\'s detail.' })),
  },
  { description: 'One record\'s outcome.' },
);
export type ReprocessOutcome = Static<typeof ReprocessOutcome>;

/** `POST /v1/events/reprocess`: what became of the quarantined records not reprocessed yet, counted and one by one. */
export const ReprocessCounts = Type.Object({
  reprocessed: Type.Integer(),
  still_invalid: Type.Integer({ description: 'Still do not parse: left as they are.' }),
  not_reprocessable: Type.Integer({ description: 'Kept without their body (over the size limit): nothing to reprocess.' }),
  results: Type.Array(ReprocessOutcome, { description: 'Each record tried, newest first.' }),
});
export type ReprocessCounts = Static<typeof ReprocessCounts>;

/** `GET /v1/events/quarantine`: how many quarantine records wait for a reprocess, and how many were reprocessed. */
export const QuarantineCounts = Type.Object(
  {
    waiting: Type.Integer({ description: 'Quarantined and not reprocessed into an event.' }),
    reprocessed: Type.Integer({ description: 'Reprocessed into an event (the record is kept).' }),
  },
  { description: 'The quarantine\'s counts.' },
);
export type QuarantineCounts = Static<typeof QuarantineCounts>;
