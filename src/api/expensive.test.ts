import Fastify from 'fastify';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { registerErrorHandling } from './errors.js';
import { limitExpensive } from './expensive.js';

/**
 * The expensive-request slots on a bare Fastify with the real hooks: `/v1/stats` answers when the test says so,
 * standing in for a statement that keeps running after its client left.
 */
describe('limitExpensive', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function start() {
    const pending: Array<() => void> = [];
    const app = Fastify();
    registerErrorHandling(app);
    const expensive = limitExpensive(1);
    app.addHook('onRequest', expensive.onRequest);
    app.addHook('onSend', expensive.onSend);
    // Not expensive: an answer that never comes, for a request to be pipelined behind.
    app.get('/v1/slow', () => new Promise(() => {}));
    app.get('/v1/stats', async () => {
      await new Promise<void>((resolve) => pending.push(resolve));
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    close = () => app.close();
    const { port } = app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}/v1/stats`;
    const headers = { authorization: 'Bearer sbk_the_same_key' };
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    return { url, port, headers, pending, until };
  }

  it('keeps the slot of a client that left until its handler has answered, then frees it', async () => {
    const { url, headers, pending, until } = await start();
    const leaving = new AbortController();
    const abandoned = fetch(url, { headers, signal: leaving.signal }).catch(() => 'left');
    await until(() => pending.length === 1);
    leaving.abort();
    expect(await abandoned).toBe('left');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server has seen the connection close

    // The abandoned read still runs: the same key gets 429.
    const refused = await fetch(url, { headers, signal: AbortSignal.timeout(3000) }); // a freed slot would run it: no answer
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });

    // It ends: the slot is free again, and a new request runs.
    pending.shift()!();
    const next = fetch(url, { headers });
    await until(() => pending.length === 1);
    pending.shift()!();
    expect((await next).status).toBe(200);
  });

  it('frees the slot when the answer has gone out, whichever end comes last', async () => {
    const { url, headers, pending, until } = await start();
    for (let i = 0; i < 3; i++) {
      const answer = fetch(url, { headers });
      await until(() => pending.length === 1);
      pending.shift()!();
      expect((await answer).status).toBe(200);
    }
  });

  it('frees the slot of a request pipelined behind another when the connection closes before its answer had its turn', async () => {
    const { url, port, headers, pending, until } = await start();
    const connection = net.connect(port, '127.0.0.1');
    connection.on('error', () => {});
    await new Promise((resolve) => connection.once('connect', resolve));
    const auth = `authorization: ${headers.authorization}\r\n`;
    connection.write(`GET /v1/slow HTTP/1.1\r\nhost: x\r\n${auth}\r\nGET /v1/stats HTTP/1.1\r\nhost: x\r\n${auth}\r\n`);
    await until(() => pending.length === 1);
    pending.shift()!(); // its handler answered; the answer waits behind /v1/slow's, which never comes
    await new Promise((resolve) => setTimeout(resolve, 50));
    connection.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server has seen the connection close

    // The slot is free: the same key's next expensive request runs (it held a 429 for ever before).
    const next = fetch(url, { headers });
    await until(() => pending.length === 1);
    expect(pending).toHaveLength(1);
    pending.shift()!();
    expect((await next).status).toBe(200);
  });
});
