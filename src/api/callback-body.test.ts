import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CallbackBody, type BodyChunk } from './callback-body.js';

/** CallbackBody on a real Fastify server over loopback, read by a real client. */
describe('CallbackBody', () => {
  let app: FastifyInstance | null = null;
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  async function serve(chunks: () => AsyncIterable<BodyChunk>): Promise<string> {
    app = Fastify();
    app.get('/', (_request, reply) => reply.type('text/plain').send(new CallbackBody(chunks())));
    await app.listen({ host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
  }

  /** The body read slowly (a pause every 256 kB), so the server's writes wait for the socket. */
  function readSlowly(url: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      http.get(url, (response) => {
        const parts: Buffer[] = [];
        let since = 0;
        response.on('data', (part: Buffer) => {
          parts.push(part);
          since += part.length;
          if (since < 256 * 1024) return;
          since = 0;
          response.pause();
          setTimeout(() => response.resume(), 5);
        });
        response.on('end', () => resolve(Buffer.concat(parts)));
        response.on('error', reject);
      }).on('error', reject);
    });
  }

  it("calls a chunk's `sent` only once the socket has taken its bytes: overwriting them then changes nothing the client reads", async () => {
    const size = 512 * 1024;
    const sentCalls: number[] = [];
    const url = await serve(async function* () {
      yield { bytes: Buffer.from('head\n') };
      for (let i = 0; i < 24; i++) {
        const bytes = Buffer.alloc(size, 97 + (i % 26));
        // As the export does: the memory is used for something else at once.
        yield { bytes, sent: () => (sentCalls.push(i), bytes.fill(0x58)) };
      }
    });
    const body = await readSlowly(url);
    expect(body.length).toBe(5 + 24 * size);
    expect(body.subarray(0, 5).toString()).toBe('head\n');
    for (let i = 0; i < 24; i++) {
      const part = body.subarray(5 + i * size, 5 + (i + 1) * size);
      expect(part.every((b) => b === 97 + (i % 26)), `chunk ${i} arrived intact`).toBe(true);
    }
    expect(sentCalls).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });

  it('stops asking for chunks when the client leaves, and finishes the iterator', async () => {
    let made = 0;
    let finished = false;
    const url = await serve(async function* () {
      try {
        for (;;) {
          made += 1;
          yield { bytes: Buffer.alloc(256 * 1024, 120) };
        }
      } finally {
        finished = true;
      }
    });
    const request = http.get(url);
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    await once(response, 'data');
    request.destroy();
    await expect.poll(() => finished, { timeout: 5_000 }).toBe(true);
    const after = made;
    await new Promise((r) => setTimeout(r, 100));
    expect(made).toBe(after);
    expect(made).toBeLessThan(1_000);
  });

  it('cuts the response short when a chunk fails after the first was sent', async () => {
    const url = await serve(async function* () {
      yield { bytes: Buffer.from('first\n') };
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('the read failed');
    });
    const outcome = await new Promise<{ body: string; aborted: boolean }>((resolve) => {
      http.get(url, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (part: string) => (body += part));
        response.on('end', () => resolve({ body, aborted: false }));
        response.on('error', () => resolve({ body, aborted: true }));
        response.on('aborted', () => resolve({ body, aborted: true }));
      });
    });
    expect(outcome).toEqual({ body: 'first\n', aborted: true });
  });

  it('answers a whole body and ends, an empty one too', async () => {
    const url = await serve(async function* () {
      yield { bytes: Buffer.from('a,b\r\n') };
      yield { bytes: new Uint8Array(Buffer.from('1,2\r\n')) };
    });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('a,b\r\n1,2\r\n');
    await app!.close();
    const empty = await serve(async function* () {});
    expect(await (await fetch(empty)).text()).toBe('');
  });
});
