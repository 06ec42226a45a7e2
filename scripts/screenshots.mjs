#!/usr/bin/env node
// `npm run screenshots` (builds first): the dashboard's pictures in docs/, made from simulated data.
//
// Starts the built server (dist/) on a throwaway SQLite database, simulates a few hours of calls plus a
// few in progress, adds a webhook destination whose receiver refuses each first attempt (so the call detail
// shows attempts) and one whose receiver always fails, a week of calls for the analytics and a quarantined
// request, signs in through the real login page in Debian's Chromium, and saves (1280 px wide unless named):
//   docs/board.png, docs/board-375.png, docs/calls.png, docs/call-detail.png, docs/analytics.png,
//   docs/analytics-dark.png, docs/webhooks.png, docs/webhook-detail.png, docs/deliveries.png,
//   docs/quarantine.png, docs/settings.png.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createUser } from '../dist/admin/users.js';
import { createApp } from '../dist/app.js';
import { loadConfig } from '../dist/config/index.js';
import { planSimulation, runSimulation } from '../dist/simulate/index.js';

const docs = new URL('../docs/', import.meta.url);
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'sb-screens-'));
const email = 'owner@example.com';
const password = 'screenshots passphrase';

// A receiver that refuses each webhook's first attempt (a deploy in progress) and takes the retry.
const seen = new Set();
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const id = req.headers['webhook-id'];
    if (!seen.has(id)) {
      seen.add(id);
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('Service Unavailable: deploy in progress, retry shortly');
    } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
// A receiver that is down for good: its destination shows failures on the webhooks pages.
const broken = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error: upstream CRM timed out'));
});
await new Promise((resolve) => broken.listen(0, '127.0.0.1', resolve));

const config = loadConfig({}, { db: `sqlite:${join(dir, 'switchboard.db')}`, host: '127.0.0.1', port: 0, logLevel: 'silent', allowPrivateDestinations: true, retryScheduleSec: '1,1', retryJitter: 0 });
const app = await createApp(config, { logger: false });
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
try {
  const first = await app.prepare();
  const { baseUrl } = await app.listen();
  const ingest = `${baseUrl}/hooks/convolo/${first.sourceToken}`;
  const auth = { authorization: `Bearer ${first.adminKey}`, 'content-type': 'application/json' };
  await createUser(app.storage, { email, password, name: 'Olivia Owner', role: 'admin' });
  const { port } = receiver.address();
  await fetch(`${baseUrl}/v1/destinations`, { method: 'POST', headers: auth, body: JSON.stringify({ url: `http://127.0.0.1:${port}/hooks`, description: 'CRM sync' }) });
  const failing = await (await fetch(`${baseUrl}/v1/destinations`, { method: 'POST', headers: auth, body: JSON.stringify({ url: `http://127.0.0.1:${broken.address().port}/webhooks`, description: 'Data warehouse', event_types: ['call.ended'] }) })).json();

  // Yesterday's and today's calls (the figures compare them), then three calls ringing or talking now.
  const now = Date.now();
  // The past week, a few runs a day at office hours in Stockholm (for the analytics page).
  for (let day = 6; day >= 1; day--) {
    for (const hour of [8, 10, 13, 15]) {
      const start = Date.parse(new Date(now - day * 86_400_000).toISOString().slice(0, 10) + `T${String(hour).padStart(2, '0')}:00:00Z`);
      await runSimulation({ to: ingest, calls: 6 + ((day * hour) % 7), rate: 0, scenario: 'mix', seed: day * 100 + hour, start, concurrency: 4 });
    }
  }
  await runSimulation({ to: ingest, calls: 60, rate: 0, scenario: 'mix', seed: 21, start: now - 26 * 3600_000, concurrency: 4 });
  const today = await runSimulation({ to: ingest, calls: 90, rate: 0, scenario: 'mix', seed: 22, start: now - 2 * 3600_000, concurrency: 4, keepRequests: true });
  const live = planSimulation({ calls: 3, scenario: 'answered', seed: 23, start: now - 90_000 });
  for (const send of live.sends()) {
    if (send.type !== 'start_call') continue;
    await fetch(ingest, { method: 'POST', headers: { 'content-type': 'application/json' }, body: send.body });
  }
  // A request Convolo's format does not allow (cut short): kept in quarantine.
  await fetch(ingest, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"end_call","call_id":"9f1c2e","lead":{"lead_phone":"+46701234567"' });
  // The retries (1 s later) go through before the pictures are taken.
  await new Promise((resolve) => setTimeout(resolve, 5000));

  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: 'light', locale: 'en-GB', timezoneId: 'Europe/Stockholm', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('.figures[data-ready]');
  await page.waitForSelector('[data-table=in-progress] tr[data-call]');
  await page.waitForTimeout(800);
  await page.screenshot({ path: new URL('board.png', docs).pathname });

  await page.setViewportSize({ width: 375, height: 1100 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: new URL('board-375.png', docs).pathname });

  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${baseUrl}/calls?status=answered`);
  await page.waitForSelector('[data-shown]');
  await page.waitForTimeout(300);
  await page.screenshot({ path: new URL('calls.png', docs).pathname });

  // An answered call with custom params, whose webhook failed first and went through on a later attempt.
  const answered = today.calls.filter((c) => c.outcome === 'answered').map((c) => c.call_id);
  let callId = answered[0];
  for (const id of answered) {
    const detail = await (await fetch(`${baseUrl}/v1/calls/${id}`, { headers: auth })).json();
    if (Object.keys(detail.lead?.custom_params ?? {}).length >= 3) {
      callId = id;
      break;
    }
  }
  await page.goto(`${baseUrl}/calls/${callId}`);
  await page.waitForSelector('[data-delivery]');
  await page.locator('details.raw summary').last().click();
  await page.waitForSelector('pre[data-raw]');
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 1280, height: Math.min(height, 2400) });
  await page.waitForTimeout(300);
  await page.screenshot({ path: new URL('call-detail.png', docs).pathname });

  /** The page at `path` once `ready` is in it, as tall as its content (up to `max` px). */
  const shoot = async (path, ready, name, max = 1600) => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${baseUrl}${path}`);
    await page.waitForSelector(ready);
    await page.waitForTimeout(400);
    const tall = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1280, height: Math.min(tall, max) });
    await page.waitForTimeout(300);
    await page.screenshot({ path: new URL(name, docs).pathname });
  };
  await shoot('/analytics?range=7d', '[data-chart=volume][data-drawn]', 'analytics.png', 2600);
  await shoot('/webhooks', `tr[data-destination="${failing.id}"]`, 'webhooks.png');
  await shoot(`/webhooks/${failing.id}`, 'tr[data-delivery]', 'webhook-detail.png', 2200);
  await shoot('/deliveries?status=failed,pending', 'tr[data-delivery]', 'deliveries.png');
  await page.goto(`${baseUrl}/quarantine`);
  await page.waitForSelector('[data-record]');
  const quarantined = await page.getAttribute('[data-record]', 'data-record');
  await shoot(`/quarantine?id=${quarantined}`, '[data-hex]', 'quarantine.png');
  await shoot('/settings/sources', '[data-source]', 'settings.png');

  const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark', locale: 'en-GB', timezoneId: 'Europe/Stockholm', reducedMotion: 'reduce' });
  await dark.addCookies(await context.cookies());
  const night = await dark.newPage();
  await night.goto(`${baseUrl}/analytics?range=7d`);
  await night.waitForSelector('[data-chart=volume][data-drawn]');
  await night.waitForTimeout(400);
  await night.screenshot({ path: new URL('analytics-dark.png', docs).pathname });
  console.log(`Saved the dashboard's pictures in docs/ (call ${callId}, destination ${failing.id}).`);
} finally {
  await browser.close();
  await app.close();
  receiver.close();
  broken.close();
  rmSync(dir, { recursive: true, force: true });
}
