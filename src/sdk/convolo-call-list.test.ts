import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConvoloCallListError, ConvoloClient, readCallListBody, retryAfterSeconds, type CallListPage } from './convolo-client.js';

/** The key holds characters that URL-encoding changes, so both spellings are looked for in error text. */
const apiKey = 'sekrit/KEY+42=&x';
const encodedKey = encodeURIComponent(apiKey);

interface Answer {
  status?: number;
  body: string;
  headers?: Record<string, string>;
  /** Never answers (the client's timeout). */
  hang?: boolean;
}

let server: Server;
let baseUrl: string;
let answer: (url: URL) => Answer;
const seen: URL[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x.invalid');
    seen.push(url);
    const a = answer(url);
    if (a.hang) return;
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers }).end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
});

const client = (timeoutMs = 2_000) => new ConvoloClient({ apiKey, callListBaseUrl: `${baseUrl}/`, timeoutMs });
const call = (id: string) => ({ type: 'end_call', call_id: id, call_status: 'answered' });

async function failure(promise: Promise<unknown>): Promise<ConvoloCallListError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConvoloCallListError);
  const e = error as ConvoloCallListError;
  // Whatever went wrong, nothing the client throws carries the key, as given or as URL-encoded.
  const text = [e.message, e.stack, e.firstBytes, JSON.stringify(e), String((e as { cause?: unknown }).cause ?? '')].join('\n');
  expect(text).not.toContain(apiKey);
  expect(text).not.toContain(encodedKey);
  expect(text).not.toContain('sekrit');
  return e;
}

describe('ConvoloClient.listCalls', () => {
  it('with maxPageBytes: a 2xx answer longer is too_large, one that fits is read, a longer error answer keeps its own code', async () => {
    const page = JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ ...call(`c${i}`), notes: 'x'.repeat(100) })));
    const bounded = new ConvoloClient({ apiKey, callListBaseUrl: baseUrl, maxPageBytes: page.length - 1 });
    answer = () => ({ body: page });
    const e = await failure(bounded.listCalls());
    expect(e).toMatchObject({ code: 'too_large', status: 200 });
    expect(e.message).toContain(`larger than ${page.length - 1} bytes`);
    expect((await new ConvoloClient({ apiKey, callListBaseUrl: baseUrl, maxPageBytes: page.length }).listCalls()).items).toHaveLength(20);
    expect((await client().listCalls()).items).toHaveLength(20);
    answer = () => ({ status: 503, body: page });
    expect(await failure(bounded.listCalls())).toMatchObject({ code: 'server_error', status: 503 });
  });

  it('sends the key as api-key and every field of the query as Convolo names it', async () => {
    answer = () => ({ body: JSON.stringify([call('a')]) });
    const page = await client().listCalls({
      dateFrom: '2026-03-01', dateTo: '2026-03-31', widgetIds: ['w1', 'w2'], maxCalls: 500, page: 3, searchString: 'Anna K',
      status: 'OPERATOR_ANSWERED', filterUrl: '/pricing', filterReferer: 'google', filterLeadNumber: '+46 70', filterAgent: 'bo',
      filterAnswerTimeFrom: 0, filterAnswerTimeTo: 30, filterTalkTimeFrom: 15, filterTalkTimeTo: 600,
    });
    expect(page).toEqual({ page: 3, items: [call('a')] });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.pathname).toBe('/api/v2/calls/payload-data-list');
    expect(Object.fromEntries(seen[0]!.searchParams)).toEqual({
      'api-key': apiKey, date_from: '2026-03-01', date_to: '2026-03-31', widget_ids: 'w1,w2', max_calls: '500', page: '3',
      search_string: 'Anna K', status: 'OPERATOR_ANSWERED', filter_url: '/pricing', filter_referer: 'google', filter_lead_number: '+46 70',
      filter_agent: 'bo', filter_answer_time_from: '0', filter_answer_time_to: '30', filter_talk_time_from: '15', filter_talk_time_to: '600',
    });
  });

  it('sends nothing but the key when the query is empty (Convolo then uses its defaults), and page 1 is assumed', async () => {
    answer = () => ({ body: '[]' });
    expect(await client().listCalls()).toEqual({ page: 1, items: [] });
    expect([...seen[0]!.searchParams.keys()]).toEqual(['api-key']);
  });

  it('refuses a wrong query before sending anything', async () => {
    for (const query of [{ maxCalls: 501 }, { maxCalls: 0 }, { page: 0 }, { dateFrom: '2026-3-1' }, { dateTo: '2026-02-30x' }, { status: 'MISSED' as never }, { filterTalkTimeFrom: -1 }, { widgetIds: ['a,b'] }]) {
      await expect(client().listCalls(query)).rejects.toThrow(RangeError);
    }
    expect(seen).toHaveLength(0);
  });

  const accepted: Array<[string, unknown]> = [
    ['a bare array', [call('a'), call('b')]],
    ...['data', 'calls', 'items', 'results', 'list', 'payload', 'webhooks'].map((key): [string, unknown] => [`an object with the list under ${key}`, { [key]: [call('a'), call('b')], total: 2 }]),
    ['items that are envelopes without a call_id of their own', [{ payload: call('a') }, { data: call('b') }]],
  ];
  it.each(accepted)('accepts %s', async (_, body) => {
    answer = () => ({ body: JSON.stringify(body) });
    expect((await client().listCalls()).items).toEqual([call('a'), call('b')]);
  });

  it('keeps an item that has its own call_id, or is no clear envelope, as it is', () => {
    const own = { call_id: 'a', payload: call('b') };
    const unclear = { payload: call('a'), data: call('b') };
    expect(readCallListBody([own, unclear, { note: 1 }])).toEqual([own, unclear, { note: 1 }]);
  });

  it.each([
    ['an object without a list', '{"success":true,"count":2}'],
    ['a list under an unknown key', '{"rows":[{"call_id":"a"}]}'],
    ['a list of something else', '[1,2,3]'],
    ['a list with one item that is not an object', '[{"call_id":"a"},null]'],
    ['a string', '"ok"'],
    ['a list that is not under the first key found', '{"data":"none","calls":"x"}'],
  ])('refuses %s as unexpected_shape, with the first bytes', async (_, body) => {
    answer = () => ({ body });
    const e = await failure(client().listCalls());
    expect(e).toMatchObject({ code: 'unexpected_shape', status: 200, firstBytes: body });
  });

  it('gives only the first 256 bytes of a long answer, with the key removed if the server echoes it', async () => {
    answer = (url) => ({ body: JSON.stringify({ echo: url.search, filler: 'x'.repeat(1000) }) });
    const e = await failure(client().listCalls());
    expect(e.code).toBe('unexpected_shape');
    expect(e.firstBytes!.length).toBeLessThanOrEqual(256);
    expect(e.firstBytes).toContain('api-key=***');
  });

  it('says malformed_json for a 2xx answer that is not JSON', async () => {
    answer = () => ({ body: '<html>Maintenance</html>', headers: { 'content-type': 'text/html' } });
    expect(await failure(client().listCalls())).toMatchObject({ code: 'malformed_json', status: 200, firstBytes: '<html>Maintenance</html>' });
  });

  it.each([
    [401, 'unauthorized'], [403, 'unauthorized'], [500, 'server_error'], [503, 'server_error'], [400, 'http_error'], [404, 'http_error'],
  ] as const)('maps %i to %s', async (status, code) => {
    answer = (url) => ({ status, body: JSON.stringify({ error: 'nope', url: url.href }) });
    const e = await failure(client().listCalls());
    expect(e).toMatchObject({ code, status });
    expect(e.message).toContain(String(status));
  });

  it('gives Retry-After of a 429 in seconds, from seconds or an HTTP date', async () => {
    answer = () => ({ status: 429, body: '{}', headers: { 'retry-after': '7' } });
    expect(await failure(client().listCalls())).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSec: 7 });
    answer = () => ({ status: 429, body: '{}', headers: { 'retry-after': new Date(Date.now() + 60_000).toUTCString() } });
    const e = await failure(client().listCalls());
    expect(e.retryAfterSec).toBeGreaterThanOrEqual(58);
    expect(e.retryAfterSec).toBeLessThanOrEqual(60);
    answer = () => ({ status: 429, body: '{}' });
    expect((await failure(client().listCalls())).retryAfterSec).toBeUndefined();
    expect(retryAfterSeconds('Wed, 01 Jan 2020 00:00:00 GMT')).toBe(0);
    expect(retryAfterSeconds('soon')).toBeUndefined();
    // Neither delta-seconds nor an HTTP date: Date.parse read them as days of 2001, long past, so a wait of 0.
    for (const header of ['1.5', '2.5', '-5', '1 minute', 'Wed, 31 Feb 2027 00:00:00 GMT']) expect(retryAfterSeconds(header, Date.UTC(2026, 0, 1)), header).toBeUndefined();
    expect(retryAfterSeconds('Fri, 01 Jan 2026 00:00:30 GMT', Date.UTC(2026, 0, 1))).toBe(30);
  });

  it('says network when nobody answers and timeout when the answer does not come, without the key', async () => {
    const closed = new ConvoloClient({ apiKey, callListBaseUrl: 'http://127.0.0.1:1' });
    expect((await failure(closed.listCalls())).code).toBe('network');
    const unresolvable = new ConvoloClient({ apiKey, callListBaseUrl: 'http://convolo.invalid' });
    expect((await failure(unresolvable.listCalls())).code).toBe('network');
    answer = () => ({ body: '', hang: true });
    const e = await failure(client(100).listCalls());
    expect(e.code).toBe('timeout');
    expect(e.message).toMatch(/within 100 ms/);
  });

  it("rejects with the caller's own abort reason", async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    answer = () => {
      arrived();
      return { body: '', hang: true };
    };
    const aborter = new AbortController();
    const pending = client().listCalls({}, { signal: aborter.signal });
    await arrival;
    aborter.abort(new Error('stopped by the test'));
    await expect(pending).rejects.toThrow('stopped by the test');
  });
});

describe('ConvoloClient.listAllCalls', () => {
  const ids = Array.from({ length: 1203 }, (_, i) => `c${i}`);
  const pageOf = (url: URL, all: string[]) => {
    const max = Number(url.searchParams.get('max_calls') ?? 20);
    const page = Number(url.searchParams.get('page') ?? 1);
    return all.slice((page - 1) * max, page * max).map(call);
  };
  const collect = async (iterable: AsyncIterable<CallListPage>) => {
    const pages: CallListPage[] = [];
    for await (const page of iterable) pages.push(page);
    return pages;
  };

  it('pages across the 500 cap until a page is empty, passing the filters on every page', async () => {
    answer = (url) => ({ body: JSON.stringify(pageOf(url, ids)) });
    const pages = await collect(client().listAllCalls({ maxCalls: 500, status: 'NO_ANSWER', widgetIds: ['w1'] }));
    expect(pages.map((p) => [p.page, p.items.length])).toEqual([[1, 500], [2, 500], [3, 203], [4, 0]]);
    expect(pages.flatMap((p) => p.items.map((i) => i.call_id))).toEqual(ids);
    expect(seen.map((u) => [u.searchParams.get('page'), u.searchParams.get('status'), u.searchParams.get('widget_ids')])).toEqual([['1', 'NO_ANSWER', 'w1'], ['2', 'NO_ANSWER', 'w1'], ['3', 'NO_ANSWER', 'w1'], ['4', 'NO_ANSWER', 'w1']]);
  });

  it('keeps paging past a short page (a server whose pages are smaller than asked) until an empty one', async () => {
    answer = (url) => ({ body: JSON.stringify(pageOf(new URL(url.href.replace(/max_calls=\d+/, 'max_calls=100')), ids.slice(0, 250))) });
    const pages = await collect(client().listAllCalls({ maxCalls: 500 }));
    expect(pages.map((p) => p.items.length)).toEqual([100, 100, 50, 0]);
    expect(pages.flatMap((p) => p.items.map((i) => i.call_id))).toEqual(ids.slice(0, 250));
  });

  it('stops at an empty page when the last full page ends the list, and reads nothing past it', async () => {
    answer = (url) => ({ body: JSON.stringify(pageOf(url, ids.slice(0, 40))) });
    const pages = await collect(client().listAllCalls());
    expect(pages.map((p) => p.items.length)).toEqual([20, 20, 0]);
    expect(seen).toHaveLength(3);
  });

  it('resumes from fromPage', async () => {
    answer = (url) => ({ body: JSON.stringify(pageOf(url, ids)) });
    const pages = await collect(client().listAllCalls({ maxCalls: 500, fromPage: 3 }));
    expect(pages.map((p) => p.page)).toEqual([3, 4]);
    expect(pages[0]!.items[0]!.call_id).toBe('c1000');
  });

  it('stops with unexpected_shape when a server ignores page and repeats itself', async () => {
    answer = () => ({ body: JSON.stringify(ids.slice(0, 20).map(call)) });
    const error = await collect(client().listAllCalls()).then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'unexpected_shape' });
    expect(seen).toHaveLength(2);
  });

  it('stops at the first failing page with its error, after yielding the pages before it', async () => {
    answer = (url) => (url.searchParams.get('page') === '2' ? { status: 502, body: 'bad gateway' } : { body: JSON.stringify(pageOf(url, ids)) });
    const got: number[] = [];
    const error = await (async () => {
      for await (const page of client().listAllCalls()) got.push(page.page);
    })().then(() => null, (e: unknown) => e);
    expect(got).toEqual([1]);
    expect(error).toMatchObject({ code: 'server_error', status: 502, firstBytes: 'bad gateway' });
  });
});
