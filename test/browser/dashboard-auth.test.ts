import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, endCall, startCall, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { startReceiver } from '../support/receiver.js';
import { addPerson, eventually, newTab, signIn, startDashboard, type Person } from './support.js';

// Code inside page.evaluate and init scripts runs in the browser; this project's types are Node's (no DOM lib).
declare const document: any, window: any, MutationObserver: any;

/** Signing in to the dashboard in Chromium: the first admin from the setup link, roles, and what other sites cannot do. */
describe('dashboard sign-in (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    browser = await launchChromium();
    t = await startDashboard(await backends[0]!.freshDb(), { allowPrivateDestinations: true, retryScheduleSec: '0', retryJitter: 0 });
    receiver = await startReceiver(() => ({ status: 500, body: 'down' }));
  });
  afterAll(async () => {
    await t?.close();
    await browser?.close();
    await receiver?.close();
  });

  it('first start → the setup link creates the admin, who signs out and in again; the used link is refused', async () => {
    const token = t.app.setupToken;
    expect(token).toBeTruthy();
    const tab = await newTab(browser);
    try {
      const { page } = tab;
      const answer = await page.goto(`${t.baseUrl}/setup?token=${token}`);
      const csp = answer!.headers()['content-security-policy']!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(answer!.headers()['x-content-type-options']).toBe('nosniff');
      await page.getByLabel('Email').fill('owner@example.com');
      await page.getByLabel(/^Name/).fill('Owner');
      await page.getByLabel(/^Password/).fill('the owner passphrase');
      await page.getByRole('button', { name: 'Create administrator' }).click();
      await page.waitForURL(`${t.baseUrl}/`);
      await expect(page.locator('.topbar h1').textContent()).resolves.toBe('Live');
      await expect(page.locator('.me-role').textContent()).resolves.toBe('admin');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/login/);

      // Signed out: a dashboard URL leads to the login page, and back to that URL after signing in.
      await page.goto(`${t.baseUrl}/calls?status=answered`);
      await page.waitForURL(/\/login\?next=/);
      await page.getByLabel('Email').fill('owner@example.com');
      await page.getByLabel('Password').fill('wrong passphrase!');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain('invalid_credentials');
      await page.getByLabel('Password').fill('the owner passphrase');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${t.baseUrl}/calls?status=answered`);

      // The link worked once.
      await page.goto(`${t.baseUrl}/setup?token=${token}`);
      await page.waitForSelector('[data-setup=invalid]');
      const again = await fetch(`${t.baseUrl}/v1/auth/setup`, {
        method: 'POST', headers: { 'content-type': 'application/json', origin: t.baseUrl },
        body: JSON.stringify({ token, email: 'intruder@example.com', password: 'another passphrase' }),
      });
      expect(again.status).toBeGreaterThanOrEqual(400);
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('a viewer sees no admin control, and the API refuses what they forge (403)', async () => {
    const admin = await addPerson(t, 'admin');
    const viewer = await addPerson(t, 'viewer');
    const destination = await t.request('POST', '/v1/destinations', { url: receiver.url });
    expect(destination.status).toBe(201);
    await t.post(startCall('viewer-1'));
    await t.post(endCall('viewer-1'));
    const failed = await eventually(async () => (await t.api(`/v1/deliveries?status=failed`)).body.data[0]);

    const asAdmin = await newTab(browser);
    const asViewer = await newTab(browser);
    try {
      await signIn(asAdmin, t.baseUrl, admin, '/calls/viewer-1');
      await asAdmin.page.waitForSelector(`[data-retry="${failed.id}"]`);

      await signIn(asViewer, t.baseUrl, viewer, '/calls/viewer-1');
      await asViewer.page.waitForSelector('[data-destination]');
      await asViewer.page.waitForSelector('[data-event]');
      // The delivery with its attempts, read-only: no Retry beside it.
      await asViewer.page.waitForSelector(`[data-delivery="${failed.id}"]`);
      expect(await asViewer.page.locator('[data-retry]').count()).toBe(0);
      expect(await asViewer.page.locator('.me-role').textContent()).toBe('viewer');
      const forged = await asViewer.page.evaluate(async (id) => {
        const post = (path: string, body?: unknown) =>
          fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.status);
        return {
          retry: await post(`/v1/deliveries/${id}/retry`),
          destination: await post('/v1/destinations', { url: 'https://example.com/hook' }),
          key: await post('/v1/keys', { name: 'mine', scope: 'admin' }),
          deliveries: await fetch('/v1/deliveries').then((r) => r.status),
        };
      }, failed.id);
      // Reading the deliveries is open to a viewer (issue 13); changing anything is not.
      expect(forged).toEqual({ retry: 403, destination: 403, key: 403, deliveries: 200 });
      expect([...asAdmin.problems, ...asViewer.problems]).toEqual([]);
    } finally {
      await asAdmin.close();
      await asViewer.close();
    }
  });

  it('an ended session leads back to the login page, then to where the person was going; /login when signed in goes on', async () => {
    const admin = await addPerson(t, 'admin');
    const tab = await newTab(browser);
    try {
      await signIn(tab, t.baseUrl, admin);
      const { page } = tab;
      await page.goto(`${t.baseUrl}/login?next=${encodeURIComponent('/calls?status=answered')}`);
      await page.waitForURL(`${t.baseUrl}/calls?status=answered`);
      // Signed out elsewhere (another tab): this tab's next request is refused, and it shows the login page.
      const other = await tab.context.newPage();
      await other.goto(`${t.baseUrl}/`);
      await other.getByRole('button', { name: 'Sign out' }).click();
      await other.waitForURL(/\/login/);
      // The server ends the session's stream; reconnecting is refused (401), and the page goes to sign-in.
      await page.waitForURL(`${t.baseUrl}/login?next=${encodeURIComponent('/calls?status=answered')}`, { timeout: 15_000 });
      await page.getByLabel('Email').fill(admin.email);
      await page.getByLabel('Password').fill(admin.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${t.baseUrl}/calls?status=answered`);
      await page.waitForSelector('[data-shown], [data-empty]');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('a next that leads off this app (//host, /\\host, a tab or newline the URL parser drops, javascript:) or to a sign-in form (/login, /setup) signs in to the live board', async () => {
    const admin = await addPerson(t, 'admin');
    const offSite = ['/\t/example.org/x', '/\n/example.org/x', '\t//example.org', '//example.org', '/\\example.org', 'https://example.org/', 'javascript:alert(1)'];
    for (const next of [...offSite, '/login', '/login?next=%2Fcalls', '/setup?token=x']) {
      const tab = await newTab(browser);
      try {
        const { page } = tab;
        await page.goto(`${t.baseUrl}/login?next=${encodeURIComponent(next)}`);
        await page.getByLabel('Email').fill(admin.email);
        await page.getByLabel('Password').fill(admin.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(`${t.baseUrl}/`, { timeout: 5000 });
        await page.waitForSelector('.figures');
        expect(tab.problems, JSON.stringify(next)).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  });

  it("another site's form posting to the API with the person's cookie is refused: the cookie is not sent, the session lives on", async () => {
    const admin: Person = await addPerson(t, 'admin');
    const evil: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<!doctype html><title>evil</title><form method="post" action="${t.baseUrl}/v1/auth/logout"></form>` +
          `<form id="key" method="post" enctype="text/plain" action="${t.baseUrl}/v1/keys"><input name='{"name":"x","scope":"admin","y":"' value='"}'></form>`,
      ),
    );
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const tab = await newTab(browser);
    try {
      await signIn(tab, t.baseUrl, admin);
      const keysBefore = (await t.api('/v1/keys')).body.data.length;
      for (const form of ['form:not([id])', '#key']) {
        // A page per form: a 204 answer leaves the form's navigation pending, which would race the next one.
        const page = await tab.context.newPage();
        // localhost is another site than 127.0.0.1: SameSite=Strict keeps the cookie at home.
        await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
        const [request, response] = await Promise.all([
          page.waitForRequest((r) => r.url().startsWith(t.baseUrl)),
          page.waitForResponse((r) => r.url().startsWith(t.baseUrl)),
          page.evaluate((selector) => void setTimeout(() => (document.querySelector(selector) as any).submit(), 0), form),
        ]);
        expect((await request.allHeaders()).cookie ?? '').not.toContain('sb_session');
        expect([204, 401, 403, 415]).toContain(response.status());
        await page.close();
      }
      expect((await t.api('/v1/keys')).body.data.length).toBe(keysBefore);
      // Still signed in: the dashboard's own request is answered.
      const session = await tab.page.evaluate(() => fetch('/v1/auth/session').then((r) => r.status));
      expect(session).toBe(200);
    } finally {
      await tab.close();
      await new Promise((resolve) => evil.close(resolve));
    }
  });
});
