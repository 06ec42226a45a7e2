import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formToPayload } from '../domain/parse-body.js';
import { parseAddCallRequest } from './add-call-request.js';
import { endCallPayload, legacyFormBody, startCallPayload } from './payloads.js';
import { createCallFactory } from './simulated-call.js';
import { outcomes, type OutcomeChoice } from './timeline.js';
import { parseWidgetFlag } from './widgets.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/convolo/${name}.json`, import.meta.url), 'utf8'));
const widget = parseWidgetFlag('38a7f82ff7f9934294af18b05ae2df38:secret:Sales team');
const { request } = parseAddCallRequest(
  [['widget_key', widget.key], ['api_key', 'secret'], ['lc_number', '+46701234567'], ['lc_param_Deal_ID', 'D-42'], ['lc_param_utm_source', 'ads']],
  () => widget,
);

function makeCall(seed: number, outcome: OutcomeChoice, now = Date.parse('2026-03-01T10:00:00.000Z')) {
  return createCallFactory({ outcome, seed }).create(widget, request, '203.0.113.9', now);
}

const keysOf = (value: Record<string, unknown>) => Object.keys(value);

describe('webhook payloads', () => {
  it.each(outcomes)('have the documented fields in the documented order (%s)', (outcome) => {
    const call = makeCall(1, outcome);
    const start = startCallPayload(call);
    const end = endCallPayload(call);
    expect(keysOf(start)).toEqual(keysOf(fixture('start_call')));
    expect(keysOf(start.lead as Record<string, unknown>)).toEqual(keysOf(fixture('start_call').lead));
    expect(keysOf(end)).toEqual(keysOf(fixture('end_call')));
    expect(keysOf(end.lead as Record<string, unknown>)).toEqual(keysOf(fixture('end_call').lead));
    if (end.agent !== null) expect(keysOf(end.agent as Record<string, unknown>)).toEqual(keysOf(fixture('end_call').agent));
  });

  it('carry realistic values: ids, the widget, the lead phone and the custom params', () => {
    const call = makeCall(2, 'answered');
    const end = endCallPayload(call) as any;
    expect(end.call_id).toMatch(/^[0-9a-f]{32}$/);
    expect(end).toMatchObject({ widget_key: widget.key, widget_name: 'Sales team', user_id: 12345, timezone: 'Europe/Stockholm', call_status: 'answered', called_lead_phone: '+46701234567' });
    expect(end.lead).toMatchObject({ lead_phone: '+46701234567', custom_params: { deal_id: 'D-42', utm_source: 'ads' }, time_created_iso_string: '2026-03-01T10:00:00.000Z', ip: '203.0.113.9' });
    expect(end.lead.lead_id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(end.agent.email).toMatch(/@[a-z0-9-]+\.example\.com$/);
    expect(end.recording_link).toContain(call.callId);
    expect(startCallPayload(call).call_id).toBe(end.call_id);
  });

  it('give timestamps consistent with the durations, for any seed and outcome', () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom(...outcomes, 'random' as const), fc.integer({ min: 1e12, max: 2e12 }), (seed, outcome, now) => {
        const end = endCallPayload(makeCall(seed, outcome, now)) as any;
        const at = (key: string) => (end[key] === null ? null : Date.parse(end[key]));
        const started = at('time_started_iso_string')!;
        const agent = at('time_agent_answered_iso_string');
        const lead = at('time_lead_answered_iso_string');
        const ended = at('time_ended_iso_string')!;
        expect(started).toBeGreaterThan(Date.parse(end.lead.time_created_iso_string));
        expect(ended - started).toBe(end.total_duration_sec * 1000);
        if (agent !== null) {
          expect(agent - started).toBe(end.answer_duration_sec * 1000);
          expect(agent).toBeLessThanOrEqual(ended);
        }
        if (lead !== null) {
          expect(agent).not.toBeNull();
          expect(lead - agent!).toBe(end.lead_answer_duration_sec * 1000);
          expect(ended - lead).toBe(end.talk_duration_sec * 1000);
        } else {
          expect(end.talk_duration_sec).toBe(0);
          expect(end.recording_link).toBeNull();
        }
        expect(end.agent === null).toBe(agent === null);
      }),
    );
  });

  it('in the legacy format, write a form that Switchboard maps back to the same fields (without type)', () => {
    const end = endCallPayload(makeCall(3, 'answered'));
    const body = legacyFormBody(end);
    expect(body).not.toMatch(/(^|&)type=/);
    expect(body).toContain(`${encodeURIComponent('lead[custom_params][deal_id]')}=D-42`);
    const mapped = formToPayload(body) as any;
    expect(mapped.type).toBe('end_call');
    expect(mapped.call_id).toBe(end.call_id);
    expect({ ...mapped.lead.custom_params }).toEqual({ deal_id: 'D-42', utm_source: 'ads' });
    expect(mapped.lead.lead_phone).toBe('+46701234567');
    expect(mapped.time_ended_iso_string).toBe(end.time_ended_iso_string);
    expect(mapped.agent.name).toBe((end.agent as any).name);
  });
});
