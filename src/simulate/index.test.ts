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

  // "now" is when the simulated traffic ends, not where it starts: the calls are a replay, compressed in
  // time, of the recent past (call i starts ~i × 30 s after the first), and none may be dated after the
  // clock (the dashboard's board and Calls page showed calls up to an hour ahead).
  const times = (plan: ReturnType<typeof planSimulation>) =>
    [...plan.calls()].flatMap((c) => {
      const end = JSON.parse(c.endCall) as Record<string, unknown>;
      const start = JSON.parse(c.startCall) as Record<string, unknown>;
      return [start, end].flatMap((b) => Object.entries(b).filter(([k, v]) => k.startsWith('time_') && k.endsWith('_iso_string') && typeof v === 'string').map(([, v]) => Date.parse(v as string)));
    });

  it('picks a seed when none is given and lays the calls out in the recent past, the last ending by now', () => {
    const plan = planSimulation({ calls: 200, scenario: 'answered' });
    const now = Date.now();
    expect(Number.isInteger(plan.seed)).toBe(true);
    const all = times(plan);
    expect(Math.max(...all)).toBeLessThanOrEqual(now);
    // …and not long before: the latest end is the second before the plan was made.
    expect(now - Math.max(...all)).toBeLessThan(5000);
    // The last call started within its slot and the longest call (21 min) of now; the first ~100 min before it.
    const starts = [...plan.calls()].map((c) => Date.parse((JSON.parse(c.endCall) as { time_started_iso_string: string }).time_started_iso_string));
    expect(now - Math.max(...starts)).toBeLessThanOrEqual((30 + 1255) * 1000 + 1000);
    expect(plan.start).toBeLessThanOrEqual(Math.min(...starts));
    expect(now - plan.start).toBeLessThan((200 * 30 + 1255) * 1000 + 1000);
  });

  it('takes --start now with a seed: the same calls, ending by the current time', () => {
    const plan = planSimulation({ calls: 50, scenario: 'mix', seed: 9, start: 'now' });
    expect(Math.max(...times(plan))).toBeLessThanOrEqual(Date.now());
    const fixed = [...planSimulation({ calls: 50, scenario: 'mix', seed: 9 }).calls()].map((c) => JSON.parse(c.endCall).call_id);
    expect([...plan.calls()].map((c) => JSON.parse(c.endCall).call_id)).toEqual(fixed);
  });

  it('keeps an explicit --start as the first call\'s base, even if that puts calls after the clock', () => {
    const start = Date.UTC(2030, 0, 1, 8);
    const plan = planSimulation({ calls: 2, scenario: 'answered', seed: 9, start: new Date(start).toISOString() });
    expect(plan.start).toBe(start);
  });

  it('refuses a start it cannot encode, saying what it wants', () => {
    expect(() => planSimulation({ calls: 1, scenario: 'mix', seed: 1, start: 'yesterday' })).toThrow(/--start must be an ISO time/);
    expect(() => planSimulation({ calls: 1, scenario: 'mix', seed: 1, start: '1969-12-31T23:00:00Z' })).toThrow(/from the year 2000/);
  });
});
