/**
 * The webhooks a simulated call produces, shaped exactly like Convolo's documented examples
 * (fixtures/convolo/start_call.json and end_call.json): the same fields in the same order.
 */
import type { SimulatedCall } from './simulated-call.js';

/**
 * Recording links point at a reserved domain (RFC 2606 `.invalid`): they look like Convolo's but nobody
 * can mistake them for a real recording, and a client that fetches one fails at once.
 */
const recordingBase = 'https://recordings.mock-convolo.invalid';

/**
 * The `start_call` webhook: sent when the call begins.
 *
 * @example
 * const body = JSON.stringify(startCallPayload(call));
 */
export function startCallPayload(call: SimulatedCall): Record<string, unknown> {
  return {
    type: 'start_call',
    call_id: call.callId,
    user_id: call.widget.userId,
    widget_key: call.widget.key,
    widget_name: call.widget.name,
    timezone: call.widget.timezone,
    is_delayed_call: false,
    called_lead_phone: call.request.leadPhone,
    lead: lead(call),
    debug: debug(call),
  };
}

/**
 * The `end_call` (after-call) webhook: sent when the call is over, with its outcome and timings.
 *
 * @example
 * const body = JSON.stringify(endCallPayload(call));
 */
export function endCallPayload(call: SimulatedCall): Record<string, unknown> {
  const t = call.timeline;
  const at = (sec: number | null) => (sec === null ? null : new Date(call.startedAt + sec * 1000).toISOString());
  return {
    type: 'end_call',
    call_id: call.callId,
    user_id: call.widget.userId,
    widget_key: call.widget.key,
    widget_name: call.widget.name,
    call_status: t.outcome,
    timezone: call.widget.timezone,
    time_started_iso_string: at(0),
    time_agent_answered_iso_string: at(t.agentAnsweredSec),
    time_lead_answered_iso_string: at(t.leadAnsweredSec),
    time_ended_iso_string: at(t.endedSec),
    is_delayed_call: false,
    answer_duration_sec: t.answerDurationSec,
    lead_answer_duration_sec: t.leadAnswerDurationSec,
    talk_duration_sec: t.talkDurationSec,
    total_duration_sec: t.totalDurationSec,
    disconnected_by: t.disconnectedBy,
    recording_link: t.outcome === 'answered' ? `${recordingBase}/${call.callId}.mp3` : null,
    called_lead_phone: call.request.leadPhone,
    agent: call.agent === null ? null : { id: call.agent.id, phone: call.agent.phone, name: call.agent.name, email: call.agent.email },
    lead: lead(call),
    debug: debug(call),
  };
}

function lead(call: SimulatedCall): Record<string, unknown> {
  const { request } = call;
  // What the API was given beyond the number and the custom params has no documented place in the
  // webhook; `additional` (documented as "any") carries it, and stays null when there is nothing.
  const additional: Record<string, string> = {};
  if (request.leadPhone2 !== null) additional.lc_number_2 = request.leadPhone2;
  if (request.message !== null) additional.lc_message = request.message;
  return {
    lead_phone: request.leadPhone,
    lead_id: call.leadId,
    time_created_iso_string: new Date(call.requestedAt).toISOString(),
    source: 'api',
    site_path: call.sitePath ?? null,
    referer: call.referer ?? null,
    ip: call.requesterIp,
    country: request.country,
    additional: Object.keys(additional).length > 0 ? additional : null,
    custom_params: { ...request.customParams },
  };
}

/** `debug` is "any" in Convolo's docs; the mock says there that the call is simulated. */
function debug(call: SimulatedCall): Record<string, unknown> {
  return { mock: true, outcome: call.timeline.outcome };
}

/**
 * The after-call data as Convolo posts it with the new format off: a flat form, nested objects written in
 * bracket notation (`lead[custom_params][deal_id]=…`), which is what Switchboard's ingest maps back into
 * `lead.custom_params` (src/domain/parse-body.ts). No `type`: the legacy post is only ever the after-call.
 * Nulls are left out (a form has no null); booleans and numbers are written as text.
 *
 * @example
 * const body = legacyFormBody(endCallPayload(call)); // 'call_id=…&lead%5Bcustom_params%5D%5Bdeal_id%5D=D-42…'
 */
export function legacyFormBody(payload: Record<string, unknown>): string {
  const form = new URLSearchParams();
  const walk = (prefix: string, value: unknown) => {
    if (value === null || value === undefined) return;
    if (typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(prefix === '' ? key : `${prefix}[${key}]`, inner);
    } else {
      form.append(prefix, String(value));
    }
  };
  for (const [key, value] of Object.entries(payload)) if (key !== 'type') walk(key, value);
  return form.toString();
}
