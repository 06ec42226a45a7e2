import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createUser } from '../../src/admin/users.js';
import { startTestApp, type TestApp } from '../support/app.js';
import type { Flags } from '../../src/config/index.js';
import type { AppOptions } from '../../src/app.js';

// Code inside page.evaluate and init scripts runs in the browser; this project's types are Node's (no DOM lib).
declare const document: any, window: any, MutationObserver: any;

/** Shared by the dashboard's browser tests: a real server and database, people who sign in through the real login page. */

export const password = 'a long enough passphrase';

export interface Person {
  email: string;
  password: string;
  role: 'viewer' | 'admin';
}

let serial = 0;
/** A user made as `switchboard users add` makes one. */
export async function addPerson(t: TestApp, role: Person['role']): Promise<Person> {
  const email = `${role}-${++serial}@example.com`;
  await createUser(t.app.storage, { email, role, password, name: `${role[0]!.toUpperCase()}${role.slice(1)} ${serial}` });
  return { email, password, role };
}

export async function startDashboard(db: string, flags: Flags = {}, options: AppOptions = {}): Promise<TestApp> {
  return startTestApp(db, { streamHeartbeatSec: 1, ...flags }, options);
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  /** Script errors and Content-Security-Policy violations seen so far. */
  problems: string[];
  close(): Promise<void>;
}

/** A fresh browser context (its own cookies) with a page that reports CSP violations and script errors. */
export async function newTab(browser: Browser, options: { colorScheme?: 'light' | 'dark'; width?: number; height?: number; reducedMotion?: 'reduce' | 'no-preference' } = {}): Promise<Tab> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    colorScheme: options.colorScheme ?? 'light',
    reducedMotion: options.reducedMotion ?? 'no-preference',
    acceptDownloads: true,
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e: any) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (/CSP violation|Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  return { context, page, problems, close: () => context.close() };
}

/** Signs in through the login page, as a person would, and waits for the page it leads to. */
export async function signIn(tab: Tab, baseUrl: string, person: Pick<Person, 'email' | 'password'>, next = '/'): Promise<void> {
  const { page } = tab;
  await page.goto(`${baseUrl}/login${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname + url.search === next, { timeout: 10_000 });
  await page.waitForSelector('.topbar h1', { timeout: 10_000 });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then the last error is thrown). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      if (Date.now() > until) throw new Error(`still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    } catch (error) {
      if (Date.now() > until) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/**
 * axe-core over the page as it is shown, run inside the page itself (`axe.run`, the builder's "legacy
 * mode"), not `axe.runPartial` per frame and then `axe.finishRun` in a second, blank page: the dashboard has
 * no frames, so the results are the same (the same violations, passes and incomplete checks, node for
 * node), in half the time.
 */
export const axe = (page: Page) => new AxeBuilder({ page }).setLegacyMode();

/** What is wrong with the page as it is shown: axe-core's serious and critical violations, and any width beyond the window. */
export async function pageFailures(page: Page, path: string): Promise<string[]> {
  const failures: string[] = [];
  const results = await axe(page).analyze();
  for (const v of results.violations) {
    if (v.impact === 'serious' || v.impact === 'critical') failures.push(`${path}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) failures.push(`${path}: ${overflow} px wider than the window`);
  return failures;
}
