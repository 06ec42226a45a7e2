import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { runSimulation } from '../../src/simulate/index.js';
import { backends, endCall, startCall, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { addPerson, eventually, newTab, signIn, startDashboard, type Person, type Tab } from './support.js';

// Code inside page.evaluate and init scripts runs in the browser; this project's types are Node's (no DOM lib).
declare const document: any, window: any, MutationObserver: any;

/** Every call id the board's tables have shown since `watch` began (new rows are recorded as they are added). */
async function watch(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen = new Set<string>();
    (window as any).seen = seen;
    const record = () => document.querySelectorAll('[data-table] tr[data-call]').forEach((row: any) => seen.add((row as any).dataset.call!));
    record();
    new MutationObserver(record).observe(document.body, { childList: true, subtree: true });
  });
}
const seen = (page: Page) => page.evaluate(() => [...(window as any).seen as Set<string>]);

async function figures(page: Page) {
  return page.evaluate(() => {
    const value = (name: string) => {
      const raw = document.querySelector(`[data-figure="${name}"]`)?.getAttribute('data-value');
      return raw === '' || raw === null || raw === undefined ? null : Number(raw);
    };
    const range = document.querySelector('[data-figures-range]') as any;
    return {
      calls: value('calls'), answered: value('answered'), answer_rate: value('answer_rate'), missed: value('missed'),
      speed_to_lead_median_sec: value('stl_median'), speed_to_lead_p90_sec: value('stl_p90'),
      from: range?.dataset.from, to: range?.dataset.to,
    };
  });
}

describe('the live board (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  let db: string;
  let admin: Person;
  let tab: Tab;
  let closed = false;
  beforeAll(async () => {
    browser = await launchChromium();
    db = await backends[0]!.freshDb();
    t = await startDashboard(db);
    admin = await addPerson(t, 'admin');
    tab = await newTab(browser);
    await signIn(tab, t.baseUrl, admin);
  });
  afterAll(async () => {
    await tab?.close();
    if (!closed) await t?.close();
    await browser?.close();
  });

  it('shows every call `simulate` posts while it is open, moves them from in progress to done, and ends with the figures /v1/stats gives', async () => {
    const { page } = tab;
    await page.waitForSelector('[data-live=live]');
    await page.waitForSelector('.figures[data-ready]');
    await watch(page);
    // Calls of today (UTC, the browser's zone), whatever the hour the test runs.
    const midnight = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const start = Math.max(midnight + 1000, Date.now() - 30 * 60_000);
    const result = await runSimulation({ to: t.ingestUrl, calls: 50, rate: 20, scenario: 'mix', seed: 12, start, duplicates: 0.05, keepRequests: true });
    expect(result.summary.failed).toBe(0);
    const ids = result.calls!.map((c) => c.call_id);
    await eventually(async () => {
      const shown = new Set(await seen(page));
      return ids.every((id) => shown.has(id));
    }, 10_000);
    // Every call ended: none is left in progress, and the feed's newest row of each says how it ended.
    await eventually(async () => (await page.locator('[data-table=in-progress] tr[data-call]').count()) === 0);
    const outcomes = await page.evaluate(() => {
      const latest: Record<string, string> = {};
      for (const row of document.querySelectorAll('[data-table=feed] tr[data-call]')) {
        const id = (row as any).dataset.call!;
        latest[id] ??= row.querySelector('.status')?.textContent ?? '';
      }
      return latest;
    });
    for (const id of ids) expect(outcomes[id], id).not.toBe('in progress');

    // The figures come to equal the API's for the range the board asked. Not at once: the board asks again at
    // most once a second after stream events, so the answer with the last end_calls may still be on its way.
    const shown = await eventually(async () => {
      const board = await figures(page);
      const stats = await t.api(`/v1/stats?group_by=day&tz=UTC&from=${encodeURIComponent(board.from!)}&to=${encodeURIComponent(board.to!)}`);
      const bucket = stats.body.buckets[0];
      expect(bucket.calls).toBe(50);
      expect(board).toMatchObject({
        calls: bucket.calls, answered: bucket.answered, answer_rate: bucket.answer_rate,
        speed_to_lead_median_sec: bucket.speed_to_lead_median_sec, speed_to_lead_p90_sec: bucket.speed_to_lead_p90_sec,
        missed: bucket.calls - bucket.answered,
      });
      return board;
    });
    // A call ringing now is one of today's calls, and not (yet) a missed one.
    expect((await t.post(startCall('ringing-now'))).status).toBe(200);
    await eventually(async () => {
      const now = await figures(page);
      return now.calls === shown.calls! + 1 && now.missed === shown.missed;
    });
    // A call stamped ahead of this clock (the sender's clock, a simulated timeline) is still one of today's.
    const ahead = Math.min(Date.now() + 5 * 60_000, midnight + 86_400_000 - 1000);
    expect((await t.post(endCall('ahead-1', { time_started_iso_string: new Date(ahead).toISOString() }))).status).toBe(200);
    await eventually(async () => (await figures(page)).calls === shown.calls! + 2);
    expect(tab.problems).toEqual([]);
  });

  it('shows "reconnecting…" when the server goes away, and after its restart every event posted meanwhile', async () => {
    const { page } = tab;
    await page.waitForSelector('[data-live=live]');
    const port = Number(new URL(t.baseUrl).port);
    // Holds the board's reconnection until the events are in, so they are surely "meanwhile".
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/v1/stream*', async (route) => {
      await gate;
      await route.continue();
    });
    closed = true;
    await t.close();
    await page.waitForSelector('[data-live=reconnecting]', { timeout: 10_000 });

    const config = loadConfig({}, { db, host: '127.0.0.1', port, logLevel: 'silent', streamHeartbeatSec: 1 });
    const again: App = await createApp(config, { logger: false });
    try {
      expect(await again.prepare()).toBeNull();
      await again.listen();
      for (let i = 0; i < 5; i++) {
        const post = (body: string) => fetch(t.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.status);
        expect(await post(startCall(`meanwhile-${i}`))).toBe(200);
        if (i % 2 === 0) expect(await post(endCall(`meanwhile-${i}`))).toBe(200);
      }
      release();
      await page.waitForSelector('[data-live=live]', { timeout: 15_000 });
      await eventually(async () => {
        const rows = await page.evaluate(() => [...document.querySelectorAll('[data-table=feed] tr[data-call^=meanwhile]')].map((r) => (r as any).dataset.call));
        return rows.length === 8;
      });
      // Those still in progress are on the board with their timers.
      const inProgress = await page.evaluate(() => [...document.querySelectorAll('[data-table=in-progress] tr[data-call^=meanwhile]')].map((r) => (r as any).dataset.call).sort());
      expect(inProgress).toEqual(['meanwhile-1', 'meanwhile-3']);
      // No event twice: the feed's rows have distinct seqs.
      const seqs = await page.evaluate(() => [...document.querySelectorAll('[data-table=feed] tr[data-seq]')].map((r) => (r as any).dataset.seq));
      expect(new Set(seqs).size).toBe(seqs.length);
      await page.unroute('**/v1/stream*');
    } finally {
      await again.close();
    }
  });
});

describe('the live board at its edges (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  beforeAll(async () => {
    browser = await launchChromium();
    t = await startDashboard(await backends[0]!.freshDb());
  });
  afterAll(async () => {
    await t?.close();
    await browser?.close();
  });

  it('opens each call in progress of its own source when two sources send the same call id', async () => {
    const second = await t.request('POST', '/v1/sources', { name: 'Second account' });
    expect(second.status).toBe(201);
    expect((await t.post(startCall('shared-1', { lead: { lead_phone: '+46700000001', lead_name: 'First source lead' } }))).status).toBe(200);
    expect((await t.post(startCall('shared-1', { lead: { lead_phone: '+46700000002', lead_name: 'Second source lead' } }), 'application/json', second.body.ingest_url)).status).toBe(200);
    const tab = await newTab(browser);
    try {
      await signIn(tab, t.baseUrl, await addPerson(t, 'viewer'));
      const rows = tab.page.locator('[data-table=in-progress] tr[data-call="shared-1"]');
      await eventually(async () => (await rows.count()) === 2);
      for (const name of ['First source lead', 'Second source lead']) {
        await tab.page.goto(`${t.baseUrl}/`);
        await tab.page.locator('[data-table=in-progress] a', { hasText: name }).click();
        await tab.page.waitForSelector('#lead-heading + .phone');
        expect(await tab.page.locator('#lead-heading + .phone').textContent(), name).toContain(name);
      }
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('compares with yesterday up to the same time on the clock, across the spring-forward night (Europe/Stockholm)', async () => {
    // 29 March 2026 has 23 hours in Stockholm (02:00 CET → 03:00 CEST).
    for (const [id, started] of [['y-0010', '2026-03-28T23:10:00Z'], ['y-0050', '2026-03-28T23:50:00Z'], ['y-0430', '2026-03-29T02:30:00Z'], ['t-0010', '2026-03-29T22:10:00Z']]) {
      expect((await t.post(endCall(id!, { time_started_iso_string: started }))).status).toBe(200);
    }
    const viewer = await addPerson(t, 'viewer');
    // [the board's time, the end of "yesterday at this time" it must ask for]
    const cases = [
      ['2026-03-29T22:30:00Z', '2026-03-28T23:30:00.000Z'], // 30 March 00:30 CEST → 29 March 00:30 CET (24 h before is 28 March, 23:30)
      ['2026-03-30T03:00:00Z', '2026-03-29T03:00:00.000Z'], // 30 March 05:00 CEST → 29 March 05:00 CEST (24 h before is 04:00)
    ];
    for (const [now, yesterdayTo] of cases) {
      const tab = await newTab(browser);
      try {
        await tab.page.clock.setFixedTime(new Date(now!));
        const asked: string[] = [];
        tab.page.on('request', (r) => {
          const url = new URL(r.url());
          if (url.pathname === '/v1/stats' && url.searchParams.get('from') === '2026-03-29') asked.push(url.searchParams.get('to')!);
        });
        await signIn(tab, t.baseUrl, viewer, '/?tz=Europe%2FStockholm');
        await tab.page.waitForSelector('.figures[data-ready]', { timeout: 5000 });
        expect(asked.map((to) => new Date(to).toISOString()), now).toContain(yesterdayTo);
        if (now === cases[0]![0]) {
          expect((await figures(tab.page)).calls).toBe(1);
          expect(await tab.page.locator('[data-figure=calls] .figure-note').textContent()).toMatch(/^±0 calls/);
        }
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  });
});

describe('the live board on a log retention pruned (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  afterAll(async () => {
    await t?.close();
    await browser?.close();
  });

  it('takes the stream\'s gap frame in its stride: the kept and the new calls show, nothing fails', async () => {
    browser = await launchChromium();
    let clock = Date.now() - 10 * 86_400_000;
    t = await startDashboard(await backends[0]!.freshDb(), {}, { now: () => clock });
    for (const id of ['pruned-1', 'pruned-2']) expect((await t.post(endCall(id))).status).toBe(200);
    clock = Date.now();
    expect((await t.post(startCall('kept-1'))).status).toBe(200);
    expect((await t.request('POST', '/v1/prune', { retention_days: 5 })).body).toMatchObject({ events: 2 });
    const tab = await newTab(browser);
    try {
      // The board resumes from seq 0 (its last 50 events): the stream opens with a pruned gap frame.
      await signIn(tab, t.baseUrl, await addPerson(t, 'viewer'));
      await tab.page.waitForSelector('[data-live=live]');
      const feed = () => tab.page.evaluate(() => [...document.querySelectorAll('[data-table=feed] tr[data-call]')].map((r) => (r as any).dataset.call));
      await eventually(async () => (await feed()).includes('kept-1'));
      expect((await t.post(endCall('kept-1'))).status).toBe(200);
      await eventually(async () => (await feed()).filter((id) => id === 'kept-1').length === 2);
      expect(await feed()).not.toContain('pruned-1');
      expect(await tab.page.locator('[data-live]').getAttribute('data-live')).toBe('live');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});

describe('the live board with one expensive request per client (sqlite)', () => {
  it('asks the stats again after a 429 and shows today’s figures', async () => {
    const browser = await launchChromium();
    // The board asks for today and yesterday at once: with one slot, the second waits for the first's answer.
    const t = await startDashboard(await backends[0]!.freshDb(), { expensivePerKey: 1 });
    const tab = await newTab(browser);
    try {
      const refused: string[] = [];
      tab.page.on('response', (r) => {
        if (r.url().includes('/v1/stats') && r.status() === 429) refused.push(r.url());
      });
      await signIn(tab, t.baseUrl, await addPerson(t, 'viewer'));
      await tab.page.waitForSelector('.figures[data-ready]');
      expect(refused.length).toBeGreaterThan(0);
      const shown = await figures(tab.page);
      const today = await fetch(`${t.baseUrl}/v1/stats?group_by=day&tz=UTC&from=${shown.from}&to=${shown.to}`.replace(/\+/g, '%2B'), {
        headers: { authorization: `Bearer ${t.adminKey}` },
      }).then((r) => r.json() as Promise<{ buckets: Array<{ calls: number }> }>);
      expect(shown.calls).toBe(today.buckets[0]!.calls);
      expect(tab.problems.filter((p) => !p.includes('429'))).toEqual([]);
    } finally {
      await tab.close();
      await t.close();
      await browser.close();
    }
  });
});

describe('the live board (postgres smoke)', () => {
  it('signs in, shows the figures, and a call posted while it is open', async () => {
    const browser = await launchChromium();
    const t = await startDashboard(await backends[1]!.freshDb());
    const tab = await newTab(browser);
    try {
      await signIn(tab, t.baseUrl, await addPerson(t, 'viewer'));
      await tab.page.waitForSelector('[data-live=live]');
      await tab.page.waitForSelector('.figures[data-ready]');
      expect((await t.post(startCall('pg-1'))).status).toBe(200);
      await tab.page.waitForSelector('[data-table=in-progress] tr[data-call="pg-1"]');
      expect((await t.post(endCall('pg-1'))).status).toBe(200);
      await tab.page.waitForSelector('[data-table=in-progress] tr[data-call="pg-1"]', { state: 'detached' });
      await tab.page.waitForSelector('[data-table=feed] tr[data-call="pg-1"] .status-ok');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.close();
      await t.close();
      await browser.close();
    }
  });
});
