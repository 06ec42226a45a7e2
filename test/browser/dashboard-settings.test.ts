import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inviteUser } from '../../src/admin/users.js';
import { backends, endCall, type TestApp } from '../support/app.js';
import { launchChromium } from '../support/browser.js';
import { addPerson, eventually, newTab, pageFailures, password, signIn, startDashboard, type Person, type Tab } from './support.js';

const hour = 3_600_000;

/**
 * The settings pages as people use them (issue 13): what is created on the page works at once from outside
 * (node's fetch playing curl), what is revoked stops, a rotated source's old URL works until the grace period
 * ends (the server's clock is driven, never waited for), an invitation link makes a signed-in user, roles
 * apply at once, the last admin stays, a viewer sees About only, a person changes their own password.
 */
describe('the settings pages (sqlite)', () => {
  let browser: Browser;
  let t: TestApp;
  let admin: Person;
  let tab: Tab;
  let clock = Date.now();
  let calls = 0;
  beforeAll(async () => {
    browser = await launchChromium();
    // Sessions must outlive the 25 h the clock jumps for the grace period.
    t = await startDashboard(await backends[0]!.freshDb(), { sessionIdleMin: 3 * 24 * 60 }, { now: () => clock });
    admin = await addPerson(t, 'admin');
    tab = await newTab(browser);
  });
  afterAll(async () => {
    await tab?.close();
    await t?.close();
    await browser?.close();
  });

  const webhook = async (url: string) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: endCall(`settings-${++calls}`) })).status;
  const readCalls = async (key: string) => (await fetch(`${t.baseUrl}/v1/calls`, { headers: { authorization: `Bearer ${key}` } })).status;
  const shownOnce = (page: Page) => page.locator('[data-once] input').inputValue();
  const row = (page: Page, table: string, text: string) => page.locator(`[data-table=${table}] tbody tr`, { hasText: text });
  async function confirm(page: Page, table: string, text: string, action: string) {
    await row(page, table, text).getByRole('button', { name: action }).click();
    await row(page, table, text).getByRole('button', { name: 'Confirm' }).click();
  }

  it('creates a source whose URL works at once, rotates it (the old URL works until the grace period ends) and revokes it', async () => {
    const { page } = tab;
    await signIn(tab, t.baseUrl, admin, '/settings');
    await expect.poll(() => page.locator('.tabs a').allTextContents()).toEqual(['Sources', 'API keys', 'Users', 'About']);
    await page.getByLabel('New source name').fill('Website widget');
    await page.getByRole('button', { name: 'Create source' }).click();
    const first = await shownOnce(page);
    expect(first).toMatch(new RegExp(`^${t.baseUrl}/hooks/convolo/sbt_`));
    await expect.poll(() => page.locator('[data-once]').textContent()).toContain('will not be shown again');
    expect(await webhook(first)).toBeLessThan(300);
    // Listed masked: the token's start only.
    const listed = await row(page, 'sources', 'Website widget').textContent();
    expect(listed).toContain('active');
    expect(listed).not.toContain(first.split('/').at(-1));

    await page.getByRole('button', { name: 'Done' }).click();
    await confirm(page, 'sources', 'Website widget', 'Rotate');
    await page.waitForSelector('[data-grace]');
    const second = await shownOnce(page);
    expect(second).not.toBe(first);
    expect(await page.locator('[data-grace]').textContent()).toMatch(/old URL works until \S/);
    expect(await webhook(first)).toBeLessThan(300);
    expect(await webhook(second)).toBeLessThan(300);
    clock += 24 * hour - 60_000;
    expect(await webhook(first)).toBeLessThan(300);
    clock += 2 * 60_000;
    expect(await webhook(first)).toBe(404);
    expect(await webhook(second)).toBeLessThan(300);

    await page.reload();
    await confirm(page, 'sources', 'Website widget', 'Revoke');
    await expect.poll(() => row(page, 'sources', 'Website widget').textContent()).toContain('revoked');
    expect(await webhook(second)).toBe(404);
  });

  it('creates an API key that reads at once, shows its last use, and revokes it', async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.waitForURL(`${t.baseUrl}/settings/keys`);
    await page.getByLabel('New key name').fill('curl');
    await page.getByLabel('Scope').selectOption('read');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await shownOnce(page);
    expect(key).toMatch(/^sbk_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.locator('[data-once]').textContent()).toMatch(/Copied|Selected/);
    expect(await row(page, 'keys', 'curl').locator('[data-last-used]').textContent()).toBe('never');
    expect(await readCalls(key)).toBe(200);
    await eventually(async () => {
      await page.reload();
      return (await row(page, 'keys', 'curl').locator('[data-last-used] time').count()) === 1;
    });
    await confirm(page, 'keys', 'curl', 'Revoke');
    await expect.poll(() => row(page, 'keys', 'curl').textContent()).toContain('revoked');
    expect(await readCalls(key)).toBe(401);
  });

  let invited: Tab;
  const invitedEmail = 'newcomer@example.com';
  it('invites by a link that, opened in a fresh browser, creates the user with the role and signs them in', async () => {
    const { page } = tab;
    await page.goto(`${t.baseUrl}/settings/users`);
    await page.getByLabel('Email').fill(invitedEmail);
    await page.locator('select[name=invite-role]').selectOption('viewer');
    await page.getByRole('button', { name: 'Create invitation link' }).click();
    const link = await shownOnce(page);
    expect(link).toMatch(new RegExp(`^${t.baseUrl}/setup\\?invite=`));
    await expect.poll(() => row(page, 'invitations', invitedEmail).count()).toBe(1);

    invited = await newTab(browser);
    await invited.page.goto(link);
    await expect.poll(() => invited.page.locator('.auth-card').textContent()).toContain(`invited as viewer with the email ${invitedEmail}`);
    await invited.page.getByLabel('Name').fill('New Comer');
    await invited.page.getByLabel('Password').fill(password);
    await invited.page.getByRole('button', { name: 'Join' }).click();
    await invited.page.waitForURL(`${t.baseUrl}/`);
    await invited.page.waitForSelector('.topbar h1');
    expect(await invited.page.locator('.me-role').textContent()).toBe('viewer');
    // Used: the link no longer works, and the invitation is no longer pending.
    const again = await newTab(browser);
    await again.page.goto(link);
    await again.page.waitForSelector('[data-invite=invalid]');
    await again.close();
    await page.reload();
    await expect.poll(() => row(page, 'users', invitedEmail).count()).toBe(1);
    expect(await row(page, 'invitations', invitedEmail).count()).toBe(0);
  });

  it('shows a viewer only About (no admin tab or control), and the API refuses them', async () => {
    const { page } = invited;
    await page.goto(`${t.baseUrl}/settings/keys`);
    await page.waitForSelector('[data-fact=Version]');
    expect(await page.locator('.tabs a').allTextContents()).toEqual(['About']);
    expect(await page.getByRole('button', { name: /Create|Revoke|Rotate|Remove/ }).count()).toBe(0);
    expect(await page.locator('[data-fact="Your role"]').textContent()).toBe('viewer');
    expect(await page.locator('[data-fact=Storage]').textContent()).toBe('SQLite');
    expect(await page.getByRole('link', { name: 'API documentation' }).getAttribute('href')).toBe('/docs');
    expect(await page.getByRole('link', { name: 'Metrics' }).getAttribute('href')).toBe('/metrics');
    const statuses = await page.evaluate(async () => Promise.all([
      fetch('/v1/keys').then((r: any) => r.status),
      fetch('/v1/invitations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'x@example.com', role: 'admin' }) }).then((r: any) => r.status),
    ]));
    expect(statuses).toEqual([403, 403]);
  });

  it('changes a role with effect at once, and shows last_admin where the last admin would be demoted', async () => {
    const { page } = tab;
    await row(page, 'users', invitedEmail).getByRole('combobox').selectOption('admin');
    await expect.poll(() => invited.page.evaluate(() => fetch('/v1/keys').then((r: any) => r.status))).toBe(200);
    await invited.page.goto(`${t.baseUrl}/settings/users`);
    await expect.poll(() => invited.page.locator('.tabs a').count()).toBe(4);
    await row(page, 'users', invitedEmail).getByRole('combobox').selectOption('viewer');
    await expect.poll(() => invited.page.evaluate(() => fetch('/v1/keys').then((r: any) => r.status))).toBe(403);

    await row(page, 'users', admin.email).getByRole('combobox').selectOption('viewer');
    const note = page.locator('[data-table=users] .row-error');
    await expect.poll(() => note.textContent()).toContain('last_admin');
    expect(await note.textContent()).toContain('This is the last admin');
    // The select shows the role the server kept.
    await expect.poll(() => row(page, 'users', admin.email).getByRole('combobox').inputValue()).toBe('admin');
  });

  it('lets a person change their own password: the old one then fails at login', async () => {
    const { page } = invited;
    await page.goto(`${t.baseUrl}/settings/about`);
    const next = 'another long passphrase';
    await page.getByLabel('Current password').fill('wrong password!!');
    await page.getByLabel('New password').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.locator('.error').textContent()).toContain('invalid_credentials');
    await page.getByLabel('Current password').fill(password);
    await page.getByLabel('New password').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForSelector('[data-password-changed]');
    const login = (pw: string) => fetch(`${t.baseUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: invitedEmail, password: pw }) }).then((r) => r.status);
    expect(await login(password)).toBe(401);
    expect(await login(next)).toBe(200);
    expect(invited.problems).toEqual([]);
    expect(tab.problems).toEqual([]);
  });

  it("drops the invitations a user's removal or demotion ended from the pending list at once, not at the next reload", async () => {
    const { page } = tab;
    const leaving = await addPerson(t, 'admin');
    const demoted = await addPerson(t, 'admin');
    const idOf = async (p: Person) => (await t.app.storage.users.findByEmail(p.email))!.id;
    await inviteUser(t.app.storage, { email: 'by-leaving@example.com', role: 'viewer', createdBy: await idOf(leaving) }, clock);
    await inviteUser(t.app.storage, { email: 'by-demoted@example.com', role: 'admin', createdBy: await idOf(demoted) }, clock);
    await page.goto(`${t.baseUrl}/settings/users`);
    await expect.poll(() => row(page, 'invitations', 'by-leaving@example.com').count()).toBe(1);
    expect(await row(page, 'invitations', 'by-demoted@example.com').count()).toBe(1);

    await confirm(page, 'users', leaving.email, 'Remove');
    await expect.poll(() => row(page, 'users', leaving.email).count()).toBe(0);
    await expect.poll(() => row(page, 'invitations', 'by-leaving@example.com').count()).toBe(0);
    await row(page, 'users', demoted.email).getByRole('combobox').selectOption('viewer');
    await expect.poll(() => row(page, 'invitations', 'by-demoted@example.com').count()).toBe(0);
    expect(tab.problems).toEqual([]);
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`has no serious or critical axe violation and fits 375 px (${colorScheme})`, async () => {
      const narrow = await newTab(browser, { colorScheme, width: 375, reducedMotion: 'reduce' });
      try {
        await signIn(narrow, t.baseUrl, admin, '/settings/sources');
        const failures: string[] = [];
        for (const [path, ready] of [['/settings/sources', '[data-source]'], ['/settings/keys', '[data-key]'], ['/settings/users', '[data-user]'], ['/settings/about', '[data-fact=Version]']] as const) {
          await narrow.page.goto(`${t.baseUrl}${path}`);
          await narrow.page.waitForSelector(ready);
          failures.push(...(await pageFailures(narrow.page, path)));
        }
        expect(failures).toEqual([]);
        expect(narrow.problems).toEqual([]);
      } finally {
        await narrow.close();
      }
    });
  }
});

/** About's link to /metrics: a browser's link cannot send SWITCHBOARD_METRICS_TOKEN, so with one set it is not a link to a 401. */
describe('About and the metrics token (sqlite)', () => {
  let browser: Browser;
  const started: TestApp[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const app of started) await app.close();
    await browser?.close();
  });

  it.each([
    ['none is set', '', true],
    ['one is set', 'scrape-me-7f3a9c1e5b', false],
  ])('links to /metrics only when %s', async (_, metricsToken, linked) => {
    const app = await startDashboard(await backends[0]!.freshDb(), { metricsToken });
    started.push(app);
    const person = await addPerson(app, 'viewer');
    const tab = await newTab(browser);
    try {
      await signIn(tab, app.baseUrl, person, '/settings/about');
      await tab.page.waitForSelector('[data-fact=Version]');
      expect(await tab.page.locator('a[href="/metrics"]').count()).toBe(linked ? 1 : 0);
      expect(await tab.page.locator('[data-metrics-protected]').count()).toBe(linked ? 0 : 1);
      if (!linked) expect(await tab.page.locator('[data-metrics-protected]').textContent()).toContain('Authorization: Bearer');
      expect(tab.problems).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});
