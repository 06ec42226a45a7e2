import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGenerator } from './generate.js';
import { scenarios, type Scenario } from './outcome.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/convolo/${name}.json`, import.meta.url), 'utf8')) as Record<string, any>;
const start = Date.parse('2026-01-05T08:00:00.000Z');
const ms = (iso: unknown) => (iso === null ? null : Date.parse(iso as string));

describe('the simulated call generator', () => {
  it("shapes start_call and end_call exactly like Convolo's examples: the same fields in the same order", () => {
    const call = createGenerator({ seed: 3, scenario: 'mix', start }).call(0);
    const start_ = JSON.parse(call.startCall);
    const end = JSON.parse(call.endCall);
    expect(Object.keys(start_)).toEqual(Object.keys(fixture('start_call')));
    expect(Object.keys(end)).toEqual(Object.keys(fixture('end_call')));
    expect(Object.keys(start_.lead)).toEqual(Object.keys(fixture('start_call').lead));
    expect(Object.keys(end.lead)).toEqual(Object.keys(fixture('end_call').lead));
    expect(start_.call_id).toMatch(/^[0-9a-f]{32}$/);
    expect(end.call_id).toBe(start_.call_id);
    expect(start_.lead.lead_id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(start_.lead.lead_phone).toMatch(/^\+[1-9]\d{7,14}$/);
    expect(start_.called_lead_phone).toBe(start_.lead.lead_phone);
  });

  it('gives the same bytes for the same seed, other bytes for another seed, and call i whatever the count', () => {
    const a = createGenerator({ seed: 7, scenario: 'mix', start });
    const b = createGenerator({ seed: 7, scenario: 'mix', start });
    const c = createGenerator({ seed: 8, scenario: 'mix', start });
    for (const i of [0, 1, 5]) {
      expect(b.call(i).startCall).toBe(a.call(i).startCall);
      expect(b.call(i).endCall).toBe(a.call(i).endCall);
      expect(c.call(i).endCall).not.toBe(a.call(i).endCall);
    }
    // Random access: drawing call 5 first changes nothing about it.
    expect(createGenerator({ seed: 7, scenario: 'mix', start }).call(5).endCall).toBe(a.call(5).endCall);
  });

  it('draws widgets and agents from a small roster fixed by the seed', () => {
    const g = createGenerator({ seed: 11, scenario: 'answered', start });
    const widgetKeys = new Set<string>();
    const agentIds = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const end = JSON.parse(g.call(i).endCall);
      widgetKeys.add(end.widget_key);
      agentIds.add(end.agent.id);
      expect(end.user_id).toBe(g.roster.userId);
    }
    expect(widgetKeys.size).toBeLessThanOrEqual(5);
    expect([...widgetKeys].every((k) => g.roster.widgets.some((w) => w.key === k))).toBe(true);
    expect(agentIds.size).toBeLessThanOrEqual(10);
  });

  it('keeps every timestamp in order and consistent with the durations, in every scenario', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(...scenarios), fc.nat(10_000), (seed, scenario, index) => {
        const call = createGenerator({ seed, scenario, start }).call(index);
        const s = JSON.parse(call.startCall);
        const e = JSON.parse(call.endCall);
        const started = ms(e.time_started_iso_string)!;
        const agentAt = ms(e.time_agent_answered_iso_string);
        const leadAt = ms(e.time_lead_answered_iso_string);
        const ended = ms(e.time_ended_iso_string)!;
        const created = ms(e.lead.time_created_iso_string)!;
        expect(created).toBeLessThan(started);
        expect(ended - started).toBe(e.total_duration_sec * 1000);
        if (agentAt !== null) {
          expect(agentAt - started).toBe(e.answer_duration_sec * 1000);
          expect(e.agent).not.toBeNull();
        } else {
          expect(e.answer_duration_sec).toBe(0);
          expect(leadAt).toBeNull();
        }
        if (leadAt !== null) {
          expect(leadAt - agentAt!).toBe(e.lead_answer_duration_sec * 1000);
          expect(ended - leadAt).toBe(e.talk_duration_sec * 1000);
          expect(e.talk_duration_sec).toBeGreaterThan(0);
        } else {
          expect(e.talk_duration_sec).toBe(0);
          expect(e.recording_link).toBeNull();
        }
        expect(started <= (agentAt ?? started) && (agentAt ?? started) <= (leadAt ?? ended) && (leadAt ?? ended) <= ended).toBe(true);
        expect((e.call_status === 'answered') === (leadAt !== null)).toBe(true);
        expect(s.is_delayed_call).toBe(e.is_delayed_call);
        // Speed to lead: seconds to minutes, hours for a delayed call.
        const speed = (started - created) / 1000;
        expect(speed).toBeLessThanOrEqual(e.is_delayed_call ? 14 * 3600 : 600);
        if (e.is_delayed_call) expect(speed).toBeGreaterThanOrEqual(1800);
      }),
      { numRuns: 300 },
    );
  });

  const only = (scenario: Scenario, check: (end: any) => boolean) =>
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.nat(10_000), (seed, i) => check(JSON.parse(createGenerator({ seed, scenario, start }).call(i).endCall))), { numRuns: 200 });

  it('answers every call in `answered`, none in `missed`, and delays every call in `delayed`', () => {
    only('answered', (e) => e.call_status === 'answered' && e.time_lead_answered_iso_string !== null);
    only('missed', (e) => e.call_status !== 'answered' && e.time_lead_answered_iso_string === null && e.talk_duration_sec === 0);
    only('delayed', (e) => e.is_delayed_call === true);
    only('answered', (e) => e.is_delayed_call === false);
  });

  it('answers about 60 % of the calls in `mix`', () => {
    const g = createGenerator({ seed: 5, scenario: 'mix', start });
    let answered = 0;
    for (let i = 0; i < 1000; i++) if (g.call(i).outcome === 'answered') answered++;
    expect(answered).toBeGreaterThan(540);
    expect(answered).toBeLessThan(660);
  });
});
