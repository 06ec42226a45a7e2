import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockConvolo, type MockConvolo } from '../src/mock-convolo/index.js';
import { validateEnvelope } from '../src/sdk/envelope.js';
import { startReceiver } from './support/receiver.js';
import { openStream, waitFor, type SseClient } from './support/sse.js';
import { freePort } from './support/free-port.js';
import { backends, startTestApp, type TestApp } from './support/app.js';

describe.each(backends)('reconcile on $name', (backend) => {
  let t: TestApp;
  let mock: MockConvolo;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stream: SseClient;
  let sourceId: string;
  const waits: number[] = [];

  beforeAll(async () => {
    const port = await freePort();
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true, convoloCallListUrl: `http://127.0.0.1:${port}` }, {
      sleep: async (ms) => { waits.push(ms); },
    });
    mock = createMockConvolo({ webhookUrl: t.ingestUrl, port, timeScale: 0, seed: 16, dropWebhooks: 0.2, retryDelaysMs: [] });
    await mock.listen();
    receiver = await startReceiver();
    expect((await t.request('POST', '/v1/destinations', { url: receiver.url })).status).toBe(201);
    sourceId = (await t.api('/v1/sources')).body.data[0].id;
    stream = await openStream(t.baseUrl, { key: t.adminKey });
  }, 30_000);

  afterAll(async () => {
    stream?.close();
    await mock?.close('abandon');
    await receiver?.close();
    await t?.close();
  });

  const endCalls = async () => (await t.app.storage.events.list({ type: 'end_call', sourceId: sourceId as never, limit: 5000 }));

  it('sets the key masked, refuses a viewer, and says there is no run yet', async () => {
    const widget = mock.widgets[0]!;
    const put = await t.request('PUT', `/v1/sources/${sourceId}/convolo`, { api_key: widget.apiKey, widget_ids: [widget.key] });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ source_id: sourceId, api_key_hint: `…${widget.apiKey.slice(-4)}`, widget_ids: [widget.key] });
    const status = await t.api(`/v1/sources/${sourceId}/reconcile`);
    expect(status.status).toBe(200);
    expect(JSON.stringify(status.body)).not.toContain(widget.apiKey);
    expect(status.body).toMatchObject({ convolo: { api_key_hint: put.body.api_key_hint }, interval_min: 15, lookback_hours: 48, last_run: null, runs: [] });
    expect(Date.parse(status.body.next_run_at)).toBeGreaterThan(Date.now());
    const reader = await t.request('POST', '/v1/keys', { name: 'viewer', scope: 'read' });
    expect((await t.request('GET', `/v1/sources/${sourceId}/reconcile`, undefined, reader.body.key)).status).toBe(403);
    expect((await t.request('PUT', `/v1/sources/${sourceId}/convolo`, { api_key: 'x' }, reader.body.key)).status).toBe(403);
    expect((await t.request('POST', '/v1/sources/src_nope/reconcile')).status).toBe(404);
  });

  it('adds every call whose end_call webhook was dropped, once, marked reconcile, to the log, the stream and a destination', async () => {
    const ids = mock.makeCalls(200);
    await mock.idle();
    const dropped = new Set(mock.droppedCallIds);
    expect(dropped.size).toBeGreaterThan(20);
    await waitFor('the delivered end_calls', async () => (await endCalls()).length === 200 - dropped.size);

    const runs = await t.app.reconciler.runAll();
    expect(runs).toHaveLength(1);
    expect(runs![0]).toMatchObject({ fetched: 200, present: 200 - dropped.size, added: dropped.size, errors: 0, error: null });

    const events = await endCalls();
    expect(events).toHaveLength(200);
    expect(new Set(events.map((e) => e.callId))).toEqual(new Set(ids));
    expect(new Set(events.filter((e) => e.origin === 'reconcile').map((e) => e.callId))).toEqual(dropped);
    const calls = await Promise.all([...dropped].map((id) => t.app.storage.calls.get(id)));
    expect(calls.every((c) => c?.merge_rank === 2)).toBe(true);

    const reconciledAt = (list: any[]) => list.filter((e) => e.type === 'call.ended' && e.origin === 'reconcile').map((e) => e.call_id);
    await waitFor('the destination', () => reconciledAt(receiver.received.map((r) => r.json)).length >= dropped.size);
    await waitFor('the stream', () => reconciledAt(stream.events.map((e) => JSON.parse(e.data))).length >= dropped.size);
    for (const list of [receiver.received.map((r) => r.json), stream.events.map((e) => JSON.parse(e.data))]) {
      const added = reconciledAt(list);
      expect(added).toHaveLength(dropped.size);
      expect(new Set(added)).toEqual(dropped);
      // A webhook's envelope is as before: no origin.
      expect(list.filter((e) => e.type === 'call.ended' && !('origin' in e))).toHaveLength(200 - dropped.size);
    }
    await waitFor('the gap event', () => stream.events.some((e) => e.event === 'switchboard.reconcile.gap' || JSON.parse(e.data).type === 'switchboard.reconcile.gap'));
    const gap = stream.events.map((e) => JSON.parse(e.data)).find((e) => e.type === 'switchboard.reconcile.gap');
    expect(gap.data).toMatchObject({ source_id: sourceId, run_id: runs![0]!.id, kind: 'reconcile', added: dropped.size, call_ids_truncated: false });
    expect(new Set(gap.data.call_ids)).toEqual(dropped);
    // The SDK accepts both additions: the origin and the gap event.
    const reconciled = receiver.received.map((r) => r.json).find((e) => e.origin === 'reconcile');
    expect(validateEnvelope(reconciled)).toMatchObject({ ok: true });
    expect(validateEnvelope(gap)).toMatchObject({ ok: true });

    const status = (await t.api(`/v1/sources/${sourceId}/reconcile`)).body;
    expect(status.last_run).toMatchObject({ id: runs![0]!.id, fetched: 200, already_present: 200 - dropped.size, added: dropped.size, error: null });
    const metrics = await (await fetch(`${t.baseUrl}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(metrics).toContain(`switchboard_reconcile_calls_total{outcome="added"} ${dropped.size}`);

    const again = await t.app.reconciler.runAll();
    expect(again![0]).toMatchObject({ fetched: 200, present: 200, added: 0 });
    expect(await endCalls()).toHaveLength(200);
  }, 30_000);

  it('pages across the 500 cap and stops at an empty page', async () => {
    mock.makeCalls(800, { webhooks: false });
    const before = mock.callListRequests.length;
    const run = await t.request('POST', `/v1/sources/${sourceId}/reconcile`);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ kind: 'reconcile', fetched: 1000, already_present: 200, added: 800, error: null });
    const requests = mock.callListRequests.slice(before);
    expect(requests.map((r) => [r.params.page, r.params.max_calls, r.count])).toEqual([['1', '500', 500], ['2', '500', 500], ['3', '500', 0]]);
    expect(requests[0]!.params.widget_ids).toBe(mock.widgets[0]!.key);
    expect(await endCalls()).toHaveLength(1000);
  }, 30_000);

  it('records 401, 429, 500, malformed JSON and an unexpected shape, and the next run recovers', async () => {
    const key = mock.widgets[0]!.apiKey;
    const cases = [
      { fault: { status: 401, body: '{"error":"bad key"}' }, code: 'unauthorized', status: 401 },
      { fault: { status: 429, retryAfter: 3600 }, code: 'rate_limited', status: 429 },
      { fault: { status: 500, body: 'boom', times: 4 }, code: 'server_error', status: 500 },
      { fault: { status: 200, body: '<html>oops' }, code: 'malformed_json', status: 200 },
      { fault: { status: 200, body: '{"calls":"nope"}' }, code: 'unexpected_shape', status: 200 },
    ];
    for (const c of cases) {
      mock.injectCallListFaults(c.fault);
      const run = (await t.request('POST', `/v1/sources/${sourceId}/reconcile`)).body;
      expect(run.error, c.code).toMatchObject({ code: c.code, status: c.status });
      expect(run.added).toBe(0);
      expect(JSON.stringify(run)).not.toContain(key);
    }
    expect(waits).toEqual([1000, 2000, 4000]);
    // A short 429 is waited out within the run.
    waits.length = 0;
    mock.injectCallListFaults({ status: 429, retryAfter: 2, times: 1 });
    const recovered = (await t.request('POST', `/v1/sources/${sourceId}/reconcile`)).body;
    expect(recovered).toMatchObject({ fetched: 1000, added: 0, error: null });
    expect(waits).toEqual([2000]);
    const runs = (await t.api(`/v1/sources/${sourceId}/reconcile`)).body.runs;
    expect(runs.slice(1, 6).map((r: any) => r.error.code)).toEqual(cases.map((c) => c.code).reverse());
    expect(JSON.stringify(runs)).not.toContain(key);
  }, 30_000);
});

describe('a reconcile run longer than the answer allows', () => {
  it('answers 202 with the run as it started, and the run goes on to its end', async () => {
    const port = await freePort();
    let holdMs = 0;
    // A connection timeout of 2 s: the POST answers within 1 s.
    const t = await startTestApp(await backends[0]!.freshDb(), { connectionTimeoutSec: 2, convoloCallListUrl: `http://127.0.0.1:${port}` }, {
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, holdMs))),
    });
    const mock = createMockConvolo({ webhookUrl: t.ingestUrl, port, timeScale: 0, seed: 17 });
    try {
      await mock.listen();
      const sourceId = (await t.api('/v1/sources')).body.data[0].id;
      expect((await t.request('PUT', `/v1/sources/${sourceId}/convolo`, { api_key: mock.widgets[0]!.apiKey })).status).toBe(200);
      mock.makeCalls(30, { webhooks: false });
      // Convolo answers 429 with Retry-After 3 once: the run waits 3 s for it.
      holdMs = 3000;
      mock.injectCallListFaults({ status: 429, retryAfter: 3, times: 1 });
      const t0 = Date.now();
      const posted = await t.request('POST', `/v1/sources/${sourceId}/reconcile`);
      expect(posted.status).toBe(202);
      expect(posted.body).toMatchObject({ kind: 'reconcile', finished_at: null, fetched: 0, added: 0, error: null });
      await waitFor('the run to end', async () => {
        const runs = (await t.api(`/v1/sources/${sourceId}/reconcile`)).body.runs;
        return runs.some((r: any) => r.id === posted.body.id && r.finished_at !== null);
      }, 15_000);
      // The 429's wait is not paced as the reconciler's own work: the run ends soon after it.
      expect(Date.now() - t0).toBeLessThan(8000);
      const run = (await t.api(`/v1/sources/${sourceId}/reconcile`)).body.runs.find((r: any) => r.id === posted.body.id);
      expect(run).toMatchObject({ fetched: 30, already_present: 0, added: 30, error: null });
      // A short run still answers 200 with its figures.
      holdMs = 0;
      const short = await t.request('POST', `/v1/sources/${sourceId}/reconcile`);
      expect(short.status).toBe(200);
      expect(short.body).toMatchObject({ fetched: 30, already_present: 30, added: 0 });
    } finally {
      await mock.close('abandon');
      await t.close();
    }
  }, 30_000);
});
