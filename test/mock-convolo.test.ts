import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockConvolo, parseWidgetFlag, type MockConvolo } from '../src/mock-convolo/index.js';
import { ConvoloApiError, ConvoloClient } from '../src/sdk/convolo-client.js';
import { backends, startTestApp, type TestApp } from './support/app.js';
import { assertBuilt, cliPath, repoRoot } from './support/crash-server.js';
import { startReceiver, type Receiver } from './support/receiver.js';

const widgetKey = '38a7f82ff7f9934294af18b05ae2df38';
const apiKey = 'test-api-key';
const widget = parseWidgetFlag(`${widgetKey}:${apiKey}:Sales team`);
const apiPath = '/rest/v1/ext/add_call_api/';

async function addCall(mock: MockConvolo, fields: Record<string, unknown>, how: 'GET' | 'POST' | 'FORM' = 'POST', path = apiPath) {
  const url = new URL(path, mock.url);
  let response: Response;
  if (how === 'GET') {
    for (const [k, v] of Object.entries(fields)) url.searchParams.append(k, String(v));
    response = await fetch(url);
  } else if (how === 'FORM') {
    response = await fetch(url, { method: 'POST', body: new URLSearchParams(fields as Record<string, string>) });
  } else {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
  }
  return { status: response.status, body: (await response.json()) as any };
}

const valid = { widget_key: widgetKey, api_key: apiKey, lc_number: '+46701234567' };

describe('mock-convolo refuses what Convolo documents as invalid', () => {
  let receiver: Receiver;
  let mock: MockConvolo;
  beforeAll(async () => {
    receiver = await startReceiver();
    mock = createMockConvolo({ webhookUrl: receiver.url, port: 0, widgets: [widget], timeScale: 0 });
    await mock.listen();
  });
  afterAll(async () => {
    await mock.close('abandon');
    await receiver.close();
  });

  const cases: Array<[string, Record<string, unknown>, number, string, RegExp]> = [
    ['no widget_key', { api_key: apiKey, lc_number: '+46701234567' }, 400, 'missing_parameter', /widget_key is required/],
    ['no api_key', { widget_key: widgetKey, lc_number: '+46701234567' }, 400, 'missing_parameter', /api_key is required/],
    ['no lc_number', { widget_key: widgetKey, api_key: apiKey }, 400, 'missing_parameter', /lc_number is required/],
    ['an unknown widget', { ...valid, widget_key: 'ffffffffffffffffffffffffffffffff' }, 404, 'unknown_widget', /widget_key/],
    ['another API key', { ...valid, api_key: 'wrong' }, 401, 'invalid_api_key', /not the API key of this widget/],
    ['an empty param name', { ...valid, lc_param_: 'x' }, 400, 'invalid_param_name', /is empty/],
    ['a param name over 20 characters', { ...valid, lc_param_abcdefghijklmnopqrstu: 'x' }, 400, 'invalid_param_name', /21 characters/],
    ['a param name with a dash', { ...valid, 'lc_param_deal-id': 'x' }, 400, 'invalid_param_name', /only the letters/],
    ['a lead number that is not one', { ...valid, lc_number: 'not a number' }, 400, 'invalid_phone', /lc_number is not a phone number/],
    ['a second number that is not one', { ...valid, lc_number_2: '12' }, 400, 'invalid_phone', /lc_number_2/],
    ['a country that is not a 2-letter code', { ...valid, country: 'SWE' }, 400, 'invalid_parameter', /2-letter ISO/],
    ['an oversized param value', { ...valid, lc_param_note: 'x'.repeat(1001) }, 400, 'invalid_parameter', /longer than 1000/],
    // Given, but refused for its length: not "lc_number is required".
    ['an oversized lead number', { ...valid, lc_number: '1'.repeat(1001) }, 400, 'invalid_parameter', /^lc_number is longer than 1000 characters\.$/],
  ];

  describe.each(['GET', 'POST', 'FORM'] as const)('through %s', (how) => {
    it.each(cases)('refuses %s', async (_, fields, status, code, message) => {
      const answer = await addCall(mock, fields, how);
      expect(answer.status).toBe(status);
      expect(answer.body).toMatchObject({ success: false, error: code });
      expect(answer.body.message).toMatch(message);
    });
  });

  it('says what is wrong with a lead number given as a JSON object, rather than that it is missing', async () => {
    const answer = await addCall(mock, { ...valid, lc_number: { number: '+46701234567' } });
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_parameter', field: 'lc_number', message: 'lc_number must be a string or a number, not an object.' } });
  });

  it('refuses too many custom params', async () => {
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`lc_param_p${i}`, 'v']));
    const answer = await addCall(mock, { ...valid, ...many });
    expect(answer).toMatchObject({ status: 400, body: { error: 'too_many_params' } });
  });

  it('refuses a body that is not JSON, or JSON that is not an object, with the reason', async () => {
    const post = (body: string, type = 'application/json') => fetch(new URL(apiPath, mock.url), { method: 'POST', headers: { 'content-type': type }, body });
    const broken = await post('{"widget_key": ');
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: 'invalid_json', message: expect.stringMatching(/not valid JSON/) });
    const array = await post('[1,2]');
    expect(await array.json()).toMatchObject({ error: 'invalid_json', message: expect.stringMatching(/not an object \(it is an array\)/) });
    const xml = await post('<call/>', 'application/xml');
    expect(xml.status).toBe(415);
    const huge = await post(JSON.stringify({ ...valid, lc_param_x: 'y'.repeat(70_000) }));
    expect(huge.status).toBe(413);
  });

  it('answers 405 to other methods and 404 to other paths', async () => {
    const put = await fetch(new URL(apiPath, mock.url), { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect(((await put.json()) as any).error).toBe('method_not_allowed');
    const other = await fetch(new URL('/rest/v1/ext/other/', mock.url));
    expect(other.status).toBe(404);
  });

  it('takes the outcome from an x-mock-outcome header, and keeps lc_number_2, lc_message and country', async () => {
    const response = await fetch(new URL(apiPath, mock.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mock-outcome': 'lead_not_answering' },
      body: JSON.stringify({ ...valid, lc_number: '070 123 45 67', country: 'se', lc_number_2: '+46 8 123 456 78', lc_message: 'Call about the quote' }),
    });
    const callId = ((await response.json()) as any).call_id;
    await mock.idle();
    const end = receiver.received.find((r) => r.json.call_id === callId && r.json.type === 'end_call')!.json;
    expect(end).toMatchObject({ call_status: 'lead_not_answering', time_lead_answered_iso_string: null, talk_duration_sec: 0, recording_link: null, called_lead_phone: '070 123 45 67' });
    expect(end.lead).toMatchObject({ lead_phone: '070 123 45 67', country: 'SE', additional: { lc_number_2: '+46 8 123 456 78', lc_message: 'Call about the quote' } });
    const refused = await fetch(new URL(apiPath, mock.url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-mock-outcome': 'busy' }, body: JSON.stringify(valid) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).field).toBe('mock_outcome');
  });

  it('serves the SDK\'s ConvoloClient.addCall, and its refusals reach the SDK\'s error', async () => {
    const client = new ConvoloClient({ apiKey, baseUrl: mock.url });
    const answer = (await client.addCall({ widgetKey, phone: '+46701234567', params: { Deal_ID: 'D-9' } })) as any;
    expect(answer).toMatchObject({ success: true, callId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    await mock.idle();
    const end = receiver.received.find((r) => r.json.call_id === answer.callId && r.json.type === 'end_call')!.json;
    expect(end.lead.custom_params).toEqual({ deal_id: 'D-9' });
    const wrong = new ConvoloClient({ apiKey: 'wrong', baseUrl: mock.url });
    const error = await wrong.addCall({ widgetKey, phone: '+46701234567' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConvoloApiError);
    expect(error).toMatchObject({ code: 'http_error', status: 401, body: { error: 'invalid_api_key' } });
    expect((error as Error).message).toMatch(/not the API key of this widget/);
  });

  it('accepts the path with and without the trailing slash, and refused requests start no call', async () => {
    const before = mock.calls.length;
    const answer = await addCall(mock, valid, 'GET', '/rest/v1/ext/add_call_api');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ success: true, callId: expect.stringMatching(/^[0-9a-f]{32}$/), call_id: answer.body.callId });
    expect(mock.calls.length).toBe(before + 1);
  });
});

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(backends)('mock-convolo → Switchboard on $name', (backend) => {
  let t: TestApp;
  let mock: MockConvolo | undefined;
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb());
  });
  afterEach(async () => {
    await mock?.close('abandon');
    mock = undefined;
  });
  afterAll(async () => {
    await t.close();
  });

  it('delivers start_call then end_call for a call made through add_call_api, custom params intact', async () => {
    mock = createMockConvolo({ webhookUrl: t.ingestUrl, port: 0, widgets: [widget], timeScale: 0 });
    await mock.listen();
    const answer = await addCall(mock, { ...valid, lc_param_Deal_ID: 'D-42', lc_param_utm_source: 'newsletter' });
    expect(answer.status).toBe(200);
    const callId = answer.body.call_id as string;
    await mock.idle();
    expect(mock.calls[0]!.webhooks.start_call!.status).toBe(200);
    expect(mock.calls[0]!.webhooks.end_call!.status).toBe(200);

    const { status, body: call } = await t.api(`/v1/calls/${callId}`);
    expect(status).toBe(200);
    expect(call).toMatchObject({ call_id: callId, status: 'answered', event_count: 2, widget_key: widgetKey, widget_name: 'Sales team', called_lead_phone: '+46701234567' });
    expect(call.lead.lead_phone).toBe('+46701234567');
    expect(call.lead.custom_params).toEqual({ deal_id: 'D-42', utm_source: 'newsletter' });
    expect(call.events.map((e: any) => e.type)).toEqual(['start_call', 'end_call']);
    const at = (key: string) => Date.parse(call[key]);
    expect(at('lead_created_at')).toBeLessThan(at('started_at'));
    expect(at('started_at')).toBeLessThanOrEqual(at('agent_answered_at'));
    expect(at('agent_answered_at')).toBeLessThanOrEqual(at('lead_answered_at'));
    expect(at('lead_answered_at')).toBeLessThanOrEqual(at('ended_at'));
    expect(at('ended_at') - at('started_at')).toBe(call.total_duration_sec * 1000);
    expect(at('ended_at') - at('lead_answered_at')).toBe(call.talk_duration_sec * 1000);
  });

  it('with --legacy-format, posts only the after-call as a form, which Switchboard accepts and maps', async () => {
    mock = createMockConvolo({ webhookUrl: t.ingestUrl, port: 0, widgets: [widget], timeScale: 0, legacyFormat: true, outcome: 'lead_not_answering' });
    await mock.listen();
    const answer = await addCall(mock, { ...valid, lc_param_Deal_ID: 'D-43', lc_param_utm_source: 'ads' }, 'GET');
    const callId = answer.body.call_id as string;
    await mock.idle();
    expect(mock.calls[0]!.webhooks.start_call).toBeNull();
    expect(mock.calls[0]!.webhooks.end_call!.status).toBe(200);

    const { body: call } = await t.api(`/v1/calls/${callId}`);
    expect(call).toMatchObject({ call_id: callId, status: 'lead_not_answering', event_count: 1, lead_answered_at: null, talk_duration_sec: 0 });
    expect(call.lead.custom_params).toEqual({ deal_id: 'D-43', utm_source: 'ads' });
    expect(call.lead.lead_phone).toBe('+46701234567');
    expect(call.events.map((e: any) => e.type)).toEqual(['end_call']);
    const { body: event } = await t.api(`/v1/events/${call.events[0].id}`);
    expect(JSON.stringify(event)).toContain('application/x-www-form-urlencoded');
  });

  it('lets a request choose its outcome with mock_outcome, and agent_not_answering has no agent', async () => {
    mock = createMockConvolo({ webhookUrl: t.ingestUrl, port: 0, widgets: [widget], timeScale: 0 });
    await mock.listen();
    const answer = await addCall(mock, { ...valid, mock_outcome: 'agent_not_answering' });
    await mock.idle();
    const { body: call } = await t.api(`/v1/calls/${answer.body.call_id}`);
    expect(call).toMatchObject({ status: 'agent_not_answering', agent: null, agent_answered_at: null, lead_answered_at: null, answer_duration_sec: 0 });
    expect(call.lead.custom_params).toEqual({});
  });
});

describe('mock-convolo webhooks and status page', () => {
  it('retries a webhook that got a 5xx, records every status, and shows the call on the status page', async () => {
    const receiver = await startReceiver(({ index }) => ({ status: index === 0 ? 503 : 200 }));
    const mock = createMockConvolo({ webhookUrl: receiver.url, port: 0, widgets: [widget], timeScale: 0, retryDelaysMs: [1, 1] });
    try {
      await mock.listen();
      await addCall(mock, { ...valid, lc_param_x: '1' }, 'FORM');
      await mock.idle();
      const start = mock.calls[0]!.webhooks.start_call!;
      expect(start.attempts.map((a) => a.status)).toEqual([503, 200]);
      expect(receiver.received.map((r) => r.json.type)).toEqual(['start_call', 'start_call', 'end_call']);
      const json = (await (await fetch(new URL('/calls.json', mock.url))).json()) as any;
      expect(json.calls[0]).toMatchObject({ lead_phone: '+46•••••••67', custom_param_names: ['x'], state: 'ended', webhooks: { start_call: { status: 200 }, end_call: { status: 200 } } });
      const page = await fetch(mock.url);
      const html = await page.text();
      expect(html).toContain(json.calls[0].call_id);
      // A strict policy: no framing, nothing loaded, only the page's own <style> (by its hash).
      const policy = page.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).toContain("default-src 'none'");
      const styleHash = createHash('sha256').update(/<style>([^<]*)<\/style>/.exec(html)![1]!).digest('base64');
      expect(policy).toContain(`style-src 'sha256-${styleHash}'`);
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect(html).toContain('200 (2 attempts)');
      expect(html).not.toContain('46701234567');
    } finally {
      await mock.close('abandon');
      await receiver.close();
    }
  });

  it('posts the pending webhooks at once when closed with flush', async () => {
    const receiver = await startReceiver();
    // Real time: the call would take minutes.
    const mock = createMockConvolo({ webhookUrl: receiver.url, port: 0, widgets: [widget], timeScale: 1 });
    try {
      await mock.listen();
      await addCall(mock, valid);
      expect(receiver.received).toHaveLength(0);
      await mock.close('flush');
      expect(receiver.received.map((r) => r.json.type)).toEqual(['start_call', 'end_call']);
    } finally {
      await receiver.close();
    }
  });

  it('keeps a call slowed beyond what a timer can wait (--time-scale 1e7) waiting, and still posts it at once when closed with flush', async () => {
    const receiver = await startReceiver();
    // The call starts 1–5 simulated seconds after the request: 10^7 to 5 × 10^7 s of wall clock.
    const mock = createMockConvolo({ webhookUrl: receiver.url, port: 0, widgets: [widget], timeScale: 1e7 });
    try {
      await mock.listen();
      await addCall(mock, valid);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(receiver.received).toHaveLength(0);
      expect(mock.calls[0]!.state).toBe('dialling');
      await mock.close('flush');
      expect(receiver.received.map((r) => r.json.type)).toEqual(['start_call', 'end_call']);
    } finally {
      await receiver.close();
    }
  });

  it('drops the pending webhooks when closed with abandon', async () => {
    const receiver = await startReceiver();
    const mock = createMockConvolo({ webhookUrl: receiver.url, port: 0, widgets: [widget], timeScale: 1 });
    try {
      await mock.listen();
      await addCall(mock, valid);
      await mock.close('abandon');
      expect(receiver.received).toHaveLength(0);
      expect(mock.calls[0]!.state).toBe('abandoned');
    } finally {
      await receiver.close();
    }
  });
});

describe('switchboard mock-convolo (the CLI)', () => {
  it('prints its URL, a generated widget and a curl command, and takes a call', async () => {
    assertBuilt();
    const receiver = await startReceiver();
    const child = spawn(process.execPath, [cliPath, 'mock-convolo', '--port', '0', '--webhook-url', receiver.url, '--time-scale', '0'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(async () => out, (text) => text.includes('curl -X POST'), `the banner; got:\n${out}`);
      const url = /running on (http:\/\/\S+)/.exec(out)![1]!;
      const key = /widget_key=([0-9a-f]{32})\s+api_key=(\S+)/.exec(out)!;
      const response = await fetch(`${url}${apiPath}?widget_key=${key[1]}&api_key=${key[2]}&lc_number=%2B14155550199&lc_param_Deal_ID=D-1`);
      expect(response.status).toBe(200);
      const callId = ((await response.json()) as any).call_id;
      const received = await waitFor(async () => receiver.received, (r) => r.length === 2, 'two webhooks');
      expect(received.map((r) => [r.json.type, r.json.call_id, r.json.lead.custom_params])).toEqual([
        ['start_call', callId, { deal_id: 'D-1' }],
        ['end_call', callId, { deal_id: 'D-1' }],
      ]);
      await waitFor(async () => out, (text) => /end_call .*→ 200/.test(text), 'the end_call log line');
      // The log line shows the lead's number masked, never whole.
      expect(out).toContain('+14•••••••99');
      expect(out).not.toContain('14155550199');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await receiver.close();
    }
  });

  it('refuses a webhook URL that is not one', async () => {
    assertBuilt();
    const child = spawn(process.execPath, [cliPath, 'mock-convolo', '--webhook-url', 'not-a-url'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(err).toMatch(/expected an http\(s\) URL/);
  });
});
