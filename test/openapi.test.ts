import { Validator } from '@seriousme/openapi-schema-validator';
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
});
