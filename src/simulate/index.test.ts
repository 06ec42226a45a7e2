import { describe, expect, it } from 'vitest';
import { fixedStart, planSimulation } from './index.js';

const bodies = (plan: ReturnType<typeof planSimulation>) => [...plan.sends()].map((s) => s.body);

describe('planSimulation', () => {
  it('starts seeded runs at the fixed epoch, so a seed alone repeats the bytes on any day', () => {
    const plan = planSimulation({ calls: 3, scenario: 'mix', seed: 9 });
    expect(plan.start).toBe(fixedStart);
    expect(JSON.parse([...plan.calls()][0]!.endCall).time_started_iso_string.slice(0, 10)).toBe('2026-01-05');
    expect(bodies(planSimulation({ calls: 3, scenario: 'mix', seed: 9 }))).toEqual(bodies(plan));
  });

  it('moves the times with --start and keeps the rest', () => {
    const a = JSON.parse([...planSimulation({ calls: 1, scenario: 'answered', seed: 9 }).calls()][0]!.endCall);
    const b = JSON.parse([...planSimulation({ calls: 1, scenario: 'answered', seed: 9, start: '2026-01-05T09:00:00Z' }).calls()][0]!.endCall);
    expect(Date.parse(b.time_started_iso_string) - Date.parse(a.time_started_iso_string)).toBe(3_600_000);
    expect(b.call_id).toBe(a.call_id);
    expect(b.lead.lead_phone).toBe(a.lead.lead_phone);
  });

  it('picks a seed when none is given and starts at the current second', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const plan = planSimulation({ calls: 1, scenario: 'mix' });
    expect(Number.isInteger(plan.seed)).toBe(true);
    expect(plan.start).toBeGreaterThanOrEqual(before);
    expect(plan.start).toBeLessThanOrEqual(Date.now());
  });

  it('takes --start now with a seed: the same calls, at the current time', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const plan = planSimulation({ calls: 1, scenario: 'answered', seed: 9, start: 'now' });
    expect(plan.start).toBeGreaterThanOrEqual(before);
    expect(plan.start).toBeLessThanOrEqual(Date.now());
    const fixed = JSON.parse([...planSimulation({ calls: 1, scenario: 'answered', seed: 9 }).calls()][0]!.endCall);
    expect(JSON.parse([...plan.calls()][0]!.endCall).call_id).toBe(fixed.call_id);
  });

  it('refuses a start it cannot encode, saying what it wants', () => {
    expect(() => planSimulation({ calls: 1, scenario: 'mix', seed: 1, start: 'yesterday' })).toThrow(/--start must be an ISO time/);
    expect(() => planSimulation({ calls: 1, scenario: 'mix', seed: 1, start: '1969-12-31T23:00:00Z' })).toThrow(/from the year 2000/);
  });
});
