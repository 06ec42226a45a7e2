import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, SwitchboardApiError } from './client.js';

/** A scripted API on loopback: `answer` gets each request's URL; `urls` records them. */
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function api(answer: (url: URL, res: ServerResponse, req: IncomingMessage) => void) {
  const urls: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    urls.push(url);
    answer(url, res, req);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return { client: createClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'sbk_test' }), urls };
}

const json = (res: ServerResponse, body: unknown, status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** Every item `iterable` yields, up to `max` (so that a loop fails the test instead of hanging it), and how it ended. */
async function drain<T>(iterable: AsyncIterable<T>, max = 20): Promise<{ items: T[]; error?: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of iterable) if (items.push(item) >= max) break;
  } catch (error) {
    return { items, error };
  }
  return { items };
}

describe('createClient iterate', () => {
  it('stops with pagination_loop when the server hands back a cursor it already gave, instead of reading forever', async () => {
    const { client, urls } = await api((url, res) => {
      const cursor = url.searchParams.get('cursor');
      if (cursor === null) return json(res, { data: [{ call_id: 'a' }], next_cursor: 'c1' });
      if (cursor === 'c1') return json(res, { data: [{ call_id: 'b' }], next_cursor: 'c2' });
      return json(res, { data: [{ call_id: 'c' }], next_cursor: 'c1' }); // back to a page already read
    });
    const { items, error } = await drain(client.calls.iterate());
    expect(items.map((c) => c.call_id)).toEqual(['a', 'b', 'c']);
    expect(error).toBeInstanceOf(SwitchboardApiError);
    expect(error).toMatchObject({ code: 'pagination_loop', status: 200 });
    expect(urls.map((u) => u.searchParams.get('cursor'))).toEqual([null, 'c1', 'c2']);
  });

  it('ends after a page that has no next_cursor at all, as after a null one', async () => {
    const { client, urls } = await api((_url, res) => json(res, { data: [{ id: 1 }, { id: 2 }] }));
    const { items, error } = await drain(client.events.iterate());
    expect(error).toBeUndefined();
    expect(items).toHaveLength(2);
    expect(urls).toHaveLength(1);
  });
});

describe('createClient answers that are not JSON', () => {
  it('rejects a 2xx that is not JSON (a proxy page) or is cut off mid-body with a SwitchboardApiError, as documented', async () => {
    const { client } = await api((url, res) => {
      if (url.pathname === '/v1/about') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Sign in to the proxy</html>');
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"data":[');
      setTimeout(() => res.destroy(), 20);
    });
    const html = await client.about().catch((e: unknown) => e);
    expect(html).toBeInstanceOf(SwitchboardApiError);
    expect(html).toMatchObject({ status: 200, code: 'invalid_response' });
    const cut = await client.calls.list().catch((e: unknown) => e);
    expect(cut).toBeInstanceOf(SwitchboardApiError);
    expect(cut).toMatchObject({ status: 0, code: 'connection_failed' });
  });

  it('rejects an event\'s raw bytes cut off mid-body with connection_failed, not a bare TypeError', async () => {
    const { client } = await api((_url, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100' });
      res.write('{"type":"end_');
      setTimeout(() => res.destroy(), 20);
    });
    const cut = await client.events.raw('evt_1').catch((e: unknown) => e);
    expect(cut).toBeInstanceOf(SwitchboardApiError);
    expect(cut).toMatchObject({ status: 0, code: 'connection_failed' });
  });
});
