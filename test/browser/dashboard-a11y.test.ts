import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../../src/simulate/index.js';
import { backends, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { addPerson, newTab, pageFailures, signIn, startDashboard, type Person } from './support.js';

// Code inside page.evaluate and init scripts runs in the browser; this project's types are Node's (no DOM lib).
declare const document: any, window: any, MutationObserver: any;

/** Every page, light and dark, wide and narrow: axe-core finds no serious or critical violation, and nothing is wider than the screen. */
describe('the dashboard’s accessibility (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  let admin: Person;
  let callId: string;
  beforeAll(async () => {
    browser = await launchChromium();
    t = await startDashboard(await backends[0]!.freshDb());
    const result = await runSimulation({ to: t.ingestUrl, calls: 20, rate: 0, scenario: 'mix', seed: 9, start: Date.now() - 3600_000, keepRequests: true });
    callId = result.calls!.find((c) => c.outcome === 'answered')!.call_id;
    admin = await addPerson(t, 'admin');
  });
  afterAll(async () => {
    await t?.close();
    await browser?.close();
  });

  const pages = () => [
    ['/login', '.auth-card'],
    ['/setup?token=nope', '[data-setup=invalid]'],
    ['/', '.figures[data-ready]'],
    ['/calls', '[data-shown]'],
    [`/calls/${callId}`, '[data-event]'],
    ['/analytics', '[data-chart=volume][data-drawn]'],
    ['/settings/users', '[data-user]'],
  ] as const;

  // One tab per width, signed in once; each page is loaded once and scanned in both colour schemes, switched
  // in place (the CSS follows prefers-color-scheme, the charts redraw on its change event). The narrow tab
  // loads every page in dark first, so each scheme is seen both as loaded and as switched to.
  for (const [width, schemes] of [[1280, ['light', 'dark']], [375, ['dark', 'light']]] as const) {
    it(`has no serious or critical violation on any page, ${schemes[0]} then ${schemes[1]} (${width} px)`, async () => {
      const tab = await newTab(browser, { colorScheme: schemes[0], width, reducedMotion: 'reduce' });
      try {
        const failures: string[] = [];
        for (const [path, ready] of pages()) {
          if (path === '/') await signIn(tab, t.baseUrl, admin);
          await tab.page.emulateMedia({ colorScheme: schemes[0] });
          await tab.page.goto(`${t.baseUrl}${path}`);
          await tab.page.waitForSelector(ready);
          if (path.startsWith('/calls/')) await tab.page.locator('details.raw summary').first().click();
          for (const colorScheme of schemes) {
            await tab.page.emulateMedia({ colorScheme });
            // Reduced motion: no fade in flight, so axe reads the colours a person sees.
            await tab.page.waitForTimeout(100);
            await tab.page.waitForSelector(ready);
            expect(await tab.page.evaluate(() => window.matchMedia('(prefers-color-scheme: dark)').matches), `${path} in ${colorScheme}`).toBe(colorScheme === 'dark');
            failures.push(...(await pageFailures(tab.page, `${path} (${colorScheme})`)));
          }
        }
        expect(failures).toEqual([]);
        expect(tab.problems).toEqual([]);
      } finally {
        await tab.close();
      }
    });
  }
});
