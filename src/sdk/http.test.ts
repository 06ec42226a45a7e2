import { describe, expect, it } from 'vitest';
import { apiErrorOf, backoffMs, buildUrl, sleep } from './http.js';

describe('apiErrorOf', () => {
  it('keeps the server\'s code, message, detail and Retry-After seconds', async () => {
    const response = new Response(JSON.stringify({ error: 'rate_limited', message: 'Too many requests', detail: 'key' }), { status: 429, headers: { 'retry-after': '7' } });
    const error = await apiErrorOf(response);
    expect(error).toMatchObject({ name: 'SwitchboardApiError', status: 429, code: 'rate_limited', detail: 'key', retryAfter: 7 });
    expect(error.message).toBe('Too many requests (key)');
  });

  it('describes a body that is not ours by its status, and reads an HTTP-date Retry-After', async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    const error = await apiErrorOf(new Response('<html>bad gateway</html>', { status: 502, headers: { 'retry-after': at } }));
    expect(error.code).toBe('http_502');
    expect(error.retryAfter).toBeGreaterThan(100);
    expect(error.retryAfter).toBeLessThanOrEqual(120);
  });

  it('reads no wait from a Retry-After that is neither whole seconds nor an HTTP date (Date.parse read "-5" as a day of 2001)', async () => {
    for (const header of ['1.5', '-5', '12 seconds', 'soon']) {
      const error = await apiErrorOf(new Response('{"error":"rate_limited","message":"Slow down."}', { status: 429, headers: { 'retry-after': header } }));
      expect(error.retryAfter, header).toBeUndefined();
    }
    const error = await apiErrorOf(new Response('', { status: 503, headers: { 'retry-after': ' 30 ' } }));
    expect(error.retryAfter).toBe(30);
  });
});

describe('buildUrl', () => {
  it('drops empty values, joins lists and keeps a path prefix', () => {
    expect(buildUrl('https://x.test/sb/', '/v1/stream', { types: ['a', 'b'], since: 0, widget_key: undefined, source_id: null })).toBe(
      'https://x.test/sb/v1/stream?types=a%2Cb&since=0',
    );
  });
});

describe('backoffMs', () => {
  it('doubles from base to max, within the upper half of each step', () => {
    const steps = { baseMs: 500, maxMs: 30_000 };
    expect([0, 1, 2, 10].map((a) => backoffMs(a, steps, () => 0))).toEqual([250, 500, 1000, 15_000]);
    expect([0, 1, 2, 10].map((a) => backoffMs(a, steps, () => 1))).toEqual([500, 1000, 2000, 30_000]);
  });
});

describe('sleep', () => {
  it('returns at once when its signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBeUndefined();
  });
});
