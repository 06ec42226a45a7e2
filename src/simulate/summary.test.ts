import { describe, expect, it } from 'vitest';
import type { SendOutcome } from './dispatch.js';
import type { PlannedSend } from './plan.js';
import { createTally, formatSummary } from './summary.js';

const send = (call: number, over: Partial<PlannedSend> = {}): PlannedSend => ({
  call, callId: `c${call}`, type: 'start_call', body: '{}', slot: call, duplicate: false, outOfOrder: false, ...over,
});
const outcome = (s: PlannedSend, over: Partial<SendOutcome> = {}): SendOutcome => ({
  send: s, status: 200, ok: true, latencyMs: 10, sentAtMs: s.slot * 100, acknowledgedDuplicate: false, error: null, ...over,
});
const context = { target: 'http://h/hooks/convolo/sbt_abcd…', scenario: 'mix', seed: 1, start: '2026-01-05T08:00:00.000Z', calls: 3, planned: 7, outcomes: { answered: 3 } };

describe('the simulation tally', () => {
  it('counts by status, failures, duplicates and out-of-order calls, and measures latency and the pace of calls', () => {
    const tally = createTally();
    tally.record(outcome(send(0), { latencyMs: 1 }));
    tally.record(outcome(send(0, { type: 'end_call', slot: 2.5 }), { latencyMs: 2 }));
    tally.record(outcome(send(0, { type: 'end_call', slot: 3, duplicate: true }), { latencyMs: 3, acknowledgedDuplicate: true }));
    tally.record(outcome(send(1, { type: 'end_call', outOfOrder: true }), { latencyMs: 4 }));
    tally.record(outcome(send(1, { slot: 1.5, outOfOrder: true }), { status: 503, ok: false, latencyMs: 5 }));
    tally.record(outcome(send(2), { status: null, ok: false, latencyMs: 100, error: 'connection refused' }));
    const s = tally.summary(context, 2000);
    expect(s.sent).toBe(6);
    expect(s.by_status).toEqual({ 200: 4, 503: 1, error: 1 });
    expect(s.failed).toBe(2);
    expect(s.errors).toEqual(['HTTP 503', 'connection refused']);
    expect(s.duplicates_sent).toBe(1);
    expect(s.duplicates_acknowledged).toBe(1);
    expect(s.out_of_order_sent).toBe(1);
    expect(s.latency_ms).toEqual({ p50: 3.5, p99: 95.3, max: 100 });
    expect(s.elapsed_sec).toBe(2);
    // Calls 0, 1 and 2 began at 0, 100 and 200 ms: 10 calls per second.
    expect(s.rate_achieved).toEqual({ requests_per_sec: 3, calls_per_sec: 10 });
  });

  it('reads as a few lines, with nothing but the cut target', () => {
    const tally = createTally();
    tally.record(outcome(send(0)));
    const text = formatSummary(tally.summary({ ...context, calls: 1, planned: 2 }, 500));
    expect(text.split('\n')[0]).toBe('Sent 1 of 2 requests for 1 calls to http://h/hooks/convolo/sbt_abcd… in 0.5 s (2 requests/s; calls began at –/s).');
    expect(text).toContain('By status: 200 ×1. Failed: 0.');
    expect(text).toContain('Latency: p50 10 ms, p99 10 ms, max 10 ms.');
  });
});
