import { ConvoloEndCall as EndCallSchema, ConvoloStartCall as StartCallSchema } from '../domain/convolo.js';
import { checkSchema, describeValue, isObject, resultOf, valueOrThrow, type ValidationProblem, type ValidationResult } from './validate.js';

/**
 * Convolo's webhook payloads as its documentation shows them. Real traffic may leave out any field or send
 * `null`, so every field is optional and nullable; Convolo may add fields at any time, and they are kept at
 * run time (read them with a cast). A legacy form-encoded after-call post (new format off) carries every
 * value as a string: the call record (`event.call`) has them normalised.
 * The server validates with the same schemas (src/domain/convolo.ts); a type test keeps the two equal.
 */

/**
 * The lead of a call: who was called. `custom_params` holds the call's `lc_param_<name>` values.
 *
 * @example
 * const crmId = payload.lead?.custom_params?.crm_id; // unknown: Convolo sends what it was given
 */
export interface ConvoloLead {
  lead_phone?: string | null;
  lead_id?: string | null;
  time_created_iso_string?: string | null;
  source?: string | null;
  site_path?: string | null;
  referer?: string | null;
  ip?: string | null;
  country?: string | null;
  additional?: unknown;
  custom_params?: Record<string, unknown> | null;
}

/**
 * The agent who took the call (end_call only).
 *
 * @example
 * const who = end.agent?.name ?? 'nobody answered';
 */
export interface ConvoloAgent {
  id?: number | string | null;
  phone?: string | null;
  name?: string | null;
  email?: string | null;
}

interface ConvoloCommon {
  call_id: string;
  user_id?: number | string | null;
  widget_key?: string | null;
  widget_name?: string | null;
  timezone?: string | null;
  is_delayed_call?: boolean | null;
  called_lead_phone?: string | null;
  lead?: ConvoloLead | null;
  debug?: unknown;
}

/**
 * Sent by Convolo when a call starts. It has no outcome and no times: those come with `end_call`.
 *
 * @example
 * const start: ConvoloStartCall = { type: 'start_call', call_id: '35298eac…', lead: { custom_params: { crm_id: '42' } } };
 */
export interface ConvoloStartCall extends ConvoloCommon {
  type: 'start_call';
}

/**
 * Sent by Convolo when a call has ended: its outcome (`call_status`, e.g. `answered`), times and durations.
 *
 * @example
 * const end: ConvoloEndCall = { type: 'end_call', call_id: '35298eac…', call_status: 'answered', talk_duration_sec: 45 };
 */
export interface ConvoloEndCall extends ConvoloCommon {
  type: 'end_call';
  call_status?: string | null;
  time_started_iso_string?: string | null;
  time_agent_answered_iso_string?: string | null;
  time_lead_answered_iso_string?: string | null;
  time_ended_iso_string?: string | null;
  answer_duration_sec?: number | null;
  lead_answer_duration_sec?: number | null;
  talk_duration_sec?: number | null;
  total_duration_sec?: number | null;
  disconnected_by?: string | null;
  recording_link?: string | null;
  agent?: ConvoloAgent | null;
}

/**
 * Either payload Convolo documents; `type` tells them apart.
 *
 * @example
 * function outcome(p: ConvoloPayload) {
 *   return p.type === 'end_call' ? p.call_status : 'in progress';
 * }
 */
export type ConvoloPayload = ConvoloStartCall | ConvoloEndCall;

/**
 * Checks a parsed Convolo webhook body against Convolo's documented format: `type` (`start_call` or
 * `end_call`) and `call_id` are required, every other known field must have its documented type or be
 * null, and unknown fields are allowed.
 *
 * @example
 * const result = validateConvoloPayload(JSON.parse(body));
 * if (result.ok && result.value.type === 'end_call') console.log(result.value.call_status);
 * else if (!result.ok) console.warn(result.errors); // [{ path: '/talk_duration_sec', message: 'expected a number or null, got a string' }]
 */
export function validateConvoloPayload(value: unknown): ValidationResult<ConvoloPayload> {
  const errors: ValidationProblem[] = [];
  if (!isObject(value)) {
    errors.push({ path: '', message: `expected an object, got ${describeValue(value)}` });
  } else if (value.type === 'start_call') {
    checkSchema(StartCallSchema, value, '', errors);
  } else if (value.type === 'end_call') {
    checkSchema(EndCallSchema, value, '', errors);
  } else {
    errors.push({ path: '/type', message: `expected "start_call" or "end_call", got ${JSON.stringify(value.type) ?? 'nothing'}` });
  }
  return resultOf<ConvoloPayload>(value, errors);
}

/**
 * Like `validateConvoloPayload`, but returns the typed payload or throws a `ValidationError` listing every
 * problem.
 *
 * @example
 * const payload = assertConvoloPayload(JSON.parse(body)); // ConvoloStartCall | ConvoloEndCall
 */
export function assertConvoloPayload(value: unknown): ConvoloPayload {
  return valueOrThrow(validateConvoloPayload(value), 'Convolo payload');
}
