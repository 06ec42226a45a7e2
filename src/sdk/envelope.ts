import type * as contract from '../domain/contract/calls.js';
import type { ConvoloEndCall, ConvoloStartCall } from './convolo.js';
import { describeValue, isObject, resultOf, valueOrThrow, type ValidationProblem, type ValidationResult } from './validate.js';

/**
 * What Switchboard sends on, over webhooks and the stream (SPEC "Relay envelope"): one envelope per event of
 * its log. `type` tells the kinds apart, and narrows `data` and `call`:
 * `if (event.type === 'call.ended') event.data.call_status` is Convolo's end_call outcome.
 */

/**
 * A call's status: `in_progress` until its end_call, then Convolo's `call_status`; `stale` when none came.
 *
 * @example
 * const open = (status: CallStatus) => status === 'in_progress';
 */
export type CallStatus = contract.CallStatus;

/**
 * The call record after an event, merged from all of the call's events in any order (SPEC "The call
 * record"). Times are ISO strings; `lead` and `agent` are Convolo's, merged field by field. The server
 * answers with the same schema (domain/contract/calls.ts).
 *
 * @example
 * function summary(call: CallRecord) {
 *   return `${call.call_id}: ${call.status}, talked ${call.talk_duration_sec ?? 0}s`;
 * }
 */
export type CallRecord = contract.CallRecord;

/**
 * The envelope's frame; each event kind below fixes its parameters.
 *
 * @example
 * type Started = SwitchboardEnvelope<'call.started', ConvoloStartCall, CallRecord>; // same as CallStartedEvent
 */
export interface SwitchboardEnvelope<T extends string, D, C, S extends string | null = string, I extends string | null = string> {
  /** `evt_…`, also the `webhook-id` header: stable across retries, the key to deduplicate on. */
  id: string;
  type: T;
  /** When Switchboard received the event (ISO). */
  created_at: string;
  source_id: S;
  call_id: I;
  /**
   * `reconcile` when Switchboard fetched this call from Convolo's call list API because its webhook never
   * arrived; absent for a webhook and for Switchboard's own events.
   */
  origin?: 'reconcile';
  /** Convolo's payload verbatim for a call event; Switchboard's own details for the others. */
  data: D;
  /** The call record after this event. */
  call: C;
}

/**
 * A Convolo payload of a type Convolo has not documented: kept and relayed as `convolo.<type>`.
 *
 * @example
 * const handlers: WebhookHandlers = { 'convolo.call_transferred': (event) => console.log(event.data.call_id, event.data) };
 */
export interface ConvoloOtherPayload {
  type: string;
  call_id: string;
  [field: string]: unknown;
}

/** @example if (event.type === 'call.started') greet(event.call.lead?.custom_params); */
export type CallStartedEvent = SwitchboardEnvelope<'call.started', ConvoloStartCall, CallRecord>;
/** @example if (event.type === 'call.ended' && event.data.call_status === 'answered') bill(event.call); */
export type CallEndedEvent = SwitchboardEnvelope<'call.ended', ConvoloEndCall, CallRecord>;
/** No end_call came in time (`SWITCHBOARD_STALE_AFTER_MIN`); the record's status is now `stale`. @example if (event.type === 'call.stale') followUp(event.call_id); */
export type CallStaleEvent = SwitchboardEnvelope<'call.stale', { reason: string; stale_after_min: number }, CallRecord>;
/** @example if (event.type.startsWith('convolo.')) console.log('new Convolo event', event.type); */
export type ConvoloOtherEvent = SwitchboardEnvelope<`convolo.${string}`, ConvoloOtherPayload, CallRecord | null>;
/** A delivery ran out of attempts (the dead letter); replayable. @example if (event.type === 'switchboard.delivery.failed') alert(event.data.reason); */
export type DeliveryFailedEvent = SwitchboardEnvelope<
  'switchboard.delivery.failed',
  { delivery_id: string; destination_id: string; event_id: string; event_type: string; attempts: number; last_status: number | null; last_error: string | null; reason: string },
  CallRecord | null,
  string | null,
  string | null
>;
/** @example if (event.type === 'switchboard.destination.disabled') alert(event.data.destination_id); */
export type DestinationDisabledEvent = SwitchboardEnvelope<'switchboard.destination.disabled', { destination_id: string; reason: string }, null, null, null>;
/**
 * A reconcile run added calls whose webhooks Convolo never delivered: how many, and up to 100 of their ids.
 * @example if (event.type === 'switchboard.reconcile.gap') alert(`${event.data.added} webhooks missing`);
 */
export type ReconcileGapEvent = SwitchboardEnvelope<
  'switchboard.reconcile.gap',
  { source_id: string; run_id: string; kind: 'reconcile' | 'backfill'; added: number; call_ids: string[]; call_ids_truncated: boolean },
  null,
  string,
  null
>;
/** Sent by `POST /v1/destinations/{id}/test`. @example if (event.type === 'switchboard.test') console.log(event.data.message); */
export type TestEvent = SwitchboardEnvelope<'switchboard.test', { message: string }, null, null, null>;

/**
 * Any event Switchboard sends; narrow it on `type`. An event type newer than this SDK passes validation
 * (so a receiver keeps acknowledging) and reaches a `'*'` handler.
 *
 * @example
 * function onEvent(event: SwitchboardEvent) {
 *   if (event.type === 'call.ended') return event.data.call_status; // string | null | undefined
 * }
 */
export type SwitchboardEvent = CallStartedEvent | CallEndedEvent | CallStaleEvent | ConvoloOtherEvent | DeliveryFailedEvent | DestinationDisabledEvent | ReconcileGapEvent | TestEvent;

/**
 * The `type` values this SDK knows, each with its own handler key.
 *
 * @example
 * const wanted: SwitchboardEventType[] = ['call.started', 'call.ended'];
 */
export type SwitchboardEventType = SwitchboardEvent['type'];

/**
 * The event of one type.
 *
 * @example
 * function onEnded(event: EventOfType<'call.ended'>) { return event.call.talk_duration_sec; }
 */
export type EventOfType<T extends string> = [Extract<SwitchboardEvent, { type: T }>] extends [never] ? ConvoloOtherEvent : Extract<SwitchboardEvent, { type: T }>;

/** What each call event's `data.type` must be, the part of the contract a receiver relies on. */
const convoloTypeOf: Record<string, string> = { 'call.started': 'start_call', 'call.ended': 'end_call' };
const typePattern = /^[a-z]+(\.[A-Za-z0-9_:-]+)+$/;

/**
 * Checks a parsed envelope: its frame (`id`, `type`, `created_at`, `source_id`, `call_id`, `data`, `call`)
 * and, for call events, that `data` is the matching Convolo payload and `call` a record. `data`'s other
 * fields are Convolo's verbatim and not checked (a legacy form post has strings where the JSON format has
 * numbers); use `validateConvoloPayload` to check them.
 *
 * @example
 * const result = validateEnvelope(JSON.parse(line));
 * if (result.ok) handle(result.value);
 */
export function validateEnvelope(value: unknown): ValidationResult<SwitchboardEvent> {
  if (!isObject(value)) return { ok: false, errors: [{ path: '', message: `expected an object, got ${describeValue(value)}` }] };
  const errors: ValidationProblem[] = [];
  const problem = (path: string, message: string) => errors.push({ path, message });
  const { id, type, created_at, source_id, call_id, data, call } = value;
  if (typeof id !== 'string' || id === '') problem('/id', 'expected a non-empty string');
  if (typeof type !== 'string' || !typePattern.test(type)) problem('/type', `expected an event type such as "call.ended", got ${JSON.stringify(type) ?? 'nothing'}`);
  if (typeof created_at !== 'string' || Number.isNaN(Date.parse(created_at))) problem('/created_at', 'expected an ISO date string');
  if (source_id !== null && typeof source_id !== 'string') problem('/source_id', `expected a string or null, got ${describeValue(source_id)}`);
  if (call_id !== null && typeof call_id !== 'string') problem('/call_id', `expected a string or null, got ${describeValue(call_id)}`);
  if (data !== null && !isObject(data)) problem('/data', `expected an object or null, got ${describeValue(data)}`);
  if (call !== null && !isObject(call)) problem('/call', `expected an object or null, got ${describeValue(call)}`);
  if (typeof type === 'string' && (type.startsWith('call.') || type.startsWith('convolo.'))) {
    if (typeof call_id !== 'string') problem('/call_id', `a ${type} event is about a call: expected a string`);
    if (isObject(data) && typeof data.call_id !== 'string') problem('/data/call_id', 'expected a string');
    const convoloType = convoloTypeOf[type];
    if (convoloType && isObject(data) && data.type !== convoloType) problem('/data/type', `a ${type} event carries a ${convoloType} payload, got ${JSON.stringify(data.type) ?? 'nothing'}`);
    if (type.startsWith('call.')) {
      if (!isObject(data)) problem('/data', `a ${type} event carries a payload, got ${describeValue(data)}`);
      if (!isObject(call)) problem('/call', `a ${type} event carries the call record, got ${describeValue(call)}`);
      else if (typeof call.call_id !== 'string' || typeof call.status !== 'string') problem('/call', 'expected a call record with call_id and status');
    }
  }
  return resultOf<SwitchboardEvent>(value, errors);
}

/**
 * Like `validateEnvelope`, but returns the typed event or throws a `ValidationError`. It does not verify
 * the signature: for webhooks, use `verifyWebhook`.
 *
 * @example
 * const event = assertEnvelope(JSON.parse(sseMessage.data));
 */
export function assertEnvelope(value: unknown): SwitchboardEvent {
  return valueOrThrow(validateEnvelope(value), 'Switchboard event');
}
