import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, endCall, fixtures, startCall, startTestApp, type TestApp } from './support/app.js';

/** The call record keeps lead and agent within SWITCHBOARD_CALL_OBJECT_MAX_BYTES; the raw event keeps all. */
describe.each(backends)('call record bounds on $name', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb());
  });
  afterAll(() => t?.close());

  it('keeps a 16 KiB bound on lead, agent and custom_params in the record and the list, while the raw event stays exact', async () => {
    const lead = JSON.parse(fixtures.startCall.toString()).lead as Record<string, unknown>;
    const additional = { blob: 'a'.repeat(300_000) };
    const customParams = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, 'c'.repeat(200)]));
    const started = startCall('big-1', { lead: { ...lead, additional, custom_params: customParams } });
    const ended = endCall('big-1', { agent: { id: 42, name: 'Ann', notes: 'n'.repeat(100_000) } });
    const first = await t.post(started);
    expect(first.status).toBe(200);
    const afterStart = (await t.api('/v1/calls/big-1')).body;
    expect(afterStart.lead.lead_phone).toBe(lead.lead_phone);
    expect(afterStart.lead.additional).toEqual({ _truncated: true, _bytes: JSON.stringify(additional).length });
    expect(afterStart.lead.custom_params).toEqual({ _truncated: true, _bytes: JSON.stringify(customParams).length });

    // The end_call's own lead (the fixture's, small) replaces the markers, as any value would.
    expect((await t.post(ended)).status).toBe(200);
    const record = (await t.api('/v1/calls/big-1')).body;
    expect(record.lead.additional).toBe(JSON.parse(ended).lead.additional);
    expect(record.agent).toEqual({ id: 42, name: 'Ann', notes: { _truncated: true, _bytes: 100_002 } });
    for (const part of [record.lead, record.agent]) expect(JSON.stringify(part).length).toBeLessThanOrEqual(16 * 1024);

    const listed = await fetch(`${t.baseUrl}/v1/calls?limit=500`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect((await listed.text()).length).toBeLessThan(20_000);

    const raw = await fetch(`${t.baseUrl}/v1/events/${first.body.id}/raw`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(Buffer.from(await raw.arrayBuffer()).equals(Buffer.from(started))).toBe(true);
  });

  it('takes the bound from SWITCHBOARD_CALL_OBJECT_MAX_BYTES', async () => {
    const small = await startTestApp(await backend.freshDb(), { callObjectMaxBytes: 1024 });
    try {
      expect((await small.post(startCall('bound-1', { lead: { lead_phone: '+15550100', referer: 'r'.repeat(2000) } }))).status).toBe(200);
      expect((await small.api('/v1/calls/bound-1')).body.lead).toEqual({ lead_phone: '+15550100', referer: { _truncated: true, _bytes: 2002 } });
    } finally {
      await small.close();
    }
  });
});
