import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSender, type Sender } from './send.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

interface TestServer {
  url: string;
  port: number;
  /** TCP connections accepted so far. */
  connections: () => number;
  requests: { headers: http.IncomingHttpHeaders; body: string }[];
}

const servers: http.Server[] = [];
const senders: Sender[] = [];

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A real HTTP server on 127.0.0.1, port 0, that records what reaches it. */
async function serve(handler: Handler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', () => connections++);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook?x=1`, port, connections: () => connections, requests };
}

function sender(options: Partial<Parameters<typeof createSender>[0]> = {}): Sender {
  const s = createSender({ timeoutMs: 2_000, allowPrivate: true, userAgent: 'Switchboard-test/1', ...options });
  senders.push(s);
  return s;
}

const body = '{"type":"call.ended","data":{"call_id":"c1"}}';
const signed = { 'webhook-id': 'evt_1', 'webhook-timestamp': '1700000000', 'webhook-signature': 'v1,abc=' };

describe('send', () => {
  it('reports a 2xx as ok, with the body, latency and no error; posts JSON with the caller headers', async () => {
    const server = await serve((_req, res) => res.writeHead(204).end());
    const result = await sender().send({ url: server.url, headers: { ...signed, 'Content-Type': 'text/plain', 'X-Custom': 'yes' }, body });
    expect(result).toMatchObject({ ok: true, status: 204, responseBody: '', retryAfter: null, error: null });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    const [received] = server.requests;
    expect(received!.body).toBe(body);
    expect(received!.headers).toMatchObject({ ...signed, 'x-custom': 'yes', 'content-type': 'application/json', 'user-agent': 'Switchboard-test/1' });
  });

  it('reports a 500 as not ok with its status and body, and a 503\'s Retry-After raw', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/busy') res.writeHead(503, { 'retry-after': '120' }).end('busy');
      else res.writeHead(500).end('{"error":"boom"}');
    });
    expect(await sender().send({ url: server.url, headers: signed, body }))
      .toMatchObject({ ok: false, status: 500, responseBody: '{"error":"boom"}', error: null });
    expect(await sender().send({ url: `http://127.0.0.1:${server.port}/busy`, headers: signed, body }))
      .toMatchObject({ ok: false, status: 503, retryAfter: '120', responseBody: 'busy' });
  });

  it('does not follow a 302 to a private address: a failure that keeps the status', async () => {
    let followed = 0;
    const target = await serve((_req, res) => { followed++; res.writeHead(200).end(); });
    const server = await serve((_req, res) => res.writeHead(302, { location: `http://10.0.0.1:${target.port}/steal` }).end());
    const result = await sender().send({ url: server.url, headers: signed, body });
    expect(result).toMatchObject({ ok: false, status: 302, error: `redirect not followed (302 to http://10.0.0.1:${target.port}/steal)` });
    expect(followed).toBe(0);
  });

  it("names a redirect's target without its credentials: the error is stored with the delivery, which a viewer reads", async () => {
    // An http URL the receiver moves to https: its Location repeats the URL, the secret in its path and query too.
    const server = await serve((_req, res) => res.writeHead(301, { location: 'https://hooks.example.com/services/T024BE7LD/B08K1Q2M3N4/vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a?api_key=s3cret' }).end());
    const result = await sender().send({ url: server.url, headers: signed, body });
    expect(result).toMatchObject({ ok: false, status: 301, error: 'redirect not followed (301 to https://hooks.example.com/services/T024BE7LD/B08K1Q2M3N4/[redacted]?api_key=[redacted])' });
  });

  it('gives up on a server that does not answer within timeoutMs', async () => {
    const server = await serve(() => { /* never answers */ });
    const result = await sender({ timeoutMs: 300 }).send({ url: server.url, headers: signed, body });
    expect(result).toMatchObject({ ok: false, status: null, error: 'timeout after 300 ms' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(250);
    expect(result.latencyMs).toBeLessThan(1_500);
  });

  it('bounds the whole attempt: a body trickled slower than timeoutMs in total is cut at the time limit', async () => {
    const server = await serve((req, res) => {
      res.writeHead(req.url === '/busy' ? 503 : 200);
      const timer = setInterval(() => res.write('.'), 100); // each chunk well within bodyTimeout
      res.on('close', () => clearInterval(timer));
    });
    // The status decides (a 2xx in time is success, as Svix and Stripe count it); the excerpt says it was cut.
    const result = await sender({ timeoutMs: 300 }).send({ url: server.url, headers: signed, body });
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    expect(result.responseBody).toMatch(/^\.*\[body cut off: timeout after 300 ms\]$/);
    expect(result.latencyMs).toBeLessThan(1_500);
    const failed = await sender({ timeoutMs: 300 }).send({ url: `http://127.0.0.1:${server.port}/busy`, headers: signed, body });
    expect(failed).toMatchObject({ ok: false, status: 503, error: 'timeout after 300 ms' });
    expect(failed.latencyMs).toBeLessThan(1_500);
  });

  it('keeps only the first 2 KiB of a 10 MB response and returns without downloading the rest', async () => {
    const total = 10 * 1024 * 1024;
    let written = 0;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      chunk.write('héllo'); // a multi-byte character near the start, to see the UTF-8 decode
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const result = await sender().send({ url: server.url, headers: signed, body });
    expect(result.ok).toBe(true);
    expect(Buffer.byteLength(result.responseBody)).toBe(2048);
    expect(result.responseBody.startsWith('héllo')).toBe(true);
    expect(written).toBeLessThan(total);
  });

  it('waits past an informational 1xx for the final answer', async () => {
    const server = await serve((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.writeHead(201, { 'retry-after': '5' }).end('created');
    });
    expect(await sender().send({ url: server.url, headers: signed, body }))
      .toMatchObject({ ok: true, status: 201, responseBody: 'created', retryAfter: '5', error: null });
  });

  it('reports no status when only an informational 1xx came before the time ran out or the connection closed: no answer', async () => {
    const server = await serve((req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      if (req.url === '/close') setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(await sender({ timeoutMs: 300 }).send({ url: server.url, headers: signed, body }))
      .toMatchObject({ ok: false, status: null, error: 'timeout after 300 ms' });
    expect(await sender().send({ url: `http://127.0.0.1:${server.port}/close`, headers: signed, body }))
      .toMatchObject({ ok: false, status: null, error: 'connection closed by the receiver before it answered' });
  });

  it('says a connection closed in the middle of the answer was closed after the status, not before an answer', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(500, { 'content-length': '100' });
      res.write('abc');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(await sender().send({ url: server.url, headers: signed, body }))
      .toMatchObject({ ok: false, status: 500, error: 'connection closed by the receiver in the middle of its answer (after the status)' });
  });

  it('counts a 2xx whose body is cut off as success: the status decides, the excerpt says the body was cut', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('abc');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(await sender().send({ url: server.url, headers: signed, body })).toMatchObject({
      ok: true, status: 200, error: null,
      responseBody: 'abc[body cut off: connection closed by the receiver in the middle of its answer (after the status)]',
    });
  });

  it('decodes a body cut inside a multi-byte character lossily instead of failing', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end('a'.repeat(2047) + 'é and more'));
    const result = await sender().send({ url: server.url, headers: signed, body });
    expect(result.responseBody).toBe('a'.repeat(2047) + '\uFFFD');
  });

  it('reports a refused connection without throwing', async () => {
    const server = await serve(() => {});
    const url = server.url;
    servers.pop()!.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await sender().send({ url, headers: signed, body })).toMatchObject({ ok: false, status: null, error: 'connection refused' });
  });

  it('without allowPrivate, refuses a loopback URL before any connection reaches the server', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end());
    const strict = sender({ allowPrivate: false });
    const literal = await strict.send({ url: server.url, headers: signed, body });
    expect(literal).toMatchObject({ ok: false, status: null });
    expect(literal.error).toBe(`refused: "${server.url.replace('?x=1', '?x=[redacted]')}" resolves to 127.0.0.1, a loopback address`);
    // A name goes through the guarded lookup instead: the check sits on the address connected to.
    const named = await strict.send({ url: `http://localhost:${server.port}/hook`, headers: signed, body });
    expect(named.error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
    expect(server.connections()).toBe(0);
    expect(server.requests).toHaveLength(0);
  });

  it('without allowPrivate, refuses a service port at send time, before connecting', async () => {
    // A destination stored while private destinations were allowed, sent after they no longer are.
    const result = await sender({ allowPrivate: false }).send({ url: 'http://93.184.216.34:6379/hook', headers: signed, body });
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error).toMatch(/^refused: .*port 6379 \(Redis\)/);
  });

  it("names a URL refused at send time without its query's values: the error is stored with the delivery, which a viewer reads", async () => {
    // Destinations stored while private destinations were allowed, sent after they no longer are.
    const strict = sender({ allowPrivate: false });
    const literal = await strict.send({ url: 'http://127.0.0.1:8080/in?api_key=s3cret&x=1', headers: signed, body });
    expect(literal.error).toBe('refused: "http://127.0.0.1:8080/in?api_key=[redacted]&x=[redacted]" resolves to 127.0.0.1, a loopback address');
    const port = await strict.send({ url: 'http://93.184.216.34:6379/hook?token=s3cret', headers: signed, body });
    expect(port.error).toMatch(/^refused: "http:\/\/93\.184\.216\.34:6379\/hook\?token=\[redacted\]" uses port 6379/);
    // A secret in the path (an incoming webhook's token) likewise.
    const inPath = await strict.send({ url: 'http://127.0.0.1:8080/services/T024BE7LD/B08K1Q2M3N4/vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a', headers: signed, body });
    expect(inPath.error).toBe('refused: "http://127.0.0.1:8080/services/T024BE7LD/B08K1Q2M3N4/[redacted]" resolves to 127.0.0.1, a loopback address');
  });

  it('reuses one kept-alive connection across two sends', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end('ok'));
    const s = sender();
    expect((await s.send({ url: server.url, headers: signed, body })).ok).toBe(true);
    expect((await s.send({ url: server.url, headers: signed, body })).ok).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(server.connections()).toBe(1);
  });

  it('keeps the connection for the next send after draining a response a little over 2 KiB', async () => {
    const server = await serve((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<p>'.repeat(3000)));
    const s = sender();
    expect((await s.send({ url: server.url, headers: signed, body })).responseBody).toHaveLength(2048);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the drain finishes in the background
    expect((await s.send({ url: server.url, headers: signed, body })).status).toBe(404);
    expect(server.connections()).toBe(1);
  });

  it('with maxConnectionsPerOrigin 1, queues concurrent sends on one connection', async () => {
    const server = await serve((_req, res) => setTimeout(() => res.writeHead(200).end(), 20));
    const s = sender({ maxConnectionsPerOrigin: 1 });
    const results = await Promise.all([1, 2, 3].map(() => s.send({ url: server.url, headers: signed, body })));
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(server.connections()).toBe(1);
  });

  it('reports a URL that is not http(s) or does not parse, without throwing', async () => {
    expect((await sender().send({ url: 'not a url', headers: signed, body })).error).toBe('invalid destination URL');
    expect((await sender().send({ url: 'ftp://127.0.0.1/x', headers: signed, body })).error).toContain('must start with `http:` or `https:`');
  });
});
