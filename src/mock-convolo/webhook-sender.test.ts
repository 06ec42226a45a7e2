import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../../test/support/receiver.js';
import { createWebhookSender } from './webhook-sender.js';
import { loadWidgetFile } from './widgets.js';

const request = { event: 'end_call' as const, body: '{"type":"end_call","call_id":"c1"}', contentType: 'application/json' };

describe('the webhook sender', () => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('retries a 5xx and a 429 until a 2xx, and records every attempt', async () => {
    const statuses = [503, 429, 200];
    receiver = await startReceiver(({ index }) => ({ status: statuses[index]! }));
    const seen: Array<number | null> = [];
    const result = await createWebhookSender({ retryDelaysMs: [1, 1, 1] })(receiver.url, request, (a) => seen.push(a.status));
    expect(result).toMatchObject({ ok: true, status: 200, event: 'end_call' });
    expect(result.attempts.map((a) => a.status)).toEqual([503, 429, 200]);
    expect(seen).toEqual([503, 429, 200]);
    expect(receiver.received.map((r) => r.headers['content-type'])).toEqual(['application/json', 'application/json', 'application/json']);
    expect(receiver.received[0]!.body).toBe(request.body);
  });

  it('takes a 4xx as final, and gives up after the last retry of a 5xx', async () => {
    receiver = await startReceiver(() => ({ status: 404 }));
    const refused = await createWebhookSender({ retryDelaysMs: [1, 1] })(receiver.url, request);
    expect(refused).toMatchObject({ ok: false, status: 404 });
    expect(refused.attempts).toHaveLength(1);
    receiver.answer(() => ({ status: 500 }));
    const failing = await createWebhookSender({ retryDelaysMs: [1, 1] })(receiver.url, request);
    expect(failing.attempts.map((a) => a.status)).toEqual([500, 500, 500]);
    expect(failing.ok).toBe(false);
  });

  it('records a network error as an attempt without a status, and retries it', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const result = await createWebhookSender({ retryDelaysMs: [1] })(`http://127.0.0.1:${port}/hooks`, request);
    expect(result.status).toBeNull();
    expect(result.attempts).toHaveLength(2);
    expect(result.attempts[0]!.error).toBe('ECONNREFUSED');
  });

  it('stops retrying once aborted', async () => {
    receiver = await startReceiver(() => ({ status: 503 }));
    const aborter = new AbortController();
    const send = createWebhookSender({ retryDelaysMs: [60_000, 60_000], signal: aborter.signal });
    const pending = send(receiver.url, request, () => aborter.abort());
    const result = await pending;
    expect(result.attempts).toHaveLength(1);
  });
});

describe('widgets from a JSON file', () => {
  const write = (content: string) => {
    const path = join(mkdtempSync(join(tmpdir(), 'mock-widgets-')), 'widgets.json');
    writeFileSync(path, content);
    return path;
  };

  it('reads an array or { widgets: [...] } with defaults for what is left out', () => {
    const widgets = loadWidgetFile(write('[{"key":"w1","apiKey":"k1","name":"Sales","userId":7,"timezone":"America/New_York"},{"key":"w2","apiKey":"k2"}]'));
    expect(widgets).toEqual([
      { key: 'w1', apiKey: 'k1', name: 'Sales', userId: 7, timezone: 'America/New_York' },
      { key: 'w2', apiKey: 'k2', name: 'Widget w2', userId: 12345, timezone: 'Europe/Stockholm' },
    ]);
    expect(loadWidgetFile(write('{"widgets":[{"key":"w3","apiKey":"k3"}]}'))[0]!.key).toBe('w3');
  });

  it('says what is wrong with a bad file', () => {
    expect(() => loadWidgetFile(write('{not json'))).toThrow(/--config .*widgets\.json: /);
    expect(() => loadWidgetFile(write('[]'))).toThrow(/non-empty array/);
    expect(() => loadWidgetFile(write('[{"key":"w1"}]'))).toThrow(/widget 0 needs a non-empty "key" and "apiKey"/);
  });
});
