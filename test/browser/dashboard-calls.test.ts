import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../../src/simulate/index.js';
import { backends, startCall, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { addPerson, eventually, newTab, signIn, startDashboard, type Tab } from './support.js';

// Code inside page.evaluate and init scripts runs in the browser; this project's types are Node's (no DOM lib).
declare const document: any, window: any, MutationObserver: any;

/**
 * Every call of the list, loading more until the end: the ids in the order shown. It waits for the list read
 * for the URL's filters (`data-for`): just after the URL changes, the page may still show the previous list.
 */
async function allRows(page: Page): Promise<string[]> {
  const search = new URL(page.url()).searchParams.toString();
  await page.waitForSelector(`[data-for="${search.replace(/["\\]/g, '\\$&')}"]`);
  for (;;) {
    const more = page.locator('[data-load-more]');
    if ((await more.count()) === 0) break;
    const before = await page.locator('[data-table=calls] tr[data-call]').count();
    await more.click();
    await eventually(async () => (await page.locator('[data-table=calls] tr[data-call]').count()) > before);
  }
  return page.evaluate(() => [...document.querySelectorAll('[data-table=calls] tr[data-call]')].map((r) => (r as any).dataset.call!));
}

describe('the calls page (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  let tab: Tab;
  const api = async (query: string): Promise<string[]> => {
    const ids: string[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await t.api(`/v1/calls?limit=500&${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      ids.push(...page.body.data.map((c: any) => c.call_id));
      if (!page.body.next_cursor) return ids;
      cursor = page.body.next_cursor;
    }
  };
  beforeAll(async () => {
    browser = await launchChromium();
    t = await startDashboard(await backends[0]!.freshDb());
    const result = await runSimulation({ to: t.ingestUrl, calls: 130, rate: 0, scenario: 'mix', seed: 5, start: Date.now() - 3 * 3600_000 });
    expect(result.summary.failed).toBe(0);
    tab = await newTab(browser);
    await signIn(tab, t.baseUrl, await addPerson(t, 'viewer'), '/calls');
  });
  afterAll(async () => {
    await tab?.close();
    await t?.close();
    await browser?.close();
  });

  it('pages through every call once, newest first, as /v1/calls does', async () => {
    await tab.page.goto(`${t.baseUrl}/calls`);
    const shown = await allRows(tab.page);
    expect(shown).toHaveLength(130);
    expect(new Set(shown).size).toBe(130);
    expect(shown).toEqual(await api(''));
  });

  it('narrows each filter to exactly what the API returns for it, and says which filter emptied the list', async () => {
    const sample = (await t.api('/v1/calls?limit=200')).body.data as any[];
    const answered = sample.find((c) => c.status === 'answered' && c.agent?.id);
    const middle = sample[60];
    const filters: Record<string, string> = {
      status: 'answered',
      widget_key: answered.widget_key,
      agent_id: String(answered.agent.id),
      source_id: answered.source_id,
      phone: answered.called_lead_phone,
      from: sample[90].first_event_at,
      to: middle.first_event_at,
      q: answered.call_id.slice(3, 12),
    };
    for (const [name, value] of Object.entries(filters)) {
      const query = `${name}=${encodeURIComponent(value)}`;
      await tab.page.goto(`${t.baseUrl}/calls?${query}`);
      const expected = await api(query);
      expect(expected.length, name).toBeGreaterThan(0);
      expect(await allRows(tab.page), name).toEqual(expected);
    }
    // Two at once.
    const both = `status=answered&widget_key=${encodeURIComponent(answered.widget_key)}`;
    await tab.page.goto(`${t.baseUrl}/calls?${both}`);
    expect(await allRows(tab.page)).toEqual(await api(both));

    await tab.page.goto(`${t.baseUrl}/calls?status=answered&q=nothing-like-this`);
    await tab.page.waitForSelector('[data-empty]');
    const empty = await tab.page.textContent('[data-empty]');
    expect(empty).toContain('status = “answered”');
    expect(empty).toContain('search = “nothing-like-this”');
    expect(tab.problems).toEqual([]);
  });

  it('keeps the filters in the URL: chips and fields change it, reload keeps it, Back undoes it', async () => {
    const { page } = tab;
    await page.goto(`${t.baseUrl}/calls`);
    await page.waitForSelector('[data-shown]');
    await page.click('[data-status=answered]');
    await page.waitForURL(/status=answered/);
    await page.keyboard.press('/');
    expect(await page.evaluate(() => (document.activeElement as any).name)).toBe('q');
    await page.keyboard.type('a');
    await page.keyboard.press('Enter');
    await page.waitForURL(/status=answered&q=a|q=a&status=answered/);
    const filtered = await allRows(page);
    expect(filtered).toEqual(await api('status=answered&q=a'));
    await page.reload();
    expect(await page.getAttribute('[data-status=answered]', 'aria-pressed')).toBe('true');
    expect(await page.inputValue('input[name=q]')).toBe('a');
    expect(await allRows(page)).toEqual(filtered);
    await page.goBack();
    await page.waitForURL((url) => url.search === '?status=answered');
    expect(await page.inputValue('input[name=q]')).toBe('');
    expect(await allRows(page)).toEqual(await api('status=answered'));
    await page.goBack();
    await page.waitForURL((url) => url.search === '');
  });

  it('a hand-edited date that is no day (2026-13-01, 2026-02-30, the day after 9999-12-31) is the API\'s invalid_request beside the filters, not a blank page', async () => {
    const { page } = tab;
    for (const query of ['from=2026-13-01', 'to=2026-99-99', 'from=2026-02-30', 'to=9999-12-31']) {
      tab.problems.length = 0;
      await page.goto(`${t.baseUrl}/calls?${query}`);
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 5000 });
      expect(await alert.textContent(), query).toContain('invalid_request');
      expect(await alert.textContent(), query).toContain('Correct the filter above.');
      expect(await page.locator('form[role=search]').count(), query).toBe(1);
      expect(tab.problems, query).toEqual([]);
    }
    // A real day still means that day in the zone.
    await page.goto(`${t.baseUrl}/calls?from=2026-02-28&to=2026-02-28`);
    await page.waitForSelector('[data-empty]');
    expect(tab.problems).toEqual([]);
  });

  it('cuts a day where the zone skips its midnight (America/Santiago, 2026-09-06 begins at 01:00) where /v1/stats cuts it', async () => {
    const { page } = tab;
    const asked = page.waitForRequest((r) => new URL(r.url()).pathname === '/v1/calls' && new URL(r.url()).searchParams.has('from'));
    await page.goto(`${t.baseUrl}/calls?tz=America%2FSantiago&from=2026-09-06&to=2026-09-06`);
    const query = new URL((await asked).url()).searchParams;
    const stats = await t.api('/v1/stats?tz=America%2FSantiago&from=2026-09-06&to=2026-09-07&group_by=day');
    expect(stats.status).toBe(200);
    expect([query.get('from'), query.get('to')]).toEqual([new Date(stats.body.from).toISOString(), new Date(stats.body.to).toISOString()]);
    expect(query.get('from')).toBe('2026-09-06T04:00:00.000Z');
  });

  it('shows no loading rows under a filter the API refused: nothing is loading', async () => {
    const { page } = tab;
    await page.goto(`${t.baseUrl}/calls?phone=abc`);
    await page.getByRole('alert').waitFor({ timeout: 5000 });
    expect(await page.getByRole('alert').textContent()).toContain('invalid_request');
    expect(await page.locator('[data-table=calls] tr.skeleton').count()).toBe(0);
    expect(await page.locator('[data-table=calls] tbody tr').count()).toBe(0);
  });

  it('downloads the CSV of exactly the filter, the same bytes as /v1/calls.csv', async () => {
    const { page } = tab;
    await page.goto(`${t.baseUrl}/calls?status=answered`);
    await page.waitForSelector('[data-shown]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-csv]')]);
    const bytes = readFileSync((await download.path())!);
    const response = await fetch(`${t.baseUrl}/v1/calls.csv?status=answered`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    const expected = Buffer.from(await response.arrayBuffer());
    expect(bytes.equals(expected)).toBe(true);
    expect(bytes.toString('utf8').split('\n').filter(Boolean).length - 1).toBe((await api('status=answered')).length);
  });

  it('does not add a page that was still loading when the filter changed to the new list', async () => {
    const { page } = tab;
    await page.goto(`${t.baseUrl}/calls`);
    await page.waitForSelector('[data-load-more]');
    const isNextPage = (url: URL) => url.pathname === '/v1/calls' && url.searchParams.has('cursor');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(isNextPage, async (route) => {
      await held;
      await route.continue();
    });
    await page.click('[data-load-more]');
    await page.click('[data-status=answered]');
    await page.waitForSelector('[data-for="status=answered"]');
    const late = page.waitForResponse((response) => isNextPage(new URL(response.url())));
    release();
    await late;
    await page.unrouteAll();
    const shown = await page.evaluate(() => [...document.querySelectorAll('[data-table=calls] tr[data-call]')].map((r) => (r as any).dataset.call!));
    expect(shown).toEqual((await api('status=answered')).slice(0, shown.length));
    expect(await allRows(page)).toEqual(await api('status=answered'));
  });

  it('puts a new matching call at the top live without moving the rows in view, with an "N new calls" pill to jump up', async () => {
    const { page } = tab;
    await page.goto(`${t.baseUrl}/calls`);
    await page.waitForSelector('[data-shown]');
    await page.evaluate(() => window.scrollTo(0, 800));
    const row = page.locator('[data-table=calls] tbody tr').nth(25);
    const before = await row.boundingBox();
    const id = await row.getAttribute('data-call');
    expect((await t.post(startCall('live-new-1'))).status).toBe(200);
    await page.waitForSelector('[data-table=calls] tbody tr:first-child[data-call="live-new-1"]');
    // The row that was under the reader's eyes is where it was (the list grew above it).
    const same = page.locator(`[data-table=calls] tr[data-call="${id}"]`);
    expect(Math.abs((await same.boundingBox())!.y - before!.y)).toBeLessThan(2);
    await page.getByRole('button', { name: '↑ 1 new call' }).click();
    await eventually(() => page.evaluate(() => window.scrollY === 0));
    expect(await page.getByRole('button', { name: /new call/ }).count()).toBe(0);
  });

  it("adds a live call to a phone filter (or a phone-looking search) whose lead's phone Convolo sent as a number, as a reload shows it", async () => {
    const { page } = tab;
    for (const [query, id] of [['phone=%2B46%2070-555%2012%2034', 'live-phone-number'], ['q=555%2012%2034', 'live-phone-number-q']] as const) {
      await page.goto(`${t.baseUrl}/calls?${query}`);
      await page.waitForSelector(`[data-for="${query.replace(/%20/g, '+')}"]`);
      expect((await t.post(startCall(id, { lead: { lead_phone: 46705551234, lead_name: 'Numbered' } }))).status).toBe(200);
      // The server's filter holds it: a reload would show it.
      expect(await api(query), query).toContain(id);
      await page.waitForSelector(`[data-table=calls] tbody tr[data-call="${id}"]`, { timeout: 5000 });
    }
  });
});
