import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { attemptError, createWebhookSender, webhookUserAgent, type SignTarget, type WebhookSender } from './sign-and-send.js';
import { newWebhookSecret } from './signing.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A receiver on 127.0.0.1 that answers `status` and keeps what reached it. */
async function receiver(status: number) {
  const seen: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen };
}

function webhookSender(allowPrivate = true): WebhookSender {
  const sender = createWebhookSender({ deliveryTimeoutSec: 2, allowPrivateDestinations: allowPrivate });
  closers.push(() => sender.close());
  return sender;
}

const target = (url: string, extra: Partial<SignTarget> = {}): SignTarget => ({
  url, headers: null, secret: newWebhookSecret(), previousSecrets: [], ...extra,
});

describe('signAndSend', () => {
  it('posts the payload signed, with our user agent and the destination headers, that a receiver verifies', async () => {
    const { url, seen } = await receiver(204);
    const destination = target(url, { headers: { 'X-Tenant': 't1' } });
    const payload = JSON.stringify({ type: 'call.started' });
    const result = await webhookSender().signAndSend(destination, { id: 'evt_1', payload }, Date.now());
    expect(result).toMatchObject({ ok: true, status: 204, error: null });
    const [request] = seen;
    expect(request!.body).toBe(payload);
    expect(request!.headers).toMatchObject({ 'user-agent': webhookUserAgent, 'x-tenant': 't1', 'content-type': 'application/json', 'webhook-id': 'evt_1' });
    const verified = new Webhook(destination.secret).verify(payload, request!.headers as Record<string, string>);
    expect(verified).toEqual({ type: 'call.started' });
  });

  it('signs with each previous secret too while its own grace lasts, and not after', async () => {
    const { url, seen } = await receiver(200);
    const now = Date.now();
    const destination = target(url, { previousSecrets: [{ secret: newWebhookSecret(), expiresAt: now + 2000 }, { secret: newWebhookSecret(), expiresAt: now + 1000 }] });
    const sender = webhookSender();
    await sender.signAndSend(destination, { id: 'evt_2', payload: '{}' }, now);
    await sender.signAndSend(destination, { id: 'evt_2', payload: '{}' }, now + 1000);
    await sender.signAndSend(destination, { id: 'evt_2', payload: '{}' }, now + 2000);
    expect(seen.map((r) => String(r.headers['webhook-signature']).split(' ').length)).toEqual([3, 2, 1]);
  });

  it('refuses a private address unless private destinations are allowed, reporting rather than throwing', async () => {
    const { url, seen } = await receiver(200);
    const result = await webhookSender(false).signAndSend(target(url), { id: 'evt_3', payload: '{}' }, Date.now());
    expect(result).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/^refused: /) });
    expect(seen).toHaveLength(0);
  });
});

describe('attemptError', () => {
  it.each([
    [{ ok: true, status: 200, error: null }, null],
    [{ ok: false, status: 500, error: null }, 'answered 500'],
    [{ ok: false, status: 302, error: 'redirect not followed (302)' }, 'redirect not followed (302)'],
    [{ ok: false, status: null, error: 'timeout after 2000 ms' }, 'timeout after 2000 ms'],
  ])('%o says %s', (result, expected) => {
    expect(attemptError(result)).toBe(expected);
  });
});
