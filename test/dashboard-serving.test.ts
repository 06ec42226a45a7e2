import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardDir, dashboardPaths } from '../src/api/dashboard.js';
import { backends, startTestApp, type TestApp } from './support/app.js';

/** How the process serves the dashboard (api/dashboard.ts): its pages' HTML, its hashed files, and nothing else. */
describe('serving the dashboard', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backends[0]!.freshDb());
  });
  afterAll(() => t?.close());

  it('is built (npm run build) into dist/web with no inline script', async () => {
    expect(existsSync(`${dashboardDir}index.html`)).toBe(true);
    const html = await (await fetch(`${t.baseUrl}/`)).text();
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/[\w-]+\.js"><\/script>/);
    expect(html.match(/<script\b[^>]*>/g)!.every((tag) => / src="/.test(tag))).toBe(true);
  });

  it('answers the app for every dashboard path, not cached, under its strict policy', async () => {
    const paths = dashboardPaths.map((p) => p.replace(':callId', 'call-1').replace(':destinationId', 'dst_1').replace(':tab', 'users'));
    for (const path of [...paths, '/calls/a%20b?status=answered', '/setup?token=x']) {
      const response = await fetch(`${t.baseUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const csp = response.headers.get('content-security-policy')!;
      for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'"]) {
        expect(csp, path).toContain(directive);
      }
      expect(csp).not.toMatch(/unsafe|\*/);
    }
  });

  it('serves the hashed files for a year, and 404 JSON for anything else: unknown /v1/ paths, assets, pages', async () => {
    const files = readdirSync(`${dashboardDir}assets`);
    for (const file of files) {
      const response = await fetch(`${t.baseUrl}/assets/${file}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    for (const path of ['/v1/nothing', '/v1/calls/x/nothing', '/assets/nope.js', '/assets/../index.html', '/calls/a/b', '/wp-admin']) {
      const response = await fetch(`${t.baseUrl}${path}`);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type'), path).toMatch(/^application\/json/);
    }
    // The API and the ops routes are as they were.
    expect((await fetch(`${t.baseUrl}/v1/calls`)).status).toBe(401);
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.baseUrl}/openapi.json`)).status).toBe(200);
  });
});
