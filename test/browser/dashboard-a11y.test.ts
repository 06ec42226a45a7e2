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
    ['/analytics', '.panel.empty'],
    ['/settings/users', '[data-user]'],
  ] as const;

  for (const colorScheme of ['light', 'dark'] as const) {
    for (const width of [1280, 375]) {
      it(`has no serious or critical violation on any page (${colorScheme}, ${width} px)`, async () => {
        const tab = await newTab(browser, { colorScheme, width, reducedMotion: 'reduce' });
        try {
          const failures: string[] = [];
          for (const [path, ready] of pages()) {
            if (path === '/') await signIn(tab, t.baseUrl, admin);
            await tab.page.goto(`${t.baseUrl}${path}`);
            await tab.page.waitForSelector(ready);
            if (path.startsWith('/calls/')) await tab.page.locator('details.raw summary').first().click();
            // Reduced motion: no fade in flight, so axe reads the colours a person sees.
            await tab.page.waitForTimeout(100);
            failures.push(...(await pageFailures(tab.page, path)));
          }
          expect(failures).toEqual([]);
          expect(tab.problems).toEqual([]);
        } finally {
          await tab.close();
        }
      });
    }
  }
});
