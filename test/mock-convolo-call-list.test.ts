import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockConvolo, parseWidgetFlag, type MockConvolo } from '../src/mock-convolo/index.js';
import { ConvoloCallListError, ConvoloClient, type CallListQuery } from '../src/sdk/convolo-client.js';
import { assertBuilt, cliPath, repoRoot } from './support/crash-server.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { waitFor } from './support/sse.js';

const sales = parseWidgetFlag(`${'a'.repeat(32)}:key-one:Sales`);
const support = parseWidgetFlag(`${'b'.repeat(32)}:key-one:Support`);
const other = parseWidgetFlag(`${'c'.repeat(32)}:key-two:Other account`);
const now = Date.parse('2026-03-15T12:00:00Z');
const day = 86_400_000;

describe("mock-convolo's call list", () => {
  let receiver: Receiver;
  let mock: MockConvolo;
  let client: ConvoloClient;
  const list = async (query: CallListQuery = {}) => (await client.listCalls(query)).items;
  const ids = (items: Array<Record<string, unknown>>) => items.map((item) => item.call_id);

  beforeAll(async () => {
    receiver = await startReceiver();
    mock = createMockConvolo({ webhookUrl: receiver.url, port: 0, widgets: [sales, support, other], timeScale: 0, seed: 7, now: () => now, retryDelaysMs: [] });
    const { url } = await mock.listen();
    client = new ConvoloClient({ apiKey: 'key-one', callListBaseUrl: url });
    // History: one call a day for 60 days before `now`, alternating outcomes; a few with a page and referer.
    const outcomes = ['answered', 'lead_not_answering', 'agent_not_answering'] as const;
    for (let i = 0; i < 60; i++) {
      mock.makeCalls(1, {
        widget: i % 2 === 0 ? sales : support.key, webhooks: false, at: now - (i + 1) * day, outcome: outcomes[i % 3],
        leadPhone: () => `+46 70 ${String(1000000 + i)}`, customParams: { deal: `D-${i}` },
        ...(i < 3 ? { sitePath: `https://shop.example/pricing?i=${i}`, referer: 'https://www.google.com/' } : {}),
      });
    }
    mock.makeCalls(5, { widget: other, webhooks: false, at: now - day });
  });
  afterAll(async () => {
    await mock.close('abandon');
    await receiver.close();
  });

  it("answers a bare array of end_call payloads, newest first, over the last 30 days of the key's widgets by default", async () => {
    const items = await list({ maxCalls: 500 });
    expect(items).toHaveLength(30);
    const started = items.map((item) => Date.parse(item.time_started_iso_string as string));
    expect(started).toEqual([...started].sort((a, b) => b - a));
    expect(started.every((t) => t >= now - 31 * day)).toBe(true);
    expect(new Set(items.map((item) => item.widget_key))).toEqual(new Set([sales.key, support.key]));
    expect(items[0]).toMatchObject({ type: 'end_call', widget_name: expect.any(String), lead: { custom_params: { deal: 'D-0' } } });
    // The items are the very payloads the mock would post.
    const listed = mock.listedCalls();
    expect(items[0]).toEqual(listed.find((payload) => payload.call_id === items[0]!.call_id));
  });

  it('pages 20 at a time by default, caps max_calls at 500, and gives an empty page past the end', async () => {
    const all = await list({ dateFrom: '2025-01-01', maxCalls: 500 });
    expect(all).toHaveLength(60);
    expect(ids(await list({ dateFrom: '2025-01-01' }))).toEqual(ids(all.slice(0, 20)));
    expect(ids(await list({ dateFrom: '2025-01-01', page: 3 }))).toEqual(ids(all.slice(40, 60)));
    expect(await list({ dateFrom: '2025-01-01', page: 4 })).toEqual([]);
    expect(ids(await list({ dateFrom: '2025-01-01', maxCalls: 7, page: 2 }))).toEqual(ids(all.slice(7, 14)));
    const over = await fetch(`${mock.url}/api/v2/calls/payload-data-list?api-key=key-one&date_from=2025-01-01&max_calls=100000`);
    expect(((await over.json()) as unknown[]).length).toBe(60);
  });

  it('narrows by days (inclusive, UTC), widget_ids within the key, and status', async () => {
    const day3 = new Date(now - 3 * day).toISOString().slice(0, 10);
    const day5 = new Date(now - 5 * day).toISOString().slice(0, 10);
    expect(await list({ dateFrom: day5, dateTo: day3 })).toHaveLength(3);
    expect(await list({ dateFrom: day3, dateTo: day3 })).toHaveLength(1);
    const salesOnly = await list({ dateFrom: '2025-01-01', maxCalls: 500, widgetIds: [sales.key] });
    expect(salesOnly).toHaveLength(30);
    expect(salesOnly.every((item) => item.widget_key === sales.key)).toBe(true);
    // Another account's widget is outside the key: asking for it gives nothing, not its calls.
    expect(await list({ dateFrom: '2025-01-01', widgetIds: [other.key] })).toEqual([]);
    const statuses = { NO_ANSWER: 'agent_not_answering', OPERATOR_ANSWERED: 'lead_not_answering', CLIENT_ANSWERED: 'answered' } as const;
    for (const [status, callStatus] of Object.entries(statuses)) {
      const items = await list({ dateFrom: '2025-01-01', maxCalls: 500, status: status as keyof typeof statuses });
      expect(items).toHaveLength(20);
      expect(items.every((item) => item.call_status === callStatus)).toBe(true);
    }
  });

  it('filters by search string, url, referer, lead number, agent, answer and talk time', async () => {
    const all = await list({ dateFrom: '2025-01-01', maxCalls: 500 });
    const by = (test: (item: any) => boolean) => ids(all.filter(test));
    expect(ids(await list({ dateFrom: '2025-01-01', searchString: 'd-17' }))).toEqual(by((i) => i.lead.custom_params.deal === 'D-17'));
    expect(ids(await list({ dateFrom: '2025-01-01', filterUrl: 'PRICING' }))).toEqual(by((i) => i.lead.site_path !== null));
    expect(await list({ dateFrom: '2025-01-01', filterReferer: 'google' })).toHaveLength(3);
    expect(ids(await list({ dateFrom: '2025-01-01', filterLeadNumber: '1000042' }))).toEqual(by((i) => i.called_lead_phone === '+46 70 1000042'));
    const agent = all.find((i) => i.agent !== null)!.agent as { name: string };
    const ofAgent = await list({ dateFrom: '2025-01-01', maxCalls: 500, filterAgent: agent.name.toUpperCase() });
    expect(ids(ofAgent)).toEqual(by((i) => i.agent?.name === agent.name));
    const talk = await list({ dateFrom: '2025-01-01', maxCalls: 500, filterTalkTimeFrom: 60, filterTalkTimeTo: 600 });
    expect(ids(talk)).toEqual(by((i) => i.talk_duration_sec >= 60 && i.talk_duration_sec <= 600));
    const answer = await list({ dateFrom: '2025-01-01', maxCalls: 500, filterAnswerTimeTo: 10 });
    expect(ids(answer)).toEqual(by((i) => i.answer_duration_sec <= 10));
    expect(answer.length).toBeGreaterThan(0);
    expect(answer.length).toBeLessThan(60);
  });

  it('refuses a missing or wrong api-key with 401, and wrong values with 400 naming the parameter', async () => {
    const get = (query: string) => fetch(`${mock.url}/api/v2/calls/payload-data-list?${query}`);
    for (const query of ['', 'api-key=', 'api-key=key-three', 'api-key=KEY-ONE']) {
      const response = await get(query);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ success: false, error: 'invalid_api_key' });
    }
    const wrong = new ConvoloClient({ apiKey: 'key-three', callListBaseUrl: mock.url });
    expect(await wrong.listCalls().catch((e: unknown) => e)).toMatchObject({ code: 'unauthorized', status: 401 });
    for (const [query, name] of <Array<[string, string]>>[['page=0', 'page'], ['max_calls=abc', 'max_calls'], ['date_from=15.03.2026', 'date_from'], ['status=MISSED', 'status'], ['filter_talk_time_from=-3', 'filter_talk_time_from']]) {
      const response = await get(`api-key=key-one&${query}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_parameter', message: expect.stringContaining(name) });
    }
    expect(mock.callListRequests.at(-1)!.params['api-key']).toBe('***');
  });

  it('answers injected faults for the next N requests, over HTTP and in code, then the calls again', async () => {
    const faults = `${mock.url}/_mock/call-list-faults`;
    const queued = await fetch(faults, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 429, retry_after: 2, times: 2 }) });
    expect(queued.status).toBe(200);
    mock.injectCallListFaults({ status: 500 });
    mock.injectCallListFaults({ status: 200, body: '<html>not json</html>' });
    mock.injectCallListFaults({ status: 200, body: '{"calls":"none"}' });
    const codes: Array<[string, number | undefined]> = [];
    for (let i = 0; i < 5; i++) {
      const e = (await client.listCalls().catch((error: unknown) => error)) as ConvoloCallListError;
      codes.push([e.code, e.retryAfterSec]);
    }
    expect(codes).toEqual([['rate_limited', 2], ['rate_limited', 2], ['server_error', undefined], ['malformed_json', undefined], ['unexpected_shape', undefined]]);
    expect(await list()).toHaveLength(20);
    const bad = await fetch(faults, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 42 }) });
    expect(bad.status).toBe(400);
    await fetch(faults, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 503, times: 9 }) });
    expect((await fetch(faults, { method: 'DELETE' })).status).toBe(200);
    expect(await list()).toHaveLength(20);
  });
});

describe('mock-convolo --drop-webhooks', () => {
  async function run(seed: number, count: number) {
    const receiver = await startReceiver();
    const mock = createMockConvolo({ webhookUrl: receiver.url, port: 0, widgets: [sales], timeScale: 0, seed, dropWebhooks: 0.2, retryDelaysMs: [] });
    const { url } = await mock.listen();
    const made = mock.makeCalls(count);
    await mock.idle();
    const posted = receiver.received.map((r) => r.json as { type: string; call_id: string });
    const client = new ConvoloClient({ apiKey: sales.apiKey, callListBaseUrl: url });
    const listed: string[] = [];
    for await (const page of client.listAllCalls({ maxCalls: 500 })) listed.push(...page.items.map((i) => i.call_id as string));
    const html = await (await fetch(`${url}/`)).text();
    await mock.close();
    await receiver.close();
    return { made, posted, listed, dropped: [...mock.droppedCallIds], html };
  }

  it("skips that share of end_call webhooks, deterministically by seed, and still lists every call", async () => {
    const a = await run(11, 200);
    // The same seed drops the same calls in the order made; fewer calls suffice to see it.
    const b = await run(11, 60);
    const c = await run(12, 60);
    expect(a.dropped.length).toBeGreaterThan(20);
    expect(a.dropped.length).toBeLessThan(60);
    const pattern = (r: typeof a) => r.made.slice(0, 60).map((id) => r.dropped.includes(id));
    expect(pattern(b)).toEqual(pattern(a));
    expect(pattern(c)).not.toEqual(pattern(a));
    const ended = new Set(a.posted.filter((p) => p.type === 'end_call').map((p) => p.call_id));
    expect(a.posted.filter((p) => p.type === 'start_call')).toHaveLength(200);
    expect(ended.size).toBe(200 - a.dropped.length);
    for (const id of a.dropped) expect(ended.has(id)).toBe(false);
    expect(new Set(a.listed)).toEqual(new Set(a.made));
    expect(a.listed).toHaveLength(200);
    expect(a.html).toContain(`<strong>${a.dropped.length}</strong> dropped`);
  });
});

describe('switchboard mock-convolo --drop-webhooks (the CLI)', () => {
  it('drops the end_call, logs it, lists the call, and says how many it dropped when it stops', async () => {
    assertBuilt();
    const receiver = await startReceiver();
    const child = spawn(process.execPath, [cliPath, 'mock-convolo', '--port', '0', '--webhook-url', receiver.url, '--time-scale', '0', '--drop-webhooks', '1'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the banner', () => out.includes('List the calls:'));
      expect(out).toContain('Dropping:   100 % of end_call webhooks');
      const url = /running on (http:\/\/\S+)/.exec(out)![1]!;
      const key = /widget_key=([0-9a-f]{32})\s+api_key=(\S+)/.exec(out)!;
      const made = await fetch(`${url}/rest/v1/ext/add_call_api/?widget_key=${key[1]}&api_key=${encodeURIComponent(key[2]!)}&lc_number=%2B14155550199`);
      const callId = ((await made.json()) as { call_id: string }).call_id;
      await waitFor('the drop log line', () => /end_call .*dropped on purpose/.test(out));
      const listUrl = /curl '(http:\/\/\S+payload-data-list\S+)'/.exec(out)![1]!;
      const listed = (await (await fetch(listUrl)).json()) as Array<{ call_id: string }>;
      expect(listed.map((item) => item.call_id)).toEqual([callId]);
      expect(receiver.received.map((r) => r.json.type)).toEqual(['start_call']);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('Dropped 1 end_call webhooks on purpose');
      const refused = spawnSync(process.execPath, [cliPath, 'mock-convolo', '--webhook-url', receiver.url, '--drop-webhooks', '1.5'], { cwd: repoRoot, encoding: 'utf8' });
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/--drop-webhooks must be a share from 0 to 1/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await receiver.close();
    }
  });
});
