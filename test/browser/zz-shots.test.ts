import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';
import { backends, endCall, startCall, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { addPerson, eventually, newTab, signIn, startDashboard, type Person } from './support.js';

let browser: Browser; let t: TestApp; let admin: Person; let receiver: Receiver; let healthy = false; let id: string;
beforeAll(async () => {
  browser = await launchChromium();
  t = await startDashboard(await backends[0]!.freshDb(), { allowPrivateDestinations: true, retryScheduleSec: '0', retryJitter: 0 });
  receiver = await startReceiver(() => (healthy ? { status: 200, body: '{"ok":true}' } : { status: 503, body: '<html><body>Service Unavailable: receiver down for maintenance, back at 10:00 UTC</body></html>' }));
  admin = await addPerson(t, 'admin');
  id = (await t.request('POST', '/v1/destinations', { url: receiver.url, description: 'CRM sync (HubSpot)', event_types: ['call.ended'] })).body.id;
  await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/hooks/billing', description: null });
  const paused = (await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/warehouse' })).body.id;
  await t.request('PATCH', `/v1/destinations/${paused}`, { paused: true });
  for (let i = 0; i < 6; i++) { await t.post(startCall(`c-${i}`)); await t.post(endCall(`c-${i}`)); }
  await eventually(async () => (await t.api(`/v1/deliveries?status=failed&destination_id=${id}`)).body.data.length === 6, 15000);
  healthy = true;
  for (let i = 6; i < 9; i++) { await t.post(startCall(`c-${i}`)); await t.post(endCall(`c-${i}`)); }
  await t.app.relay.worker!.runUntilIdle();
}, 60000);
afterAll(async () => { await t?.close(); await browser?.close(); await receiver?.close(); });
it('shots', async () => {
  for (const [scheme, width] of [['light', 1280], ['dark', 1280], ['light', 375]] as const) {
    const tab = await newTab(browser, { colorScheme: scheme, width, height: 1000 });
    await signIn(tab, t.baseUrl, admin, '/webhooks');
    await tab.page.waitForSelector('tr[data-destination]');
    await tab.page.waitForTimeout(600);
    await tab.page.screenshot({ path: `/tmp/shots/webhooks-${scheme}-${width}.png`, fullPage: true });
    await tab.page.goto(`${t.baseUrl}/webhooks/${id}`);
    await tab.page.waitForSelector('tr[data-delivery]');
    await tab.page.locator('[data-action=test]').click();
    await tab.page.waitForSelector('[data-test-result]');
    await tab.page.locator('tr[data-delivery][data-status=failed] .expand').first().click();
    await tab.page.waitForTimeout(600);
    await tab.page.screenshot({ path: `/tmp/shots/detail-${scheme}-${width}.png`, fullPage: true });
    await tab.page.goto(`${t.baseUrl}/deliveries`);
    await tab.page.waitForSelector('tr[data-delivery]');
    await tab.page.locator('tr[data-delivery][data-status=failed] .expand').first().click();
    await tab.page.waitForTimeout(600);
    await tab.page.screenshot({ path: `/tmp/shots/deliveries-${scheme}-${width}.png`, fullPage: true });
    if (width === 1280 && scheme === 'light') {
      await tab.page.goto(`${t.baseUrl}/webhooks`);
      await tab.page.getByRole('button', { name: 'New destination' }).click();
      await tab.page.screenshot({ path: `/tmp/shots/new-${scheme}.png`, fullPage: false });
    }
    await tab.close();
  }
}, 120000);
