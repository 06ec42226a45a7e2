// Dashboard benchmark (issue 12): the web app in Debian's Chromium against Switchboard on the query bench's
// database (SWITCHBOARD_BENCH_DASHBOARD_CALLS seeded calls, default 1,000,000, over SWITCHBOARD_BENCH_SPAN_DAYS;
// bench/lib/seed-calls.mjs, as bench/query.mjs seeds them). SQLite only.
//
//   1. calls page: navigation to /calls → its first table row, 20 loads after one warm-up load (cold cache excluded)
//   2. live board: navigation to / → its first figures (today's, from /v1/stats), 20 loads after a warm-up
//   3. ingest → board: 200 start_call webhooks at 20/s while the board is open; each from just before its
//      POST to the moment its row is in the page (a MutationObserver's Date.now()), p50/p99
//   4. JavaScript shipped on first load: the bytes of the scripts index.html loads, raw and gzip (-9)
//   5. delivery log: navigation to /deliveries → its first row, with SWITCHBOARD_BENCH_DASHBOARD_DELIVERIES
//      (default 1,000,000) seeded deliveries and their attempts (bench/lib/seed-deliveries.mjs), and
//      `GET /v1/destinations/health` (the Webhooks page's glance) timed over the API
//   6. analytics: navigation to /analytics?range=30d, and to a custom one-year range → its first chart drawn
//      (the calls per day, from /v1/stats; uPlot loaded on demand), 20 loads each after a warm-up, each left
//      once the page's other stats have come (untimed); last, so nothing it left running meets another case
// Baseline (ratios): the same Chromium navigating to a bare node:http page that holds one table row
// (what a navigation costs on this machine with no app and no API), measured in the same run.
// Targets: calls first row ≤ 500 ms p99, delivery log first row ≤ 500 ms p99, board ≤ 1 s p99, ingest → board
// ≤ 250 ms p99, analytics first chart ≤ 1 s p99 (30 days) and ≤ 3 s p99 (a year), JS ≤ 150 KB gzip.
//
// Run through bench/run.mjs: `node bench/run.mjs dashboard`.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { restartSwitchboard } from './query.mjs';
import { fmt, gitDescribe, writeResults } from './lib/report.mjs';
import { seedSqlite, SPAN_DAYS } from './lib/seed-calls.mjs';
import { seedDeliveriesSqlite } from './lib/seed-deliveries.mjs';
import { BENCH_DIR, REPO_ROOT, httpRequest, startFreshSwitchboard, stopServer } from './lib/servers.mjs';

export const description = 'dashboard in Chromium: calls page and board load times, ingest → board latency, JS size';
export const SERVERS = ['sqlite'];

const RESULTS = path.join(BENCH_DIR, 'results', 'dashboard-latest.md');
const CALLS = Number(process.env.SWITCHBOARD_BENCH_DASHBOARD_CALLS ?? 1_000_000);
const DELIVERIES = Number(process.env.SWITCHBOARD_BENCH_DASHBOARD_DELIVERIES ?? 1_000_000);
const LOADS = 20;
const LIVE_CALLS = 200;
const LIVE_RATE = 20;
const TARGET = { deliveriesP99: 500, callsP99: 500, boardP99: 1000, liveP99: 250, analytics30P99: 1000, analyticsYearP99: 3000, jsGzipKb: 150 };
const log = (msg) => process.stderr.write(`[dashboard] ${msg}\n`);
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function summary(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: s.at(-1) };
}

/**
 * Navigation → `selector` in the page, `LOADS` times after one warm-up load, in ms. With `settled`, each load
 * also waits (untimed) for that selector before the next: the page's other reads finish, as they do for a
 * person reading it, instead of being left running on the server by the next navigation.
 */
async function loads(page, url, selector, settled = null) {
  const times = [];
  for (let i = 0; i <= LOADS; i++) {
    const t0 = performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForSelector(selector, { timeout: 30_000 });
    if (i > 0) times.push(performance.now() - t0);
    if (settled) await page.waitForSelector(settled, { timeout: 60_000 });
  }
  return summary(times);
}

/** The scripts index.html loads (one bundle, or more), raw and gzip -9 bytes. */
function shippedJs() {
  const dir = path.join(REPO_ROOT, 'dist', 'web');
  const html = readFileSync(path.join(dir, 'index.html'), 'utf8');
  const files = [...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g), ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g)].map((m) => m[1]);
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(path.join(dir, file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

function startBareServer() {
  const page = '<!doctype html><meta charset="utf-8"><title>baseline</title><table><tbody><tr data-call="x"><td>one row</td></tr></tbody></table>';
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(page));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function run() {
  const { chromium } = await import('playwright-core');
  const out = { n: CALLS, error: null };
  let fresh = null;
  let server = null;
  let browser = null;
  let bare = null;
  try {
    log(`first start on an empty database (migrations)`);
    fresh = await startFreshSwitchboard('sqlite');
    const { adminKey, db } = fresh;
    const ingestPath = new URL(fresh.url).pathname;
    const stop1 = await stopServer(fresh);
    if (!stop1.ok) throw new Error(`first server: ${stop1.detail}`);
    const now = Date.now();
    log(`seeding ${CALLS} calls over ${SPAN_DAYS} days`);
    const t0 = Date.now();
    out.seed = seedSqlite(db.slice('sqlite:'.length), { n: CALLS, now, log });
    log(`seeding ${DELIVERIES} deliveries`);
    out.deliveriesSeed = seedDeliveriesSqlite(db.slice('sqlite:'.length), { n: DELIVERIES, now, log });
    out.seedMs = Date.now() - t0;
    server = await restartSwitchboard(db);
    const base = server.baseUrl;
    const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const email = 'bench@example.com';
    const password = 'bench passphrase 1';
    const created = await httpRequest(`${base}/v1/users`, { method: 'POST', headers: auth, body: JSON.stringify({ email, password, role: 'viewer' }) });
    if (created.status !== 201) throw new Error(`POST /v1/users answered ${created.status}`);

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'Europe/Stockholm', reducedMotion: 'reduce' });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('.figures[data-ready]', { timeout: 60_000 });

    bare = await startBareServer();
    log('baseline: a bare page with one row');
    out.baseline = await loads(page, `http://127.0.0.1:${bare.address().port}/`, 'tr[data-call]');
    log('calls page → first row');
    out.calls = await loads(page, `${base}/calls`, '[data-table=calls] tr[data-call]');
    log('delivery log → first row');
    out.deliveries = await loads(page, `${base}/deliveries`, '[data-table=deliveries] tr[data-delivery]');
    const healthMs = [];
    for (let i = 0; i <= LOADS; i++) {
      const h0 = performance.now();
      const health = await httpRequest(`${base}/v1/destinations/health`, { headers: auth });
      if (health.status !== 200) throw new Error(`GET /v1/destinations/health answered ${health.status}`);
      if (i > 0) healthMs.push(performance.now() - h0);
    }
    out.health = summary(healthMs);
    log('board → first figures');
    out.board = await loads(page, `${base}/`, '.figures[data-ready]');

    log(`ingest → board: ${LIVE_CALLS} calls at ${LIVE_RATE}/s`);
    await page.goto(`${base}/`);
    await page.waitForSelector('[data-live=live]', { timeout: 30_000 });
    await page.evaluate(() => {
      const seenAt = new Map();
      window.seenAt = seenAt;
      new MutationObserver(() => {
        const at = Date.now();
        for (const row of document.querySelectorAll('[data-table=feed] tr[data-call^="bench-live-"]')) if (!seenAt.has(row.dataset.call)) seenAt.set(row.dataset.call, at);
      }).observe(document.body, { childList: true, subtree: true });
    });
    const fixture = JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'convolo', 'start_call.json'), 'utf8'));
    const sentAt = new Map();
    const posts = [];
    const startedAt = performance.now();
    for (let i = 0; i < LIVE_CALLS; i++) {
      const due = startedAt + (i * 1000) / LIVE_RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const id = `bench-live-${i}`;
      const body = JSON.stringify({ ...fixture, call_id: id, time_started_iso_string: new Date().toISOString() });
      sentAt.set(id, Date.now());
      posts.push(httpRequest(`${base}${ingestPath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    }
    const answers = await Promise.all(posts);
    const bad = answers.filter((a) => a.status !== 200).length;
    if (bad) throw new Error(`${bad} webhooks were not answered 200`);
    const deadline = Date.now() + 15_000;
    let seen = [];
    while (Date.now() < deadline) {
      seen = await page.evaluate(() => [...window.seenAt]);
      if (seen.length === LIVE_CALLS) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (seen.length !== LIVE_CALLS) throw new Error(`only ${seen.length} of ${LIVE_CALLS} calls reached the board`);
    out.live = summary(seen.map(([id, at]) => at - sentAt.get(id)));
    out.js = shippedJs();
    // Analytics last, each load left only once all its stats have come: a page left while its year of stats
    // is still being read leaves those reads running on the server (api/expensive.ts frees a slot when the
    // client goes), and 20 such loads just before the ingest delayed the board's rows by up to 23 s.
    const chart = '[data-chart=volume][data-drawn]';
    const settled = '[data-table=disconnected_by] tbody tr:not(.skeleton), [data-group=disconnected_by] .error';
    log('analytics, last 30 days → first chart drawn');
    out.analytics30 = await loads(page, `${base}/analytics?range=30d&tz=Europe%2FStockholm`, chart, settled);
    const day = (ms) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Stockholm', year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);
    log('analytics, a custom year → first chart drawn');
    out.analyticsYear = await loads(page, `${base}/analytics?range=custom&from=${day(now - 364 * 86_400_000)}&to=${day(now)}&tz=Europe%2FStockholm`, chart, settled);
  } catch (error) {
    out.error = error.message;
    log(`FAILED: ${error.message}`);
  } finally {
    await browser?.close();
    if (bare) await new Promise((resolve) => bare.close(resolve));
    if (server) await stopServer(server);
    await fresh?.removeData?.();
  }

  const ok = out.error === null;
  const met = ok && out.calls.p99 <= TARGET.callsP99 && out.deliveries.p99 <= TARGET.deliveriesP99 && out.board.p99 <= TARGET.boardP99 && out.live.p99 <= TARGET.liveP99 && out.js.gzip / 1024 <= TARGET.jsGzipKb &&
    out.analytics30.p99 <= TARGET.analytics30P99 && out.analyticsYear.p99 <= TARGET.analyticsYearP99;
  await writeResults(RESULTS, report(out, ok), log);
  return { ok, targetsMet: met };
}

function report(out, ok) {
  const mark = (v, target) => (v <= target ? '✔' : '✘');
  const ratio = (v) => (out.baseline?.p50 ? `${fmt(v / out.baseline.p50, 1)}×` : '–');
  const lines = [
    `## dashboard (${gitDescribe()}, ${os.cpus().length} cores, ${new Date().toISOString()})`,
    '',
    `Chromium ${chromiumPath}; SQLite with ${out.n.toLocaleString('en')} seeded calls and ${DELIVERIES.toLocaleString('en')} deliveries over ${SPAN_DAYS} days${out.seedMs ? ` (seeded in ${fmt(out.seedMs / 1000, 1)} s)` : ''}; ${LOADS} loads per page after a warm-up load.`,
    '',
  ];
  if (!ok) return `${lines.join('\n')}FAILED: ${out.error}\n`;
  lines.push(
    '| case | p50 | p99 | max | p50 vs bare page | target (p99) |',
    '|---|---:|---:|---:|---:|---|',
    `| bare page → its row (baseline) | ${fmt(out.baseline.p50, 0)} ms | ${fmt(out.baseline.p99, 0)} ms | ${fmt(out.baseline.max, 0)} ms | 1.0× | |`,
    `| calls page → first row | ${fmt(out.calls.p50, 0)} ms | ${fmt(out.calls.p99, 0)} ms | ${fmt(out.calls.max, 0)} ms | ${ratio(out.calls.p50)} | ≤ ${TARGET.callsP99} ms ${mark(out.calls.p99, TARGET.callsP99)} |`,
    `| delivery log → first row | ${fmt(out.deliveries.p50, 0)} ms | ${fmt(out.deliveries.p99, 0)} ms | ${fmt(out.deliveries.max, 0)} ms | ${ratio(out.deliveries.p50)} | ≤ ${TARGET.deliveriesP99} ms ${mark(out.deliveries.p99, TARGET.deliveriesP99)} |`,
    `| GET /v1/destinations/health (API) | ${fmt(out.health.p50, 0)} ms | ${fmt(out.health.p99, 0)} ms | ${fmt(out.health.max, 0)} ms | | |`,
    `| board → first figures | ${fmt(out.board.p50, 0)} ms | ${fmt(out.board.p99, 0)} ms | ${fmt(out.board.max, 0)} ms | ${ratio(out.board.p50)} | ≤ ${TARGET.boardP99} ms ${mark(out.board.p99, TARGET.boardP99)} |`,
    `| analytics, 30 days → first chart | ${fmt(out.analytics30.p50, 0)} ms | ${fmt(out.analytics30.p99, 0)} ms | ${fmt(out.analytics30.max, 0)} ms | ${ratio(out.analytics30.p50)} | ≤ ${TARGET.analytics30P99} ms ${mark(out.analytics30.p99, TARGET.analytics30P99)} |`,
    `| analytics, a custom year → first chart | ${fmt(out.analyticsYear.p50, 0)} ms | ${fmt(out.analyticsYear.p99, 0)} ms | ${fmt(out.analyticsYear.max, 0)} ms | ${ratio(out.analyticsYear.p50)} | ≤ ${TARGET.analyticsYearP99} ms ${mark(out.analyticsYear.p99, TARGET.analyticsYearP99)} |`,
    `| ingest → board (${LIVE_CALLS} calls at ${LIVE_RATE}/s) | ${fmt(out.live.p50, 0)} ms | ${fmt(out.live.p99, 0)} ms | ${fmt(out.live.max, 0)} ms | | ≤ ${TARGET.liveP99} ms ${mark(out.live.p99, TARGET.liveP99)} |`,
    '',
    `JavaScript on first load: ${out.js.files.join(', ')}: ${fmt(out.js.raw / 1024, 1)} KB, ${fmt(out.js.gzip / 1024, 1)} KB gzip (target ≤ ${TARGET.jsGzipKb} KB ${mark(out.js.gzip / 1024, TARGET.jsGzipKb)}). The server sends it uncompressed (no compression plugin), with a year's immutable cache.`,
    '',
  );
  return lines.join('\n');
}
