import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, endCall, startCall, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { startReceiver } from '../support/receiver.js';
import { addPerson, eventually, newTab, signIn, startDashboard, type Person, type Tab } from './support.js';

// Code inside page.evaluate and init scripts runs in the browser; this project's types are Node's (no DOM lib).
declare const document: any, window: any, MutationObserver: any, location: any, getComputedStyle: any;

describe('the call detail (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  let admin: Person;
  let tab: Tab;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let healthy = false;
  beforeAll(async () => {
    browser = await launchChromium();
    // One retry, at once: a delivery the receiver refuses twice is failed (the dead letter) within a second.
    t = await startDashboard(await backends[0]!.freshDb(), { allowPrivateDestinations: true, retryScheduleSec: '0', retryJitter: 0 });
    receiver = await startReceiver(() => (healthy ? { status: 200, body: 'ok' } : { status: 503, body: 'receiver down for maintenance' }));
    admin = await addPerson(t, 'admin');
    tab = await newTab(browser);
    await signIn(tab, t.baseUrl, admin);
  });
  afterAll(async () => {
    await tab?.close();
    await t?.close();
    await browser?.close();
    await receiver?.close();
  });

  it('shows the timeline with the revision, downloads each raw body byte for byte, and a retry succeeds once the receiver recovers', async () => {
    expect((await t.request('POST', '/v1/destinations', { url: receiver.url })).status).toBe(201);
    const lead = { lead_phone: '+46701234567', lead_name: 'Anna Lind', custom_params: { deal_id: '123', utm_source: 'google' } };
    const bodies = [
      startCall('detail-1', { lead }),
      endCall('detail-1', { lead, call_status: 'no_answer', recording_link: null }),
      // The revision: same type and call, another body (Convolo corrected the outcome); a key order and spacing of its own.
      `{ "type": "end_call", "call_id": "detail-1", "call_status": "answered",  "talk_duration_sec": 42, "recording_link": "https://recordings.example.com/detail-1.mp3" }\n`,
    ];
    const ids: string[] = [];
    for (const body of bodies) {
      const answer = await t.post(body);
      expect(answer.status).toBe(200);
      ids.push(answer.body.id);
    }
    await eventually(async () => (await t.api('/v1/deliveries?status=failed')).body.data.length === 3, 15_000);

    const { page } = tab;
    await page.goto(`${t.baseUrl}/calls/detail-1`);
    await page.waitForSelector('[data-event]');
    expect(await page.locator('[data-event]').evaluateAll((items) => items.map((i) => (i as any).dataset.event))).toEqual(ids);
    expect(await page.locator('[data-event] .mark').allTextContents()).toEqual(['revision 2']);
    expect(await page.textContent('.call-head')).toContain('answered');
    expect(await page.locator('audio[data-recording]').getAttribute('src')).toBe('https://recordings.example.com/detail-1.mp3');
    const custom = await page.locator('table[aria-label="Custom params"] tr').allTextContents();
    expect(custom).toEqual(['deal_id123', 'utm_sourcegoogle']);

    for (const [i, id] of ids.entries()) {
      const item = page.locator(`[data-event="${id}"]`);
      await item.locator('summary').click();
      await item.locator(`pre[data-raw="${id}"]`).waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), item.locator(`[data-download="${id}"]`).click()]);
      expect(readFileSync((await download.path())!).equals(Buffer.from(bodies[i]!)), id).toBe(true);
    }
    // Pretty-printed as text in the <pre>.
    expect(await page.textContent(`pre[data-raw="${ids[2]}"]`)).toBe(JSON.stringify(JSON.parse(bodies[2]!), null, 2));

    // Each failed delivery with its attempts: the receiver's status and answer excerpt.
    await page.waitForSelector('[data-delivery][data-status=failed]');
    expect(await page.locator('[data-delivery][data-status=failed]').count()).toBe(3);
    expect(await page.locator('[data-delivery]').first().textContent()).toContain('receiver down for maintenance');
    healthy = true;
    const failed = page.locator('[data-delivery][data-status=failed]').first();
    const deliveryId = await failed.getAttribute('data-delivery');
    await failed.locator('[data-retry]').click();
    await page.waitForSelector(`[data-delivery="${deliveryId}"][data-status=delivered]`, { timeout: 15_000 });
    expect((await t.api(`/v1/deliveries/${deliveryId}`)).body.status).toBe('delivered');
    expect(receiver.received.at(-1)!.status).toBe(200);
    expect(tab.problems).toEqual([]);
  });

  it('renders hostile payloads as text: markup, javascript: URLs, RTL overrides, 10,000-character names', async () => {
    const longName = `L${'o'.repeat(9_998)}ng`;
    const hostile = {
      widget_name: '<b onmouseover=alert(1)>Widget</b>',
      recording_link: 'javascript:alert(document.cookie)',
      agent: { id: 'a-1', name: longName, email: '<script>window.pwned = 1</script>' },
      lead: {
        lead_phone: '+15550100',
        lead_name: '<img src=x onerror="window.pwned = 1">',
        referer: 'javascript:window.pwned=1',
        additional: { name: '<img src=y onerror=alert(2)>' },
        custom_params: { rtl: 'abc\u202Egnp.exe', link: 'https://example.com/ok?a=1', js: 'JaVaScRiPt:window.pwned=1', html: '<iframe src="https://example.com"></iframe>' },
      },
    };
    expect((await t.post(startCall('hostile-1', hostile))).status).toBe(200);
    expect((await t.post(endCall('hostile-1', { ...hostile, call_status: '<svg onload=alert(3)>' }))).status).toBe(200);

    const { page } = tab;
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    for (const path of ['/calls/hostile-1', '/calls', '/']) {
      await page.goto(`${t.baseUrl}${path}`);
      await page.waitForSelector(path === '/calls/hostile-1' ? '[data-event]' : '[data-call="hostile-1"]');
      const found = await page.evaluate(() => ({
        pwned: (window as any).pwned ?? null,
        images: document.querySelectorAll('main img').length,
        scripts: document.querySelectorAll('main script').length,
        frames: document.querySelectorAll('iframe').length,
        bold: document.querySelectorAll('main b').length,
        jsLinks: [...document.querySelectorAll('a')].filter((a) => !/^https?:$/.test(new URL(a.href, location.href).protocol)).length,
        text: document.querySelector('main')!.textContent!,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
      }));
      expect(found, path).toMatchObject({ pwned: null, images: 0, scripts: 0, frames: 0, bold: 0, jsLinks: 0 });
      expect(found.overflow, `${path} is wider than the window`).toBeLessThanOrEqual(0);
      if (path === '/calls/hostile-1') {
        for (const literal of ['<img src=x onerror="window.pwned = 1">', '<svg onload=alert(3)>', 'javascript:alert(document.cookie)', 'abc\u202Egnp.exe', 'JaVaScRiPt:window.pwned=1', '<iframe src="https://example.com"></iframe>', longName, '<script>window.pwned = 1</script>']) {
          expect(found.text, literal.slice(0, 40)).toContain(literal);
        }
        // The one http(s) value is a link that opens apart, without our origin as referrer or opener.
        const link = page.locator('a[href="https://example.com/ok?a=1"]');
        expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
        expect(await link.getAttribute('target')).toBe('_blank');
        expect(await page.locator('audio').count()).toBe(0);
      } else {
        expect(found.text).toContain(path === '/' ? '<svg onload=alert(3)>'.replace(/_/g, ' ') : '<img src=x onerror="window.pwned = 1">');
      }
    }
    expect(dialogs).toEqual([]);
    expect(tab.problems).toEqual([]);
  });

  it("keeps the lead's name to itself on the call's page: a long unbroken name wraps, an RTL override in it does not turn the phone number around", async () => {
    const names = { 'long-lead-1': `N${'a'.repeat(998)}e`, 'rtl-lead-1': 'Anna \u202Eadnil' };
    for (const [id, name] of Object.entries(names)) {
      expect((await t.post(endCall(id, { called_lead_phone: '+46701234567', lead: { lead_phone: '+46701234567', lead_name: name } }))).status).toBe(200);
      const { page } = tab;
      await page.goto(`${t.baseUrl}/calls/${id}`);
      await page.waitForSelector('[data-event]');
      const shown = page.locator('#lead-heading + .phone .text');
      expect(await shown.textContent(), id).toBe(name);
      expect(await shown.evaluate((el) => getComputedStyle(el).unicodeBidi), id).toBe('isolate');
      expect(await page.locator('#lead-heading + .phone').textContent(), id).toBe(`${name} · +46 70 123 45 67`);
      expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), `${id}: wider than the window`).toBeLessThanOrEqual(0);
    }
    expect(tab.problems).toEqual([]);
  });

  it("keeps the widget's name to itself in the call's facts: an RTL override in it does not turn its key around", async () => {
    const name = 'Pricing \u202Eegap';
    expect((await t.post(endCall('rtl-widget-1', { widget_name: name, widget_key: 'wk_123' }))).status).toBe(200);
    const { page } = tab;
    await page.goto(`${t.baseUrl}/calls/rtl-widget-1`);
    await page.waitForSelector('[data-event]');
    const widget = page.locator('.facts div', { has: page.locator('dt', { hasText: /^Widget$/ }) }).locator('dd');
    expect(await widget.textContent()).toBe(`${name} (wk_123)`);
    const shown = widget.locator('.text');
    expect(await shown.textContent()).toBe(name);
    expect(await shown.evaluate((el) => getComputedStyle(el).unicodeBidi)).toBe('isolate');
    expect(tab.problems).toEqual([]);
  });

  it('marks an end_call the reconciler fetched (Convolo never delivered its webhook) in the timeline', async () => {
    expect((await t.post(startCall('reconciled-1'))).status).toBe(200);
    const body = Buffer.from(endCall('reconciled-1', { call_status: 'answered' }));
    const [sourceId] = (await t.api('/v1/sources')).body.data.map((s: { id: string }) => s.id);
    const [stored] = await t.app.storage.events.append([{
      id: `evt_reconciled${Date.now()}` as never, sourceId, callId: 'reconciled-1', type: 'end_call', status: 'ok', errorCode: null, errorDetail: null,
      contentType: 'application/json', body, bodyHash: createHash('sha256').update(body).digest('hex'), bodySize: body.length, bodyTruncated: false,
      receivedAt: Date.now(), origin: 'reconcile',
    }]);
    const { page } = tab;
    await page.goto(`${t.baseUrl}/calls/reconciled-1`);
    await page.waitForSelector(`[data-event="${stored!.id}"]`);
    expect(await page.locator('[data-event] .mark').allTextContents()).toEqual(['fetched by reconcile']);
    expect(await page.locator(`[data-event="${stored!.id}"] .mark[data-origin="reconcile"]`).getAttribute('title')).toContain('never delivered');
    expect(await page.textContent('.call-head')).toContain('answered');
    expect(tab.problems).toEqual([]);
  });
});
