#!/usr/bin/env node
// `npm run screenshots` (builds first): the dashboard's pictures in docs/, made from simulated data.
//
// Starts the built server (dist/) on a throwaway SQLite database, simulates a few hours of calls plus a
// few in progress, adds a webhook destination whose receiver refuses each first attempt (so the call detail
// shows attempts), signs in through the real login page in Debian's Chromium, and saves:
//   docs/board.png, docs/calls.png, docs/call-detail.png (1280 px wide) and docs/board-375.png.
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

  // Yesterday's and today's calls (the figures compare them), then three calls ringing or talking now.
  const now = Date.now();
  await runSimulation({ to: ingest, calls: 60, rate: 0, scenario: 'mix', seed: 21, start: now - 26 * 3600_000, concurrency: 4 });
  const today = await runSimulation({ to: ingest, calls: 90, rate: 0, scenario: 'mix', seed: 22, start: now - 2 * 3600_000, concurrency: 4, keepRequests: true });
  const live = planSimulation({ calls: 3, scenario: 'answered', seed: 23, start: now - 90_000 });
  for (const send of live.sends()) {
    if (send.type !== 'start_call') continue;
    await fetch(ingest, { method: 'POST', headers: { 'content-type': 'application/json' }, body: send.body });
  }
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
  console.log(`Saved docs/board.png, docs/board-375.png, docs/calls.png, docs/call-detail.png (call ${callId}).`);
} finally {
  await browser.close();
  await app.close();
  receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
