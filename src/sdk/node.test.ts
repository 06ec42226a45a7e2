import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toNodeListener } from './node.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(handler: (request: Request) => Promise<Response>, maxBodyBytes?: number): Promise<string> {
  server = createServer(toNodeListener(handler, maxBodyBytes === undefined ? {} : { maxBodyBytes }));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('toNodeListener', () => {
  it('hands the web handler the exact bytes, method, URL and headers, and writes its answer back', async () => {
    let seen: { method: string; url: string; header: string | null; bytes: number[] } | undefined;
    const url = await serve(async (request) => {
      seen = { method: request.method, url: request.url, header: request.headers.get('webhook-id'), bytes: [...new Uint8Array(await request.arrayBuffer())] };
      return new Response('{"ok":true}', { status: 201, headers: { 'x-answer': 'yes' } });
    });
    const body = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0xff, 0x7d]); // a BOM and a byte that is not UTF-8
    const response = await fetch(`${url}/hooks?x=1`, { method: 'POST', body, headers: { 'Webhook-Id': 'evt_1' } });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-answer')).toBe('yes');
    expect(await response.text()).toBe('{"ok":true}');
    expect(seen).toEqual({ method: 'POST', url: `${url}/hooks?x=1`, header: 'evt_1', bytes: [...body] });
  });

  it('answers 413 to a body over the limit without calling the handler', async () => {
    let calls = 0;
    const url = await serve(async () => (calls++, new Response('ok')), 1024);
    const declared = await fetch(url, { method: 'POST', body: 'x'.repeat(2048) });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: 'body_too_large' });
    // Chunked, so the size is only known while reading.
    const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('y'.repeat(800))); c.enqueue(new TextEncoder().encode('y'.repeat(800))); c.close(); } });
    const chunked = await fetch(url, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(calls).toBe(0);
    expect((await fetch(url, { method: 'POST', body: 'small' })).status).toBe(200);
    expect(calls).toBe(1);
  });

  it('takes the bytes express.raw() left in req.body, and answers 500 saying why after a JSON body parser', async () => {
    const bodies: string[] = [];
    const listener = toNodeListener(async (request) => (bodies.push(await request.text()), new Response('ok')));
    let parse: 'raw' | 'json' = 'raw';
    // What express.raw() and express.json() do: read the whole stream, then leave the result in req.body.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        Object.assign(req, { body: parse === 'raw' ? raw : JSON.parse(raw.toString()) });
        listener(req, res);
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(url, { method: 'POST', body: '{"a": 1}' })).status).toBe(200);
    expect(bodies).toEqual(['{"a": 1}']);
    parse = 'json';
    const parsed = await fetch(url, { method: 'POST', body: '{"a": 1}' });
    expect(parsed.status).toBe(500);
    expect(await parsed.json()).toMatchObject({ error: 'body_already_parsed', message: expect.stringContaining('express.raw') });
    expect(bodies).toHaveLength(1);
  });

  it('answers 500 when the web handler rejects', async () => {
    const url = await serve(() => Promise.reject(new Error('bug')));
    const response = await fetch(url, { method: 'POST', body: '{}' });
    expect(response.status).toBe(500);
  });
});
