import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, endCall, startCall, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { addPerson, eventually, newTab, pageFailures, signIn, startDashboard, type Person, type Tab } from './support.js';

// Code inside page.evaluate and init scripts runs in the browser; this project's types are Node's (no DOM lib).
declare const fetch: any, document: any, window: any;

/**
 * The Webhooks pages and the delivery log as a person uses them: a destination pointed at a receiver on
 * loopback that fails, then recovers; retry all failed, replay with its preview, pause and resume; a
 * viewer's read-only pages; axe-core light and dark; 375 px.
 */
describe('the webhooks pages (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  let admin: Person;
  let viewer: Person;
  let tab: Tab;
  let receiver: Receiver;
  let healthy = false;
  let destinationId: string;
  const events: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    // One retry, at once: a delivery the receiver refuses twice is failed (the dead letter) within a second.
    t = await startDashboard(await backends[0]!.freshDb(), { allowPrivateDestinations: true, retryScheduleSec: '0', retryJitter: 0 });
    receiver = await startReceiver(() => (healthy ? { status: 200, body: 'ok' } : { status: 503, body: 'receiver down for maintenance' }));
    admin = await addPerson(t, 'admin');
    viewer = await addPerson(t, 'viewer');
    tab = await newTab(browser);
    await signIn(tab, t.baseUrl, admin, '/webhooks');
  });
  afterAll(async () => {
    await tab?.close();
    await t?.close();
    await browser?.close();
    await receiver?.close();
  });

  const post = async (body: string) => {
    const answer = await t.post(body);
    expect(answer.status).toBe(200);
    return answer.body.id as string;
  };
  const webhookIds = () => receiver.received.map((r) => r.headers['webhook-id'] as string);

  it('creates a destination with its secret shown once, and shows its failures in the table and the log', async () => {
    const { page } = tab;
    await page.getByRole('button', { name: 'New destination' }).click();
    await page.getByLabel('URL (https)').fill(receiver.url);
    await page.getByLabel('Description').fill('CRM <b>sync</b>');
    await page.getByRole('button', { name: 'Create' }).click();
    const secret = await page.locator('[data-secret-value]').textContent();
    expect(secret).toMatch(/^whsec_/);
    destinationId = (await page.locator('[data-created]').getAttribute('data-created'))!;
    expect((await t.request('GET', `/v1/destinations/${destinationId}`)).body.secret).toBe(secret);

    for (const call of ['wh-1', 'wh-2']) events.push(await post(startCall(call)), await post(endCall(call)));
    await eventually(async () => (await t.api(`/v1/deliveries?status=failed&destination_id=${destinationId}`)).body.data.length === 4, 15_000);

    // Read again while the page is open: the counts come in without a reload.
    const row = page.locator(`tr[data-destination="${destinationId}"]`);
    await eventually(async () => (await row.locator('[data-count=failed]').textContent()) === '4', 10_000);
    expect(await row.locator('a').first().textContent()).toBe('CRM <b>sync</b>');
    expect(await row.locator('.spark').getAttribute('aria-label')).toContain('4 failed');
    expect(await row.textContent()).toContain('HTTP 503');
    expect(await row.locator('[data-state]').textContent()).toBe('failing');

    await page.goto(`${t.baseUrl}/deliveries?status=failed`);
    await page.waitForSelector('tr[data-delivery]');
    expect(await page.locator('tr[data-delivery]').count()).toBe(4);
    expect(await page.locator('.chip[aria-pressed=true]').allTextContents()).toEqual(['failed']);
    await page.locator('tr[data-delivery] .expand').first().click();
    expect(await page.locator('.attempts-row pre').first().textContent()).toBe('receiver down for maintenance');
    expect(await page.locator('.attempts-row [data-attempt]').count()).toBe(2);
    // Several statuses at once, a new history entry each.
    await page.locator('.chip[data-status=pending]').click();
    await page.waitForURL((url) => url.searchParams.get('status') === 'pending,failed');
    await page.getByLabel('Call id').fill('wh-2');
    await page.getByRole('button', { name: 'Apply' }).click();
    await eventually(async () => (await page.locator('tr[data-delivery]').count()) === 2);
    // Each row opens its call of its own source (two sources may send the same call id).
    const sourceId = (await t.api('/v1/calls/wh-2')).body.source_id as string;
    expect(await page.locator(`tr[data-delivery] a[href="/calls/wh-2?source_id=${encodeURIComponent(sourceId)}"]`).count()).toBe(2);
    expect(tab.problems).toEqual([]);
  });

  it('retries all failed with the count first: the receiver gets each once, with the event id as webhook-id, and the log changes live', async () => {
    const { page } = tab;
    await page.goto(`${t.baseUrl}/webhooks/${destinationId}`);
    const retry = page.locator('[data-action=retry-failed]');
    await retry.waitFor();
    expect(await retry.getAttribute('data-count')).toBe('4');
    expect(await retry.textContent()).toBe('Retry all failed (4)');
    healthy = true;
    const before = receiver.received.length;
    await retry.click();
    await page.locator('[data-action=retry-failed-confirm]').click();
    expect(await page.locator('[data-retried]').getAttribute('data-retried')).toBe('4');
    await eventually(() => receiver.received.length - before === 4, 10_000);
    expect(webhookIds().slice(before).sort()).toEqual([...events].sort());
    // The worker's records reach the open page by its polling.
    await eventually(async () => (await page.locator('tr[data-delivery][data-status=delivered]').count()) === 4, 10_000);
    await eventually(async () => (await retry.getAttribute('data-count')) === '0', 10_000);
    await t.app.relay.worker!.runUntilIdle();
    expect(receiver.received.length - before).toBe(4);
  });

  it('previews a replay and queues exactly what it previewed', async () => {
    const { page } = tab;
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = Number(await page.locator('[data-replay-preview]').getAttribute('data-replay-preview'));
    expect(preview).toBe(4);
    const before = receiver.received.length;
    await page.locator('[data-action=replay]').click();
    expect(Number(await page.locator('[data-replay-queued]').getAttribute('data-replay-queued'))).toBe(preview);
    await eventually(() => receiver.received.length - before === preview, 10_000);
    await page.getByLabel('Only failed').check();
    await page.getByRole('button', { name: 'Preview' }).click();
    expect(await page.locator('[data-replay-preview]').getAttribute('data-replay-preview')).toBe('0');
  });

  it('pauses: new deliveries are queued and none sent; resume sends them in per-call order', async () => {
    const { page } = tab;
    await page.locator('[data-action=pause]').click();
    await page.locator('[data-action=resume]').waitFor();
    expect(await page.locator('.head-row [data-state]').textContent()).toBe('paused');
    const before = receiver.received.length;
    const paused = [await post(startCall('wh-3')), await post(endCall('wh-3'))];
    await t.app.relay.worker!.runUntilIdle();
    expect(receiver.received.length).toBe(before);
    expect((await t.api(`/v1/deliveries?status=pending&destination_id=${destinationId}`)).body.data).toHaveLength(2);
    await page.locator('[data-action=resume]').click();
    await eventually(() => receiver.received.length - before === 2, 10_000);
    expect(webhookIds().slice(before)).toEqual(paused);
    await page.locator('[data-action=pause]').waitFor();
    expect(await page.locator('.head-row [data-state]').textContent()).toBe('active');
    expect(tab.problems).toEqual([]);
  });

  it('shows a viewer everything read-only, with no admin control, and the API refuses the viewer\'s changes', async () => {
    const v = await newTab(browser);
    try {
      await signIn(v, t.baseUrl, viewer, '/webhooks');
      await v.page.waitForSelector(`tr[data-destination="${destinationId}"]`);
      expect(await v.page.getByRole('button', { name: 'New destination' }).count()).toBe(0);
      await v.page.goto(`${t.baseUrl}/webhooks/${destinationId}`);
      await v.page.waitForSelector('tr[data-delivery]');
      expect(await v.page.locator('[data-admin-controls], [data-action], [data-retry]').count()).toBe(0);
      expect(await v.page.getByRole('heading', { name: 'Replay' }).count()).toBe(0);
      expect(await v.page.textContent('main')).not.toContain((await t.request('GET', `/v1/destinations/${destinationId}`)).body.secret);
      await v.page.goto(`${t.baseUrl}/deliveries`);
      await v.page.waitForSelector('tr[data-delivery]');
      expect(await v.page.locator('[data-retry]').count()).toBe(0);
      const statuses = await v.page.evaluate(async (id: string) => {
        const send = async (method: string, path: string, body?: unknown) =>
          (await fetch(path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })).status;
        return [
          await send('GET', `/v1/destinations/${id}`),
          await send('PATCH', `/v1/destinations/${id}`, { paused: true }),
          await send('POST', `/v1/destinations/${id}/retry-failed`, { dry_run: true }),
          await send('POST', `/v1/destinations/${id}/replay`, { dry_run: true }),
          await send('DELETE', `/v1/destinations/${id}`),
        ];
      }, destinationId);
      expect(statuses).toEqual([200, 403, 403, 403, 403]);
      expect(v.problems).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it("shows a viewer a destination URL's credentials as [redacted] (a Slack-style token in the path, a query value), on the list and the page; an admin whole", async () => {
    const token = 'vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a';
    const url = `${receiver.url}/services/T024BE7LD/B08K1Q2M3N4/${token}?api_key=crm-key-789`;
    const created = await t.request('POST', '/v1/destinations', { url, description: 'Slack alerts' });
    expect(created.status).toBe(201);
    const v = await newTab(browser);
    try {
      await signIn(v, t.baseUrl, viewer, '/webhooks');
      await v.page.waitForSelector(`tr[data-destination="${created.body.id}"]`);
      for (const path of ['/webhooks', `/webhooks/${created.body.id}`]) {
        await v.page.goto(`${t.baseUrl}${path}`);
        await v.page.waitForSelector(path === '/webhooks' ? `tr[data-destination="${created.body.id}"]` : '#dest-heading');
        const shown = await v.page.textContent('main');
        expect(shown, path).not.toContain(token);
        expect(shown, path).not.toContain('crm-key-789');
        expect(shown, path).toContain(`/services/T024BE7LD/B08K1Q2M3N4/[redacted]?api_key=[redacted]`);
      }
      expect(v.problems).toEqual([]);
    } finally {
      await v.close();
    }
    await tab.page.goto(`${t.baseUrl}/webhooks/${created.body.id}`);
    await tab.page.waitForSelector('#dest-heading');
    expect(await tab.page.textContent('#dest-heading')).toBe(url);
    expect((await t.request('DELETE', `/v1/destinations/${created.body.id}`)).status).toBe(204);
  });

  it('does not put back the rows of the filter just left when a re-read of it was on its way', async () => {
    const { page } = tab;
    const all = (await t.api('/v1/deliveries?limit=100')).body.data as Array<{ status: string }>;
    expect(all.some((d) => d.status !== 'failed')).toBe(true);
    await page.goto(`${t.baseUrl}/deliveries`);
    await page.waitForSelector('tr[data-delivery]');
    // The next re-read of the unfiltered log (every 3 s) is held until the filter has changed.
    const unfiltered = (url: URL) => url.pathname === '/v1/deliveries' && !url.searchParams.has('status');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const reread = new Promise<void>((resolve) => (arrived = resolve));
    await page.route(unfiltered, async (route) => {
      arrived();
      await held;
      await route.continue();
    });
    await reread;
    await page.locator('[data-status=failed]').click();
    await page.waitForURL((url) => url.searchParams.get('status') === 'failed');
    await page.waitForSelector('[data-empty], tr[data-delivery][data-status=failed]');
    const late = page.waitForResponse((response) => unfiltered(new URL(response.url())));
    release();
    await late;
    await page.unrouteAll();
    await page.waitForTimeout(200);
    expect(await page.locator('tr[data-delivery]:not([data-status=failed])').count()).toBe(0);
    expect(tab.problems).toEqual([]);
  });

  it('takes the admin controls away from a person made a viewer while their page is open, at the first refusal (403)', async () => {
    const demoted = await addPerson(t, 'admin');
    const user = ((await t.api('/v1/users')).body.data as Array<{ id: string; email: string }>).find((u) => u.email === demoted.email)!;
    const own = await newTab(browser);
    try {
      await signIn(own, t.baseUrl, demoted, `/webhooks/${destinationId}`);
      await own.page.waitForSelector('[data-admin-controls]');
      expect((await t.request('PATCH', `/v1/users/${user.id}`, { role: 'viewer' })).status).toBe(200);
      await own.page.locator('[data-action=test]').click();
      await own.page.getByRole('alert').waitFor();
      expect(await own.page.getByRole('alert').textContent()).toContain('forbidden');
      await eventually(async () => (await own.page.locator('[data-admin-controls]').count()) === 0, 5000);
      expect(await own.page.locator('[data-action=retry-failed], [data-action=replay-preview]').count()).toBe(0);
      expect(await own.page.locator('.me-role').textContent()).toBe('viewer');
    } finally {
      await own.close();
    }
  });

  it('fits the window with the longest description and URL the API takes (1,000 and 2,000 characters, no space): the title is cut, the configuration shows them whole', async () => {
    const description = `D${'e'.repeat(998)}s`;
    const long = await t.request('POST', '/v1/destinations', { url: `https://example.org/${'p'.repeat(1900)}`, description });
    expect(long.status).toBe(201);
    const { page } = tab;
    try {
      for (const width of [1280, 375]) {
        await page.setViewportSize({ width, height: 900 });
        for (const path of ['/webhooks', `/webhooks/${long.body.id}`]) {
          await page.goto(`${t.baseUrl}${path}`);
          await page.waitForSelector(path === '/webhooks' ? `tr[data-destination="${long.body.id}"]` : '.kv');
          expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), `${width} ${path}: wider than the window`).toBeLessThanOrEqual(0);
        }
        expect(await page.locator('.topbar h1').textContent()).toBe(description);
        expect(await page.locator('.kv').textContent()).toContain(description);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
      expect((await t.request('DELETE', `/v1/destinations/${long.body.id}`)).status).toBeLessThan(300);
    }
    expect(tab.problems).toEqual([]);
  });

  it('has no serious or critical axe violation, light and dark, and fits 375 px', async () => {
    // The admin's tab (every control shown), its colours and width switched in place: no second sign-in.
    const { page } = tab;
    const failures: string[] = [];
    for (const [colorScheme, width] of [['light', 1280], ['dark', 375]] as const) {
      await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
      await page.setViewportSize({ width, height: 900 });
      for (const [path, ready] of [['/webhooks', 'tr[data-destination]'], [`/webhooks/${destinationId}`, 'tr[data-delivery]'], ['/deliveries', 'tr[data-delivery]']] as const) {
        await page.goto(`${t.baseUrl}${path}`);
        await page.waitForSelector(ready);
        if (path === '/deliveries') await page.locator('tr[data-delivery] .expand').first().click();
        failures.push(...(await pageFailures(page, `${colorScheme} ${width} ${path}`)));
      }
    }
    expect(failures).toEqual([]);
    expect(tab.problems).toEqual([]);
  });
});
