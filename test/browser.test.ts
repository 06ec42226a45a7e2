import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, endCall, startCall, startTestApp, startTestAppAgain, type TestApp } from './support/app.js';
import { launchChromium } from './support/browser.js';

/**
 * What a developer does first with the relay, in a real Chromium: a page of their own web app (another
 * origin) opens the stream with EventSource and reads the API with fetch, across origins (CORS).
 */
const page = `<!doctype html><meta charset="utf-8"><title>my app</title><script>
  window.received = [];
  window.openStream = (url) => new Promise((resolve, reject) => {
    const source = new EventSource(url);
    for (const type of ['call.started', 'call.ended']) source.addEventListener(type, (e) => window.received.push({ type: e.type, id: e.lastEventId, data: JSON.parse(e.data) }));
    window.gaps = [];
    source.addEventListener('switchboard.gap', (e) => window.gaps.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
    source.onopen = () => resolve(true);
    source.onerror = () => reject(new Error('EventSource failed'));
  });
</script>`;

describe.each(backends)('in a browser ($name)', (backend) => {
  let browser: Browser;
  let app: Server;
  let appOrigin: string;
  let t: TestApp;

  beforeAll(async () => {
    browser = await launchChromium();
    app = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    // localhost vs 127.0.0.1: another origin than Switchboard's, as the user's app would be.
    appOrigin = `http://localhost:${(app.address() as AddressInfo).port}`;
    t = await startTestApp(await backend.freshDb());
  });
  afterAll(async () => {
    await t?.close();
    await browser?.close();
    // A beforeAll that failed early leaves no server: closing nothing must not wait for ever.
    if (app) await new Promise((resolve) => app.close(resolve));
  });

  it('a page on another origin follows the stream with EventSource and reads a call with fetch', async () => {
    const tab = await browser.newPage();
    try {
      await tab.goto(appOrigin);
      await tab.evaluate((url) => (globalThis as any).openStream(url), `${t.baseUrl}/v1/stream?access_token=${t.adminKey}`);
      expect((await t.post(startCall('browser-1'))).status).toBe(200);
      expect((await t.post(endCall('browser-1'))).status).toBe(200);
      await tab.waitForFunction(() => (globalThis as any).received.length >= 2, undefined, { timeout: 10_000 });
      const received = await tab.evaluate(() => (globalThis as any).received);
      expect(received.map((e: any) => [e.type, e.data.call_id, e.data.call.status])).toEqual([
        ['call.started', 'browser-1', 'in_progress'],
        ['call.ended', 'browser-1', 'answered'],
      ]);
      expect(Number(received[1].id)).toBeGreaterThan(Number(received[0].id));

      // fetch with an Authorization header: a CORS preflight, then the call.
      const call = await tab.evaluate(async ({ base, key }) => {
        const response = await fetch(`${base}/v1/calls/browser-1`, { headers: { authorization: `Bearer ${key}` } });
        return { status: response.status, body: await response.json() };
      }, { base: t.baseUrl, key: t.adminKey });
      expect(call).toMatchObject({ status: 200, body: { call_id: 'browser-1', status: 'answered', event_count: 2 } });
    } finally {
      await tab.close();
    }
  });

  it('a page on another origin reads the stream\'s Switchboard-Log-Id with fetch (what the SDK sends back on reconnecting)', async () => {
    const tab = await browser.newPage();
    try {
      await tab.goto(appOrigin);
      const logId = await tab.evaluate(async ({ base, key }) => {
        const controller = new AbortController();
        const response = await fetch(`${base}/v1/stream`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
        const header = response.headers.get('switchboard-log-id');
        controller.abort();
        return header;
      }, { base: t.baseUrl, key: t.adminKey });
      expect(logId).toBe(await t.app.storage.events.logId());
    } finally {
      await tab.close();
    }
  });

  it('an EventSource made with a since past the log\'s end resumes after the head the gap frame gave, getting the events appended while it was away', async () => {
    const db = await backend.freshDb();
    const own = await startTestApp(db);
    let again: TestApp | undefined;
    const tab = await browser.newPage();
    try {
      await tab.goto(appOrigin);
      // A cursor from before a database reset, kept in the page's URL: the stream goes on after the head (0).
      await tab.evaluate((url) => (globalThis as any).openStream(url), `${own.baseUrl}/v1/stream?since=999&access_token=${own.adminKey}`);
      await tab.waitForFunction(() => (globalThis as any).gaps.length === 1, undefined, { timeout: 10_000 });
      // The browser's own last event id is the head now, not 999.
      expect(await tab.evaluate(() => (globalThis as any).gaps)).toEqual([{ id: '0', data: { type: 'switchboard.gap', reason: 'cursor_ahead', after: 999, head: 0, log_id: await own.app.storage.events.logId() } }]);
      await own.close();
      // The same database and address: the connection dropped, EventSource reconnects on its own (retry: 2000).
      again = await startTestAppAgain(db, own, { port: Number(new URL(own.baseUrl).port) });
      expect((await again.post(startCall('away-1'))).status).toBe(200);
      expect((await again.post(endCall('away-1'))).status).toBe(200);
      await tab.waitForFunction(() => (globalThis as any).received.length >= 2, undefined, { timeout: 15_000 });
      const received = await tab.evaluate(() => (globalThis as any).received);
      expect(received.map((e: any) => [e.type, e.data.call_id, e.id])).toEqual([['call.started', 'away-1', '1'], ['call.ended', 'away-1', '2']]);
    } finally {
      await tab.close();
      await (again ?? own).close();
    }
  });
});

describe('the API docs in a browser', () => {
  it('/docs renders every operation under its Content-Security-Policy, with no violation, and refuses to be framed', async () => {
    const browser = await launchChromium();
    const t = await startTestApp(await backends[0]!.freshDb());
    try {
      const tab = await browser.newPage();
      const violations: string[] = [];
      tab.on('console', (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
      });
      await tab.addInitScript(() => {
        (globalThis as any).document.addEventListener('securitypolicyviolation', (e: any) => console.error(`Refused to load: ${e.violatedDirective} ${e.blockedURI}`));
      });
      const response = await tab.goto(`${t.baseUrl}/docs/`);
      expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      await tab.waitForSelector('.swagger-ui .info .title', { timeout: 15_000 });
      expect(await tab.textContent('.swagger-ui .info .title')).toContain('Switchboard');
      await tab.waitForSelector('.opblock', { timeout: 15_000 });
      expect(await tab.locator('.opblock').count()).toBeGreaterThan(20);
      // Open one operation: its schema and example render (React styles, SVG icons) under the same policy.
      await tab.locator('.opblock-summary').first().click();
      await tab.waitForSelector('.opblock-body', { timeout: 10_000 });
      expect(violations).toEqual([]);

      // A page of another origin that frames the docs gets nothing (frame-ancestors 'none').
      const framer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><iframe src="${t.baseUrl}/docs/" onload="window.framed = true"></iframe>`));
      await new Promise<void>((resolve) => framer.listen(0, '127.0.0.1', resolve));
      try {
        const framing = await browser.newPage();
        await framing.goto(`http://localhost:${(framer.address() as AddressInfo).port}/`);
        // The iframe's load event fires for the blocked frame too (with Chromium's error page in it).
        await framing.waitForFunction(() => (globalThis as any).framed === true, undefined, { timeout: 10_000 });
        const frame = framing.frames().find((f) => f !== framing.mainFrame());
        expect(frame).toBeDefined();
        expect(frame!.url()).not.toContain('/docs');
        expect(await frame!.evaluate(() => (globalThis as any).document.querySelector('#swagger-ui'))).toBeNull();
        await framing.close();
      } finally {
        await new Promise((resolve) => framer.close(resolve));
      }
      await tab.close();
    } finally {
      await t.close();
      await browser.close();
    }
  });
});

describe('CORS', () => {
  it('allows only the configured origins when SWITCHBOARD_CORS_ORIGINS is set, and never credentials', async () => {
    const t = await startTestApp(await backends[0]!.freshDb(), { corsOrigins: 'https://crm.example.com' } as never);
    try {
      const preflight = (origin: string) => fetch(`${t.baseUrl}/v1/events`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      const allowed = await preflight('https://crm.example.com');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://crm.example.com');
      expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
      const other = await preflight('https://evil.example.net');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const stream = await fetch(`${t.baseUrl}/v1/stream?access_token=${t.adminKey}`, { headers: { origin: 'https://crm.example.com' } });
      expect(stream.headers.get('access-control-allow-origin')).toBe('https://crm.example.com');
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await stream.body?.cancel();
    } finally {
      await t.close();
    }
  });
});
