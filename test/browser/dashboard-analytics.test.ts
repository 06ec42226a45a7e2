import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, endCall, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { addPerson, axe, eventually, newTab, signIn, startDashboard, type Person, type Tab } from './support.js';

// Code inside page.evaluate runs in the browser; this project's types are Node's (no DOM lib).
declare const document: any, window: any;

/**
 * The analytics page against the API it draws: calls in Europe/Stockholm around both DST changes of 2026
 * (through the real webhook route, with chosen start times), then what a person sees — charts drawn under the
 * strict CSP, the same figures as /v1/stats, the week's heatmap summing to the range, each group's row leading
 * to exactly its calls, the URL keeping the selection, axe in light and dark, a 375 px screen.
 */

const sthlm = 'Europe/Stockholm';
const at = (iso: string) => Date.parse(iso);

interface Made {
  id: string;
  time: number;
  agent: string | null;
  widget: string | null;
  disconnectedBy: string | null;
  status: string;
  speed: number | null;
}

function makeCalls(): Made[] {
  const agents = ['101', '102', null];
  const widgets = ['wid_a', 'wid_b'];
  const disconnects = ['agent', 'lead', 'system', null];
  const statuses = ['answered', 'answered', 'no_answer'];
  const speeds = [30, 60, 61, 299, 900, 901, 4000, null];
  const times: number[] = [];
  // Every 5 h from 20 to 31 October (the 25th has 25 hours), then the repeated hour itself, then 29 March.
  for (let t = at('2026-10-19T22:10:00Z'); t < at('2026-10-31T23:00:00Z'); t += 5 * 3600_000) times.push(t);
  times.push(at('2026-10-25T00:20:00Z'), at('2026-10-25T01:20:00Z'), at('2026-10-25T01:40:00Z')); // 02:20+02, 02:20+01, 02:40+01
  times.push(at('2026-03-29T00:30:00Z'), at('2026-03-29T01:30:00Z'), at('2026-03-29T10:00:00Z')); // 01:30+01, 03:30+02, 12:00+02
  return times.map((time, i) => ({
    id: `an-${i}`,
    time,
    agent: agents[i % 3]!,
    widget: widgets[i % 2]!,
    disconnectedBy: disconnects[i % 4]!,
    status: statuses[i % 3]!,
    speed: speeds[i % 8]!,
  }));
}

function payload(c: Made): string {
  const lead: Record<string, unknown> = { lead_phone: '+46700000000', lead_name: `Lead ${c.id}`, custom_params: {} };
  if (c.speed !== null) lead.time_created_iso_string = new Date(c.time - c.speed * 1000).toISOString();
  return endCall(c.id, {
    call_status: c.status,
    widget_key: c.widget,
    widget_name: c.widget === 'wid_a' ? '=Pricing page' : 'Contact form',
    agent: c.agent === null ? null : { id: c.agent, name: c.agent === '101' ? 'Anna' : 'Björn', phone: '+4680000000', email: 'a@example.com' },
    time_started_iso_string: new Date(c.time).toISOString(),
    disconnected_by: c.disconnectedBy,
    talk_duration_sec: 40,
    lead,
  });
}

/** The rows of a table the page shows, as text, by `data-table`. */
const tableRows = (page: Page, name: string) =>
  page.evaluate((n: string) => [...document.querySelectorAll(`[data-table="${n}"] tbody tr`)].map((tr: any) => [...tr.cells].map((td: any) => td.textContent.trim())), name);

describe('the analytics page (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  let admin: Person;
  let tab: Tab;
  const calls = makeCalls();
  const october = '/analytics?range=custom&from=2026-10-20&to=2026-10-31&tz=Europe%2FStockholm';
  const octFrom = at('2026-10-20T00:00:00+02:00');
  const octTo = at('2026-11-01T00:00:00+01:00');
  const inOctober = calls.filter((c) => c.time >= octFrom && c.time < octTo);

  beforeAll(async () => {
    browser = await launchChromium();
    t = await startDashboard(await backends[0]!.freshDb());
    for (const c of calls) expect((await t.post(payload(c))).status).toBe(200);
    admin = await addPerson(t, 'admin');
    tab = await newTab(browser);
    await signIn(tab, t.baseUrl, admin);
  });
  afterAll(async () => {
    await tab?.close();
    await t?.close();
    await browser?.close();
  });

  const open = async (page: Page, path: string) => {
    await page.goto(`${t.baseUrl}${path}`);
    await page.waitForSelector('[data-chart=volume][data-drawn]');
    await page.waitForSelector('[data-table=disconnected_by] tbody tr:not(.skeleton)');
    await page.waitForSelector('[data-heatmap=calls]');
  };
  const stats = async (query: string) => {
    const answer = await t.api(`/v1/stats?tz=${sthlm}&from=2026-10-20&to=2026-11-01&${query}`);
    expect(answer.status).toBe(200);
    return answer.body;
  };

  it('draws the range\'s figures as /v1/stats gives them, the heatmap summing to the range, with no CSP violation or script error', async () => {
    const { page } = tab;
    await open(page, october);
    expect(await page.locator('[data-range=custom]').getAttribute('aria-pressed')).toBe('true');
    // Days, as the API counts them in the zone; the 25th is one day of 25 hours.
    const byDay = await stats('group_by=day');
    const rows = await tableRows(page, 'series');
    expect(rows.map((r) => r[0])).toEqual(byDay.buckets.map((b: { key: string }) => b.key));
    expect(rows.map((r) => Number(r[1]))).toEqual(byDay.buckets.map((b: { calls: number }) => b.calls));
    expect(rows.map((r) => Number(r[2]))).toEqual(byDay.buckets.map((b: { answered: number }) => b.answered));
    expect(byDay.buckets.reduce((n: number, b: { calls: number }) => n + b.calls, 0)).toBe(inOctober.length);
    expect(Number(await page.locator('[data-totals]').getAttribute('data-calls'))).toBe(inOctober.length);
    // The heatmap: every cell with the API's count, summing to the range's calls; the repeated 02:00 in Sunday 02.
    const week = await stats('group_by=weekday_hour');
    const cells = await page.evaluate(() => [...document.querySelectorAll('[data-heatmap=calls] td[data-calls]')].map((td: any) => [td.dataset.cell, Number(td.dataset.calls)]));
    expect(cells.reduce((n: number, [, v]: any) => n + v, 0)).toBe(inOctober.length);
    expect(Object.fromEntries(cells)).toEqual(Object.fromEntries(week.buckets.filter((b: { hours: number }) => b.hours > 0).map((b: { key: string; calls: number }) => [b.key, b.calls])));
    expect(Object.fromEntries(cells)['7T02']).toBeGreaterThanOrEqual(3);
    // The bands: cumulative, as the API counts them.
    const bands = await tableRows(page, 'bands');
    const sum = (f: string) => byDay.buckets.reduce((n: number, b: Record<string, number>) => n + b[f]!, 0);
    expect(bands.map((r) => Number(r[1]))).toEqual(['within_60', 'within_300', 'within_900', 'over_900'].map((b) => sum(`speed_to_lead_${b}_sec`)).concat(sum('speed_to_lead_unknown')));
    expect(Number(bands[0]![1])).toBe(inOctober.filter((c) => c.speed !== null && c.speed <= 60).length);
    // Per agent: the API's rows, names from its labels.
    const agents = await stats('group_by=agent');
    const shown = await tableRows(page, 'agent');
    expect(shown.map((r) => [r[0], Number(r[1]), Number(r[2])])).toEqual(
      agents.buckets.map((b: { key: string | null; name: string | null; calls: number; answered: number }) => [b.key === null ? 'No agent' : b.name, b.calls, b.answered]),
    );
    // The chart's CSV: the same rows, built in the browser, formula text defused.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-chart-data=series] [data-csv]').click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.startsWith('\uFEFFday,calls,answered,answer_rate')).toBe(true);
    expect(csv.trim().split('\r\n')).toHaveLength(byDay.buckets.length + 1);
    const [widgetCsv] = await Promise.all([page.waitForEvent('download'), page.locator('[data-group=widget] [data-csv]').click()]);
    expect(readFileSync((await widgetCsv.path())!, 'utf8')).toContain("'=Pricing page");
    expect(await page.locator('[data-chart=volume] canvas').count()).toBe(1);
    expect(tab.problems).toEqual([]);
  });

  it('counts hours on the spring-forward day (23 of them) and leaves hours that have not come out of "today"', async () => {
    const { page } = tab;
    await open(page, '/analytics?range=custom&from=2026-03-29&to=2026-03-29&tz=Europe%2FStockholm');
    const rows = await tableRows(page, 'series');
    expect(rows).toHaveLength(23);
    expect(rows.map((r) => r[0]).slice(1, 3)).toEqual(['2026-03-29T01:00:00+01:00', '2026-03-29T03:00:00+02:00']);
    expect(rows.reduce((n, r) => n + Number(r[1]), 0)).toBe(3);
    // Today, in UTC: only the hours that have begun are listed (no zeros for hours to come).
    const before = new Date().getUTCHours() + 1;
    await page.goto(`${t.baseUrl}/analytics?range=today&tz=UTC`);
    await page.waitForSelector('[data-chart-data=series]');
    await page.waitForSelector('[data-heatmap=calls]');
    const hours = (await tableRows(page, 'series')).length;
    const blank = await page.locator('[data-heatmap=calls] td.out').count();
    const after = new Date().getUTCHours() + 1; // the same unless an hour began meanwhile
    expect(hours).toBeGreaterThanOrEqual(before);
    expect(hours).toBeLessThanOrEqual(after);
    expect(blank).toBe(168 - hours);
    expect(await page.locator('[data-empty]').textContent()).toContain('No calls between');
  });

  it('links each group\'s row to the calls page showing exactly the calls it counts', async () => {
    const { page } = tab;
    await open(page, october);
    const groups = [
      ['agent', (c: Made) => c.agent],
      ['widget', (c: Made) => c.widget],
      ['disconnected_by', (c: Made) => c.disconnectedBy],
    ] as const;
    let followed = 0;
    for (const [group, keyOf] of groups) {
      // After a goBack the page loads each group's answer again: its skeleton rows carry no data-key.
      await page.waitForFunction((g: string) => {
        const rows: any[] = [...document.querySelectorAll(`[data-table="${g}"] tbody tr`)];
        return rows.length > 0 && rows.every((tr) => tr.dataset.key !== undefined);
      }, group);
      const keys: string[] = await page.evaluate((g: string) => [...document.querySelectorAll(`[data-table="${g}"] tbody tr`)].map((tr: any) => tr.dataset.key), group);
      expect(keys.length).toBeGreaterThan(1);
      for (const key of keys) {
        const link = page.locator(`[data-table="${group}"] tr[data-key="${key}"] a`);
        if (key === '') {
          expect(await link.count()).toBe(0); // calls without one: the list has no "is null" filter
          continue;
        }
        await link.click();
        await page.waitForURL((url) => url.pathname === '/calls');
        await page.waitForSelector('[data-shown], [data-empty]');
        const ids = await page.evaluate(() => [...document.querySelectorAll('tr[data-call]')].map((tr: any) => tr.dataset.call));
        expect(ids.sort(), `${group} ${key}`).toEqual(inOctober.filter((c) => keyOf(c) === key).map((c) => c.id).sort());
        // The narrowing the calls page has no field for is said there.
        expect(await page.locator('[data-unfielded]').textContent()).toContain('started from = “2026-10-20T00:00:00+02:00”');
        followed++;
        await page.goBack();
        await page.waitForSelector(`[data-table="${group}"] tr[data-key="${key}"]`);
      }
    }
    expect(followed).toBeGreaterThanOrEqual(7);
  });

  it('sorts a table by a column (aria-sort), and keeps range, zone and sort in the URL through reload and Back', async () => {
    const { page } = tab;
    await open(page, october);
    await page.locator('[data-table=agent] th button', { hasText: 'Answer rate' }).click();
    await eventually(async () => (await page.locator('[data-table=agent] th[aria-sort]').textContent())?.includes('Answer rate'));
    expect(await page.locator('[data-table=agent] th[aria-sort]').getAttribute('aria-sort')).toBe('descending');
    const rates = async () => (await tableRows(page, 'agent')).map((r) => Number.parseInt(r[3]!, 10));
    const down = await rates();
    expect(down).toEqual([...down].sort((a, b) => b - a));
    await page.locator('[data-table=agent] th button', { hasText: 'Answer rate' }).click();
    await eventually(async () => (await page.locator('[data-table=agent] th[aria-sort]').getAttribute('aria-sort')) === 'ascending');
    expect(await rates()).toEqual([...down].reverse());
    expect(page.url()).toContain('agent_sort=answer_rate');
    await page.reload();
    await page.waitForSelector('[data-chart=volume][data-drawn]');
    expect(page.url()).toContain('range=custom&from=2026-10-20&to=2026-10-31');
    expect(await page.locator('[data-range=custom]').getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator('.zone select').inputValue()).toBe(sthlm);
    expect((await tableRows(page, 'series'))[0]![0]).toBe('2026-10-20');
    await page.locator('[data-range="30d"]').click();
    await page.waitForURL((url) => url.searchParams.get('range') === '30d');
    expect(await page.locator('[data-range="30d"]').getAttribute('aria-pressed')).toBe('true');
    await page.goBack();
    await page.waitForURL((url) => url.searchParams.get('range') === 'custom');
    await eventually(async () => (await page.locator('[data-range=custom]').getAttribute('aria-pressed')) === 'true');
    // A custom range picked in the fields.
    await page.getByLabel('From').fill('2026-10-24');
    await page.getByLabel('To (inclusive)').fill('2026-10-25');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL((url) => url.searchParams.get('from') === '2026-10-24');
    await page.waitForSelector('[data-chart=volume][data-drawn]');
    expect(await tableRows(page, 'series')).toHaveLength(24 + 25); // two days by the hour, the 25th has 25
    // An end before the start is said beside the fields, and nothing is asked.
    await page.goto(`${t.baseUrl}/analytics?range=custom&from=2026-10-31&to=2026-10-01&tz=Europe%2FStockholm`);
    expect(await page.locator('.range-picker [role=alert]').textContent()).toBe('The end date is before the start date.');
    expect(await page.locator('[data-chart]').count()).toBe(0);
    expect(tab.problems).toEqual([]);
  });

  it('shows no figures of the range before when the fields are corrected into a range that cannot be asked (an end before the start)', async () => {
    const { page } = tab;
    await open(page, october);
    expect(await page.locator('[data-chart]').count()).toBe(2);
    await page.getByLabel('From').fill('2026-10-31');
    await page.getByLabel('To (inclusive)').fill('2026-10-01');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL((url) => url.searchParams.get('to') === '2026-10-01');
    expect(await page.locator('.range-picker [role=alert]').textContent()).toBe('The end date is before the start date.');
    // October's figures are not shown under a range that says another week.
    await eventually(async () => (await page.locator('[data-chart]').count()) === 0);
    expect(await page.locator('[data-totals]').count()).toBe(0);
    expect(await page.locator('[data-table=agent] tbody tr[data-key]').count()).toBe(0);
    expect(tab.problems).toEqual([]);
  });

  it('says a custom date the calendar lacks (2026-13-01, 2026-02-30) beside the fields, not a blank page', async () => {
    const { page } = tab;
    for (const query of ['from=2026-13-01&to=2026-12-01', 'from=2026-02-01&to=2026-02-30', 'from=2026-00-10&to=2026-99-99']) {
      tab.problems.length = 0;
      await page.goto(`${t.baseUrl}/analytics?range=custom&${query}&tz=Europe%2FStockholm`);
      const alert = page.locator('.range-picker [role=alert]');
      await alert.waitFor({ timeout: 5000 });
      expect(await alert.textContent(), query).toBe('Pick a start and an end date.');
      expect(tab.problems, query).toEqual([]);
    }
  });

  it("says the API's refusal of a range at the calendar's ends once, at the top, not in each of the six sections", async () => {
    const { page } = tab;
    for (const query of ['from=0001-01-01&to=0001-01-03', 'from=9999-12-29&to=9999-12-31']) {
      tab.problems.length = 0;
      await page.goto(`${t.baseUrl}/analytics?range=custom&${query}&tz=Europe%2FStockholm`);
      const alerts = page.locator('main [role=alert]');
      await alerts.first().waitFor({ timeout: 5000 });
      await page.waitForTimeout(1500); // the parts asked after the first have had their answers
      expect(await alerts.count(), query).toBe(1);
      // The API's own words (the lower end: its calendar; the upper: the day after 9999-12-31 is no date).
      expect(await alerts.textContent(), query).toMatch(/^The request is not valid\. \((the range must lie within 0001-01-02 and 9999-12-31 \(UTC\)|to must be .+)\) invalid_request Pick another range\.$/);
      // At the top: before every section of figures, which wait for no answer.
      expect(await page.evaluate(() => {
        const alert = document.querySelector('main [role=alert]');
        return [...document.querySelectorAll('main section')].every((s: any) => alert.compareDocumentPosition(s) & 4);
      }), query).toBe(true);
      expect(await page.locator('main [aria-busy=true]').count(), query).toBe(0);
      expect(tab.problems, query).toEqual([]);
    }
  });

  it('shows no loading charts or rows that never end under a range the fields cannot ask for (an end before the start): nothing is loading', async () => {
    const { page } = tab;
    for (const query of ['from=2026-10-31&to=2026-10-01', 'from=2026-13-01&to=2026-12-01', 'from=2025-01-01&to=2026-12-31']) {
      await page.goto(`${t.baseUrl}/analytics?range=custom&${query}&tz=Europe%2FStockholm`);
      await page.locator('.range-picker [role=alert]').waitFor({ timeout: 5000 });
      await page.waitForTimeout(500);
      expect(await page.locator('main [aria-busy=true]').count(), query).toBe(0);
      expect(await page.locator('main tr.skeleton, main .chart-placeholder').count(), query).toBe(0);
    }
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`has no serious or critical axe violation and fits 375 px (${colorScheme})`, async () => {
      const narrow = await newTab(browser, { colorScheme, width: 375, reducedMotion: 'reduce' });
      try {
        await signIn(narrow, t.baseUrl, admin, october);
        await open(narrow.page, october);
        await narrow.page.locator('[data-chart-data=series] summary').click();
        const results = await axe(narrow.page).analyze();
        const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
        expect(bad).toEqual([]);
        expect(await narrow.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
        // The charts are drawn in this scheme's palette (read from the CSS variables).
        expect(await narrow.page.locator('[data-chart=speed][data-drawn] canvas').count()).toBe(1);
        expect(narrow.problems).toEqual([]);
      } finally {
        await narrow.close();
      }
    });
  }
});
