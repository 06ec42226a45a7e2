import { Type, type Static } from '@sinclair/typebox';

/**
 * Convolo's webhook payloads as its documentation shows them (fixtures/convolo/). Real traffic may omit any
 * field, send `null`, or add new fields, so every field is optional and nullable and objects stay open.
 * These schemas describe and document; the ingest path never rejects a payload for a field's type: it keeps
 * the raw body and maps what it can (see call.ts).
 */
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

export const ConvoloLead = Type.Object(
  {
    lead_phone: Nullable(Type.String()),
    lead_id: Nullable(Type.String()),
    time_created_iso_string: Nullable(Type.String()),
    source: Nullable(Type.String()),
    site_path: Nullable(Type.String()),
    referer: Nullable(Type.String()),
    ip: Nullable(Type.String()),
    country: Nullable(Type.String()),
    additional: Type.Optional(Type.Unknown()),
    custom_params: Nullable(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: true },
);

export const ConvoloAgent = Type.Object(
  {
    id: Nullable(Type.Union([Type.Number(), Type.String()])),
    phone: Nullable(Type.String()),
    name: Nullable(Type.String()),
    email: Nullable(Type.String()),
  },
  { additionalProperties: true },
);

const common = {
  call_id: Type.String(),
  user_id: Nullable(Type.Union([Type.Number(), Type.String()])),
  widget_key: Nullable(Type.String()),
  widget_name: Nullable(Type.String()),
  timezone: Nullable(Type.String()),
  is_delayed_call: Nullable(Type.Boolean()),
  called_lead_phone: Nullable(Type.String()),
  lead: Nullable(ConvoloLead),
  debug: Type.Optional(Type.Unknown()),
};

export const ConvoloStartCall = Type.Object(
  { type: Type.Literal('start_call'), ...common },
  { additionalProperties: true },
);

export const ConvoloEndCall = Type.Object(
  {
    type: Type.Literal('end_call'),
    ...common,
    call_status: Nullable(Type.String()),
    time_started_iso_string: Nullable(Type.String()),
    time_agent_answered_iso_string: Nullable(Type.String()),
    time_lead_answered_iso_string: Nullable(Type.String()),
    time_ended_iso_string: Nullable(Type.String()),
    answer_duration_sec: Nullable(Type.Number()),
    lead_answer_duration_sec: Nullable(Type.Number()),
    talk_duration_sec: Nullable(Type.Number()),
    total_duration_sec: Nullable(Type.Number()),
    disconnected_by: Nullable(Type.String()),
    recording_link: Nullable(Type.String()),
    agent: Nullable(ConvoloAgent),
  },
  { additionalProperties: true },
);

export type ConvoloLead = Static<typeof ConvoloLead>;
export type ConvoloAgent = Static<typeof ConvoloAgent>;
export type ConvoloStartCall = Static<typeof ConvoloStartCall>;
export type ConvoloEndCall = Static<typeof ConvoloEndCall>;
export type ConvoloPayload = ConvoloStartCall | ConvoloEndCall;

export const knownEventTypes = ['start_call', 'end_call'] as const;
export type KnownEventType = (typeof knownEventTypes)[number];

export function isKnownEventType(type: string): type is KnownEventType {
  return (knownEventTypes as readonly string[]).includes(type);
}
