import { Validator } from '@seriousme/openapi-schema-validator';
import { dashboardPaths } from '../src/api/dashboard.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestApp, type TestApp } from './support/app.js';

/** GET /openapi.json: generated from the schemas that validate the requests, valid, and complete. */
describe('the OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backends[0]!.freshDb());
  });
  afterAll(() => t?.close());

  it('is a valid OpenAPI 3 document, served without a key', async () => {
    const response = await fetch(`${t.baseUrl}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { info: { title: string } };
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)?.slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.info.title).toBe('Switchboard');
  });

  it('lists every route the server has, with its method', async () => {
    const document = (await (await fetch(`${t.baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const served = t.app.routes
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && r.url !== '/openapi.json' && !r.url.startsWith('/docs'))
      // The dashboard's pages and files are not API (api/dashboard.ts).
      .filter((r) => !(dashboardPaths as readonly string[]).includes(r.url) && !r.url.startsWith('/assets/'))
      // The ingest URL's other methods only answer 405: the POST's description says so (api/hooks.ts).
      .filter((r) => !(r.url === '/hooks/convolo/:token' && r.method !== 'POST'))
      // Fastify's `:param` is OpenAPI's `{param}`.
      .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
    expect(served.length).toBeGreaterThan(20);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
    for (const route of ['POST /hooks/convolo/{token}', 'GET /v1/stream', 'POST /v1/destinations', 'GET /v1/deliveries', 'GET /v1/calls/{call_id}']) {
      expect(documented.has(route), route).toBe(true);
    }
  });

  it('serves the browsable docs at /docs', async () => {
    const response = await fetch(`${t.baseUrl}/docs`, { redirect: 'follow' });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/swagger/i);
  });

  it('serves /docs with a strict Content-Security-Policy that forbids framing, nosniff and no referrer', async () => {
    const response = await fetch(`${t.baseUrl}/docs`, { redirect: 'follow' });
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = directives(response.headers.get('content-security-policy'));
    expect(csp.get('frame-ancestors')).toBe("'none'");
    expect(csp.get('default-src')).toBe("'none'");
    expect(csp.get('script-src')).toBe("'self'");
    expect(csp.get('object-src') ?? csp.get('default-src')).toBe("'none'");
    expect(csp.get('base-uri')).toBe("'none'");
    for (const value of csp.values()) expect(value).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('sends frame-ancestors none, nosniff and no referrer on every other answer too: JSON, CSV, errors', async () => {
    const auth = { authorization: `Bearer ${t.adminKey}` };
    for (const [path, headers] of [['/openapi.json', {}], ['/v1/calls', auth], ['/v1/calls.csv', auth], ['/v1/calls', {}], ['/nowhere', {}], ['/docs/static/swagger-ui.css', {}]] as const) {
      const response = await fetch(`${t.baseUrl}${path}`, { headers });
      await response.arrayBuffer();
      const csp = directives(response.headers.get('content-security-policy'));
      expect(csp.get('frame-ancestors'), path).toBe("'none'");
      expect(csp.get('default-src'), path).toBe("'none'");
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });

  it('answers an ingest post with the security headers and no CORS header; the API keeps CORS', async () => {
    const origin = { origin: 'https://crm.example.com' };
    const body = JSON.stringify({ type: 'start_call', call_id: 'cors-check' });
    for (const url of [t.ingestUrl, `${t.baseUrl}/hooks/convolo/sbt_unknown`]) {
      const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...origin }, body });
      await answer.arrayBuffer();
      expect([200, 404], url).toContain(answer.status);
      expect(directives(answer.headers.get('content-security-policy')).get('frame-ancestors')).toBe("'none'");
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    }
    const api = await fetch(`${t.baseUrl}/v1/calls`, { headers: { authorization: `Bearer ${t.adminKey}`, ...origin } });
    expect(api.status).toBe(200);
    expect(api.headers.get('access-control-allow-origin')).toBe('*');
  });
});

/** A CSP header as directive → value. */
function directives(header: string | null): Map<string, string> {
  expect(header).not.toBeNull();
  return new Map(header!.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
    const [name, ...values] = d.split(/\s+/);
    return [name!, values.join(' ')] as const;
  }));
}
