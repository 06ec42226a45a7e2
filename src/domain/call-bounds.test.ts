import { describe, expect, it } from 'vitest';
import { boundCall, boundCallJson } from './call-bounds.js';
import type { CallState } from './call.js';

const call = (lead: Record<string, unknown> | null, agent: Record<string, unknown> | null = null) =>
  ({ source_id: 'src_1', call_id: 'c1', lead, agent }) as unknown as CallState;
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('boundCall', () => {
  it('returns the very record when lead and agent fit', () => {
    const record = call({ lead_phone: '+15550100', custom_params: { a: '1' } }, { id: 7, name: 'Ann' });
    expect(boundCall(record, 1024)).toBe(record);
  });

  it('replaces oversized fields with a marker of their size, largest first, and keeps the others', () => {
    const additional = { notes: 'x'.repeat(5000) };
    const bounded = boundCall(call({ lead_phone: '+15550100', referer: 'r'.repeat(300), additional }), 1024);
    expect(bounded.lead).toEqual({ lead_phone: '+15550100', referer: 'r'.repeat(300), additional: { _truncated: true, _bytes: size(additional) } });
    expect(size(bounded.lead)).toBeLessThanOrEqual(1024);
  });

  it('replaces custom_params over the bound as a whole, and bounds the agent the same way', () => {
    const custom = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, 'v'.repeat(20)]));
    const bounded = boundCall(call({ lead_phone: '+1', custom_params: custom }, { id: 7, bio: 'é'.repeat(600) }), 1024);
    expect(bounded.lead).toEqual({ lead_phone: '+1', custom_params: { _truncated: true, _bytes: size(custom) } });
    // 600 × 'é' is 1200 bytes in UTF-8: the bound counts bytes, not characters.
    expect(bounded.agent).toEqual({ id: 7, bio: { _truncated: true, _bytes: 1202 } });
  });

  it('replaces the whole object when many small fields exceed the bound', () => {
    const lead = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    expect(boundCall(call(lead), 1024).lead).toEqual({ _truncated: true, _bytes: size(lead) });
  });

  it('keeps every bounded object within the bound whatever its shape', () => {
    for (let n = 1; n < 60; n += 7) {
      const lead = Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, 'z'.repeat(i * 37)]));
      expect(size(boundCall(call(lead, lead), 512).lead)).toBeLessThanOrEqual(512);
      expect(size(boundCall(call(lead, lead), 512).agent)).toBeLessThanOrEqual(512);
    }
  });
});

describe('boundCallJson', () => {
  it('gives the bounded record and the JSON text of its lead and agent', () => {
    const additional = { notes: 'x'.repeat(5000) };
    const fits = call({ lead_phone: '+15550100' }, { id: 7 });
    const over = call({ lead_phone: '+15550100', additional }, null);
    for (const record of [fits, over, call(null, null)]) {
      const { call: bounded, lead, agent } = boundCallJson(record, 1024);
      expect(bounded).toEqual(boundCall(record, 1024));
      expect(lead).toBe(JSON.stringify(bounded.lead));
      expect(agent).toBe(JSON.stringify(bounded.agent));
    }
    expect(boundCallJson(fits, 1024).call).toBe(fits);
  });
});
