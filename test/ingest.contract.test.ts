import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/admin/credentials.js';
import { backends, endCall, fixtures, startCall, startTestApp, type TestApp } from './support/app.js';

/** Every row of SPEC's ingest table, and the call record merge, against both backends. */
describe.each(backends)('ingest on $name', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb());
  });
  afterAll(() => t.close());

  const fetchEvent = async (id: string) => (await t.api(`/v1/events/${id}`)).body;
  const fetchCall = async (callId: string) => (await t.api(`/v1/calls/${encodeURIComponent(callId)}`)).body;

  it('accepts the documented end_call then start_call and merges them into one call record', async () => {
    const end = await t.post(fixtures.endCall);
    const start = await t.post(fixtures.startCall);
    expect(end).toMatchObject({ status: 200, body: { ok: true, id: expect.stringMatching(/^evt_/) } });
    expect(start).toMatchObject({ status: 200, body: { ok: true, id: expect.stringMatching(/^evt_/) } });
    expect(end.body.duplicate).toBeUndefined();

    const call = await fetchCall('35298eac05ef54b365e601f85d46afc1');
    expect(call).toMatchObject({
      call_id: '35298eac05ef54b365e601f85d46afc1',
      source_id: expect.stringMatching(/^src_/),
      user_id: 12345,
      widget_key: '38a7f82ff7f9934294af18b05ae2df38',
      status: 'answered',
      timezone: 'Europe/Stockholm',
      is_delayed_call: true,
      started_at: '2020-01-01T12:00:00.000Z',
      ended_at: '2020-01-01T12:00:00.000Z',
      talk_duration_sec: 45,
      disconnected_by: 'agent',
      agent: { id: 12345, name: 'string' },
      lead: { lead_id: '01FJMF4H421TYD6VAEW63BZM06', custom_params: {} },
      event_count: 2,
    });
    expect(call.events.map((e: { id: string }) => e.id)).toEqual([end.body.id, start.body.id]);
  });

  it("stores call ids with quotes, backslashes and SQL in them as text, merged and deduplicated like any other", async () => {
    // PostgreSQL's append inlines the batch's call keys as escaped literals: these must stay data.
    const ids = [`it's`, `a\\'b`, `x'); drop table events; --`, `E'\\x00'`, `"quoted" \\\\ two`];
    for (const id of ids) {
      expect((await t.post(startCall(id))).status).toBe(200);
      expect((await t.post(endCall(id))).status).toBe(200);
      const again = await t.post(endCall(id));
      expect(again.body.duplicate).toBe(true);
      const call = await fetchCall(id);
      expect(call).toMatchObject({ call_id: id, event_count: 2, status: 'answered' });
    }
  });

  it('keeps the raw body byte for byte and serves it back', async () => {
    const body = Buffer.from(startCall('raw-1', { widget_name: 'Försäljning 📞 «日本»', brand_new_field: { nested: [1, 'två', null] } }).replace('{', '{   '));
    const { body: answer } = await t.post(body, 'application/json; charset=utf-8');
    const event = await fetchEvent(answer.id);
    expect(Buffer.from(event.body_base64, 'base64').equals(body)).toBe(true);
    expect(event).toMatchObject({ status: 'ok', type: 'start_call', call_id: 'raw-1', content_type: 'application/json; charset=utf-8', body_size: body.length });
    const raw = await fetch(`${t.baseUrl}/v1/events/${answer.id}/raw`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(raw.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await raw.arrayBuffer()).equals(body)).toBe(true);
    expect((await fetchCall('raw-1')).widget_name).toBe('Försäljning 📞 «日本»');
  });

  it('answers a repeated body with the first id and duplicate: true, storing nothing new', async () => {
    const body = endCall('dup-1');
    const first = await t.post(body);
    const again = await Promise.all([t.post(body), t.post(body), t.post(body)]);
    for (const answer of again) expect(answer).toEqual({ status: 200, body: { ok: true, id: first.body.id, duplicate: true } });
    const events = (await t.api('/v1/events?call_id=dup-1')).body.data;
    expect(events).toHaveLength(1);
    expect((await fetchCall('dup-1')).event_count).toBe(1);
  });

  it('deduplicates identical bodies that arrive in the same batch', async () => {
    const body = endCall('dup-batch');
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.post(body)));
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.body.duplicate !== true)).toHaveLength(1);
    expect((await t.api('/v1/events?call_id=dup-batch')).body.data).toHaveLength(1);
  });

  it('stores a revision (same type and call_id, different body) as a new event and updates the call', async () => {
    const first = await t.post(endCall('rev-1', { call_status: 'answered', widget_name: 'Before' }));
    const revision = await t.post(endCall('rev-1', { call_status: 'no_answer', widget_name: 'After' }));
    expect(revision.status).toBe(200);
    expect(revision.body.id).not.toBe(first.body.id);
    expect(await fetchCall('rev-1')).toMatchObject({ status: 'no_answer', widget_name: 'After', event_count: 2 });
  });

  it('answers 202 for an unknown event type, keeps it and does not touch a call', async () => {
    const answer = await t.post(JSON.stringify({ type: 'call_transferred', call_id: 'unk-1', to: 'agent 2' }));
    expect(answer).toMatchObject({ status: 202, body: { ok: true, id: expect.stringMatching(/^evt_/) } });
    expect(await fetchEvent(answer.body.id)).toMatchObject({ type: 'call_transferred', call_id: 'unk-1', status: 'ok' });
    expect((await t.api('/v1/calls/unk-1')).status).toBe(404);
    // It writes no call row, so its repeat is found by its body alone.
    const again = await t.post(JSON.stringify({ type: 'call_transferred', call_id: 'unk-1', to: 'agent 2' }));
    expect(again).toEqual({ status: 202, body: { ok: true, id: answer.body.id, duplicate: true } });
  });

  it('answers the repeat of a new call\'s first event as a duplicate, sent alone or in the batch after it', async () => {
    const start = startCall('first-1');
    const first = await t.post(start);
    expect(first.body.duplicate).toBeUndefined();
    expect(await t.post(start)).toEqual({ status: 200, body: { ok: true, id: first.body.id, duplicate: true } });
    // A start and its repeat, an end and its repeat, of a call not stored yet, at once.
    const both = await Promise.all([startCall('first-2'), startCall('first-2'), endCall('first-2'), endCall('first-2')].map((b) => t.post(b)));
    expect(new Set(both.map((a) => a.body.id)).size).toBe(2);
    expect(both.filter((a) => a.body.duplicate === true)).toHaveLength(2);
    expect((await t.api('/v1/events?call_id=first-2')).body.data).toHaveLength(2);
    expect((await fetchCall('first-2')).event_count).toBe(2);
  });

  it('accepts the legacy form-encoded after-call post, keeps the raw form and maps its fields', async () => {
    const form = 'call_id=legacy-1&call_status=answered&widget_key=w1&talk_duration_sec=31&lead_phone=%2B46701234567&agent_name=Ann&lc_param_crm_id=42';
    const answer = await t.post(form, 'application/x-www-form-urlencoded');
    expect(answer).toMatchObject({ status: 200, body: { ok: true } });
    expect((await fetchEvent(answer.body.id)).body).toBe(form);
    expect(await fetchCall('legacy-1')).toMatchObject({
      status: 'answered',
      widget_key: 'w1',
      talk_duration_sec: 31,
      lead: { lead_phone: '+46701234567', custom_params: { crm_id: '42' } },
      agent: { name: 'Ann' },
    });
  });

  it('answers 422 invalid_event naming the missing fields and quarantines the raw body', async () => {
    const body = JSON.stringify({ hello: 'world' });
    const answer = await t.post(body);
    expect(answer).toMatchObject({ status: 422, body: { error: 'invalid_event', fields: ['type', 'call_id'], message: expect.any(String) } });
    const record = await fetchEvent(answer.body.quarantine_id);
    expect(record).toMatchObject({ status: 'quarantined', error: 'invalid_event', body });
    const listed = (await t.api('/v1/events?status=quarantined')).body.data.map((e: { id: string }) => e.id);
    expect(listed).toContain(answer.body.quarantine_id);
  });

  it.each([
    ['not JSON', 'call_id=1&type', 'application/json'],
    ['a JSON array', '[{"type":"end_call","call_id":"x"}]', 'application/json'],
    ['a JSON string', '"end_call"', 'application/json'],
    ['empty', '', 'application/json'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x7d]), 'application/json'],
  ])('answers 400 invalid_json for a body that is %s and quarantines it', async (_name, body, type) => {
    const answer = await t.post(body, type);
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_json', detail: expect.any(String), message: expect.any(String) } });
    const record = await fetchEvent(answer.body.quarantine_id);
    expect(record).toMatchObject({ status: 'quarantined', error: 'invalid_json' });
    expect(Buffer.from(record.body_base64 ?? '', 'base64').equals(Buffer.from(body))).toBe(true);
  });

  it('keeps only the first 64 KiB of a malformed body in quarantine', async () => {
    const body = 'x'.repeat(100 * 1024);
    const answer = await t.post(body, 'application/json');
    const record = await fetchEvent(answer.body.quarantine_id);
    expect(record).toMatchObject({ body_size: 100 * 1024, body_truncated: true });
    expect(Buffer.from(record.body_base64, 'base64').length).toBe(64 * 1024);
  });

  it('answers 413 payload_too_large over 1 MiB and keeps a quarantine record without the body', async () => {
    const body = endCall('big-1', { debug: 'x'.repeat(1024 * 1024) });
    const answer = await t.post(body);
    expect(answer).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
    const record = await fetchEvent(answer.body.quarantine_id);
    expect(record).toMatchObject({ status: 'quarantined', error: 'payload_too_large', body_base64: null, body_size: Buffer.byteLength(body) });
    expect((await t.api('/v1/calls/big-1')).status).toBe(404);
  });

  it('accepts a body of exactly 1 MiB', async () => {
    const template = endCall('edge-1', { debug: '' });
    const body = endCall('edge-1', { debug: 'y'.repeat(1024 * 1024 - Buffer.byteLength(template)) });
    expect(Buffer.byteLength(body)).toBe(1024 * 1024);
    expect((await t.post(body)).status).toBe(200);
  });

  it('answers 404 unknown_source for an unknown token and stores nothing', async () => {
    const before = (await t.api('/v1/events?limit=500')).body.data.length;
    const bogus = t.ingestUrl.replace(/sbt_.{10}/, 'sbt_AAAAAAAAAA');
    for (const url of [bogus, `${t.baseUrl}/hooks/convolo/nope`, `${t.ingestUrl}x`]) {
      const answer = await t.post(endCall('ghost'), 'application/json', url);
      expect(answer).toMatchObject({ status: 404, body: { error: 'unknown_source', message: expect.any(String) } });
    }
    expect((await t.api('/v1/events?limit=500')).body.data.length).toBe(before);
  });

  it.each(['GET', 'PUT', 'PATCH', 'DELETE'])('answers 405 to %s on the ingest URL', async (method) => {
    const response = await fetch(t.ingestUrl, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toMatchObject({ error: 'method_not_allowed' });
  });

  it.each([
    ['a charset parameter in any case', 'application/json; Charset=UTF-8', Buffer.from(endCall('cs-1', { widget_name: 'Åsa' }))],
    ['ISO-8859-1', 'application/json; charset=iso-8859-1', Buffer.from(endCall('cs-2', { widget_name: 'Åsa' }), 'latin1')],
    ['UTF-16LE with a BOM', 'application/json; charset=utf-16le', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(endCall('cs-3', { widget_name: 'Åsa' }), 'utf16le')])],
    ['no content type', null, Buffer.from(endCall('cs-4', { widget_name: 'Åsa' }))],
    ['text/plain', 'text/plain', Buffer.from(endCall('cs-5', { widget_name: 'Åsa' }))],
  ])('reads JSON with %s', async (_name, type, body) => {
    const answer = await t.post(body, type);
    expect(answer.status).toBe(200);
    const callId = JSON.parse(new TextDecoder(type?.includes('16') ? 'utf-16le' : type?.includes('8859') ? 'latin1' : 'utf-8').decode(body)).call_id;
    expect((await fetchCall(callId)).widget_name).toBe('Åsa');
  });

  it('merges an end_call that arrives before its start_call without letting the start_call overwrite it', async () => {
    await t.post(endCall('order-1', { widget_name: 'From end', call_status: 'answered', lead: { lead_phone: '+461', time_created_iso_string: '2024-05-01T10:00:00Z', custom_params: { a: '1' } } }));
    await t.post(startCall('order-1', { widget_name: 'From start', lead: { lead_phone: '+462', source: 'google', custom_params: { b: '2' } } }));
    const call = await fetchCall('order-1');
    expect(call).toMatchObject({ status: 'answered', widget_name: 'From end', event_count: 2 });
    // The start_call fills what the end_call left empty, and nothing else.
    expect(call.lead).toMatchObject({ lead_phone: '+461', source: 'google', custom_params: { a: '1' } });
  });

  it('keeps the call in_progress after a start_call, and computes speed-to-lead and time-to-connect after the end_call', async () => {
    await t.post(startCall('timing-1', { lead: { time_created_iso_string: '2024-05-01T10:00:00.000Z' } }));
    expect((await fetchCall('timing-1')).status).toBe('in_progress');
    await t.post(endCall('timing-1', {
      time_started_iso_string: '2024-05-01T10:00:30.000Z',
      time_lead_answered_iso_string: '2024-05-01T10:00:45.000Z',
      lead: { time_created_iso_string: '2024-05-01T10:00:00.000Z' },
    }));
    expect(await fetchCall('timing-1')).toMatchObject({
      status: 'answered',
      lead_created_at: '2024-05-01T10:00:00.000Z',
      started_at: '2024-05-01T10:00:30.000Z',
      speed_to_lead_sec: 30,
      time_to_connect_sec: 45,
    });
  });

  it('accepts nulls where objects are expected', async () => {
    const answer = await t.post(endCall('nulls-1', { lead: null, agent: null, call_status: null, user_id: null, talk_duration_sec: 'n/a' }));
    expect(answer.status).toBe(200);
    expect(await fetchCall('nulls-1')).toMatchObject({ lead: null, agent: null, status: 'ended', user_id: null, talk_duration_sec: null });
  });

  it('acknowledges and stores 2,000 concurrent posts', async () => {
    const answers = await Promise.all(Array.from({ length: 2000 }, (_, i) => t.post(endCall(`load-${i}`))));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(2000);
    const acked = new Set(answers.map((a) => a.body.id as string));
    expect(acked.size).toBe(2000);
    const stored = new Set<string>();
    let cursor: number | null = null;
    do {
      const page: { data: Array<{ id: string }>; next_cursor: number | null } = (await t.api(`/v1/events?type=end_call&limit=500${cursor ? `&cursor=${cursor}` : ''}`)).body;
      page.data.forEach((e) => stored.add(e.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect([...acked].filter((id) => !stored.has(id))).toEqual([]);
  });

  it('requires an API key for reads and refuses a wrong one', async () => {
    expect(await t.api('/v1/events', null)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect((await t.api('/v1/events', 'sbk_' + 'A'.repeat(43))).status).toBe(401);
    const { key } = await createApiKey(t.app.storage, 'reader', 'read');
    expect((await t.api('/v1/events', key)).status).toBe(200);
  });

  it('answers 404 with the error format for an unknown route and an unknown event', async () => {
    expect(await t.api('/v1/nothing-here')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await t.api('/v1/events/evt_missing')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await t.api('/v1/events?limit=9999')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });
});
