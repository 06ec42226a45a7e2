import { Type, type Static } from '@sinclair/typebox';
import type { ConvoloAgent, ConvoloLead } from '../convolo.js';
import { EventSummary } from './events.js';
import { DeliverySummary } from './deliveries.js';
import { IsoTime, Nullable, Page } from './shared.js';

/**
 * A call's status: `in_progress` until its end_call, then Convolo's `call_status`; `stale` when none came.
 *
 * @example
 * const open = (status: CallStatus) => status === 'in_progress';
 */
export type CallStatus = 'in_progress' | 'stale' | (string & {});

/**
 * Convolo's `lead` or `agent` object, merged field by field: typed for its documented fields, and open on
 * the wire (any JSON Convolo sent is shown as it came, so no field is given a type a value could violate).
 */
const ConvoloObject = <T>(description: string) =>
  Type.Unsafe<(T & Record<string, unknown>) | null>({ type: 'object', additionalProperties: true, nullable: true, description });

const nullableString = () => Nullable(Type.String());
const nullableNumber = (description?: string) => Nullable(Type.Number(), description === undefined ? {} : { description });
const nullableTime = () => Nullable(IsoTime());

/**
 * The call record (SPEC "The call record"), one per (source, call_id), merged from its events in any order;
 * also the relay envelope's `call`. Times are ISO strings.
 */
export const CallRecord = Type.Object(
  {
    call_id: Type.String(),
    source_id: Type.String(),
    user_id: Type.Unsafe<number | string | null>({
      type: ['number', 'string', 'null'],
      description: 'Convolo\'s user id: a number when it is one, else the text it sent.',
    }),
    widget_key: nullableString(),
    widget_name: nullableString(),
    status: Type.Unsafe<CallStatus>({ type: 'string', description: '`in_progress` until an end_call arrives, then Convolo\'s `call_status` (`answered`, …); `stale` when no end_call came in time.' }),
    timezone: nullableString(),
    is_delayed_call: Nullable(Type.Boolean()),
    called_lead_phone: nullableString(),
    lead: ConvoloObject<ConvoloLead>('Every lead field Convolo sent (custom_params included), merged across the call\'s events.'),
    agent: ConvoloObject<ConvoloAgent>('The agent as Convolo sent it (end_call), merged across the call\'s events.'),
    started_at: nullableTime(),
    agent_answered_at: nullableTime(),
    lead_answered_at: nullableTime(),
    ended_at: nullableTime(),
    answer_duration_sec: nullableNumber(),
    lead_answer_duration_sec: nullableNumber(),
    talk_duration_sec: nullableNumber(),
    total_duration_sec: nullableNumber(),
    disconnected_by: nullableString(),
    recording_link: nullableString(),
    lead_created_at: nullableTime(),
    speed_to_lead_sec: nullableNumber('Seconds from the lead\'s creation to the start of the call.'),
    time_to_connect_sec: nullableNumber('Seconds from the lead\'s creation to the lead answering.'),
    first_event_at: IsoTime(),
    last_event_at: IsoTime(),
    event_count: Type.Integer(),
  },
  { description: 'A call record (SPEC "The call record"): times are ISO strings.' },
);
export type CallRecord = Static<typeof CallRecord>;

/** `GET /v1/calls`: newest first. */
export const CallPage = Page(CallRecord, Type.String({ description: 'Opaque.' }));
export type CallPage = Static<typeof CallPage>;

/** `GET /v1/calls/{call_id}`: the record, its timeline (oldest first) and its deliveries per destination. */
export const CallDetail = Type.Object({
  ...CallRecord.properties,
  events: Type.Array(EventSummary, { description: 'The call\'s events, oldest first.' }),
  deliveries: Type.Array(DeliverySummary, { description: 'Per destination: the deliveries of the call\'s events by status, and the latest attempt.' }),
});
export type CallDetail = Static<typeof CallDetail>;
