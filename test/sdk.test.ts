import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHandler, toNodeListener, verifyWebhook, type CallEndedEvent, type CallStartedEvent, type SwitchboardEvent, type WebhookHandlers } from '../src/sdk/index.js';
import { fixtures, startCall, endCall, startTestApp, backends, type TestApp } from './support/app.js';

/**
 * The SDK end to end: a real Switchboard (SQLite) delivers real, signed webhooks to a small node:http app
 * built with createHandler and toNodeListener, as a user would write it.
 */
const sqlite = backends.find((b) => b.name === 'sqlite')!;
const lead = { ...JSON.parse(fixtures.startCall.toString()).lead, custom_params: { crm_id: '42', campaign: 'spring_sale' } };

let t: TestApp | undefined;
let app: Server | undefined;
afterEach(async () => {
  await t?.close();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  t = app = undefined;
});

/** The user's app: one webhook endpoint with these handlers (the secret is read per request: it is known once the destination exists). */
async function startUserApp(handlers: WebhookHandlers, secret: () => string) {
  app = createServer((req, res) => toNodeListener(createHandler(handlers, { secret: secret() }))(req, res));
  await new Promise<void>((resolve) => app!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(app.address() as AddressInfo).port}/webhooks`;
}

async function startSwitchboard() {
  t = await startTestApp(await sqlite.freshDb(), { allowPrivateDestinations: true });
  return t;
}

async function addDestination(url: string) {
  const created = await t!.request('POST', '/v1/destinations', { url });
  expect(created.status).toBe(201);
  return created.body as { id: string; secret: string };
}

const deliver = () => t!.app.relay.worker!.runUntilIdle();

describe('SDK: receiving Switchboard webhooks with createHandler', () => {
  it('receives call.started then call.ended, verified and typed, with the custom params intact', async () => {
    const received: SwitchboardEvent[] = [];
    let secret = '';
    const url = await startUserApp(
      {
        'call.started': (event) => void received.push(event),
        'call.ended': (event) => void received.push(event),
      },
      () => secret,
    );
    await startSwitchboard();
    secret = (await addDestination(url)).secret;
    expect((await t!.post(startCall('sdk-1', { lead }))).status).toBe(200);
    expect((await t!.post(endCall('sdk-1', { lead: { lead_phone: lead.lead_phone } }))).status).toBe(200);
    await deliver();

    expect(received.map((e) => e.type)).toEqual(['call.started', 'call.ended']);
    const [started, ended] = received as [CallStartedEvent, CallEndedEvent];
    expect(started).toMatchObject({ call_id: 'sdk-1', data: { type: 'start_call', lead: { custom_params: { crm_id: '42', campaign: 'spring_sale' } } }, call: { status: 'in_progress' } });
    expect(ended.data.call_status).toBe('answered');
    // The end_call carried no custom params: the record keeps the ones its start_call brought.
    expect(ended.call).toMatchObject({ status: 'answered', event_count: 2, lead: { custom_params: { crm_id: '42', campaign: 'spring_sale' } } });
    const deliveries = (await t!.api('/v1/deliveries?status=delivered')).body.data as Array<{ last_status: number }>;
    expect(deliveries.map((d) => d.last_status)).toEqual([200, 200]);
  });

  it("receives a legacy form-encoded after-call as call.ended: data as Convolo posted it (strings), the record normalised", async () => {
    const received: CallEndedEvent[] = [];
    let secret = '';
    const url = await startUserApp({ 'call.ended': (event) => void received.push(event) }, () => secret);
    await startSwitchboard();
    secret = (await addDestination(url)).secret;
    const form = new URLSearchParams({ call_id: 'sdk-legacy', call_status: 'answered', talk_duration_sec: '45', lead_phone: '+46700000000', lc_param_crm_id: '42' });
    expect((await t!.post(form.toString(), 'application/x-www-form-urlencoded')).status).toBe(200);
    await deliver();
    expect(received).toHaveLength(1);
    expect(received[0]!.data).toMatchObject({ type: 'end_call', talk_duration_sec: '45', lead: { custom_params: { crm_id: '42' } } });
    expect(received[0]!.call).toMatchObject({ status: 'answered', talk_duration_sec: 45, lead: { custom_params: { crm_id: '42' } } });
  });

  it('answers 500 when a handler throws, so Switchboard keeps the delivery for a retry', async () => {
    let secret = '';
    const url = await startUserApp({ 'call.started': () => { throw new Error('CRM is down'); } }, () => secret);
    await startSwitchboard();
    secret = (await addDestination(url)).secret;
    await t!.post(startCall('sdk-2'));
    await deliver();
    const pending = (await t!.api('/v1/deliveries?status=pending')).body.data as Array<{ last_status: number; attempt_count: number }>;
    expect(pending).toMatchObject([{ last_status: 500, attempt_count: 1 }]);
  });

  it("refuses with 400 a webhook signed with another destination's secret", async () => {
    const url = await startUserApp({ '*': () => undefined }, () => 'whsec_' + Buffer.alloc(24, 7).toString('base64'));
    await startSwitchboard();
    await addDestination(url);
    const test = await t!.request('POST', `/v1/destinations/${(await t!.api('/v1/destinations')).body.data[0].id}/test`);
    expect(test.body).toMatchObject({ ok: false, status: 400 });
    expect(JSON.parse(test.body.response_body)).toMatchObject({ error: 'invalid_signature' });
  });

  it('verifies the test event and keeps verifying with the old secret during a rotation', async () => {
    const tests: SwitchboardEvent[] = [];
    let secret = '';
    const url = await startUserApp({ 'switchboard.test': (event) => void tests.push(event) }, () => secret);
    await startSwitchboard();
    const destination = await addDestination(url);
    secret = destination.secret;
    const rotated = await t!.request('POST', `/v1/destinations/${destination.id}/rotate-secret`);
    expect(rotated.body.secret).not.toBe(destination.secret);
    // The app still has the old secret: deliveries are signed with both while the old one is in its grace period.
    const test = await t!.request('POST', `/v1/destinations/${destination.id}/test`);
    expect(test.body).toMatchObject({ ok: true, status: 200 });
    expect(tests).toMatchObject([{ type: 'switchboard.test', source_id: null, call_id: null, call: null, data: { message: expect.any(String) } }]);
  });
});

describe('SDK: verifyWebhook on a raw node:http request', () => {
  it('verifies the bytes as delivered, and explains the mistake when given the parsed body', async () => {
    const outcomes: string[] = [];
    let secret = '';
    app = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        outcomes.push(verifyWebhook(raw, req.headers, secret).type);
        try {
          verifyWebhook(JSON.parse(raw.toString()), req.headers, secret);
        } catch (error) {
          outcomes.push(`${(error as Error & { code: string }).code}: ${(error as Error).message}`);
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => app!.listen(0, '127.0.0.1', resolve));
    await startSwitchboard();
    secret = (await addDestination(`http://127.0.0.1:${(app.address() as AddressInfo).port}/`)).secret;
    await t!.post(endCall('sdk-3'));
    await deliver();
    expect(outcomes).toEqual(['call.ended', expect.stringMatching(/^not_raw_body: verifyWebhook needs the raw request body .* you passed a parsed object/)]);
  });
});
