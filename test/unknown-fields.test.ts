import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestApp, type TestApp } from './support/app.js';

/** A field the API does not know is a mistake worth saying (`{"paused": true}` once changed nothing, silently; it is a setting now). */
describe.each(backends)('unknown fields in request bodies on $name', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb(), { allowPrivateDestinations: true });
  });
  afterAll(() => t.close());

  it('every route taking a body, the ingest excepted, refuses an unknown field with 400 invalid_request naming it', async () => {
    const routes = t.app.routes.filter((r) => ['POST', 'PATCH', 'PUT', 'DELETE'].includes(r.method) && !r.url.startsWith('/hooks/'));
    expect(routes.map((r) => `${r.method} ${r.url}`)).toEqual(expect.arrayContaining([
      'POST /v1/destinations', 'PATCH /v1/destinations/:id', 'POST /v1/destinations/:id/replay', 'POST /v1/destinations/:id/test',
      'POST /v1/keys', 'POST /v1/sources', 'POST /v1/deliveries/:id/retry', 'POST /v1/events/reprocess',
    ]));
    for (const route of routes) {
      const path = route.url.replaceAll(/:[a-z_]+/g, 'x_unknown');
      const answer = await t.request(route.method, path, { muted: true });
      expect(answer, `${route.method} ${route.url}`).toMatchObject({
        status: 400, body: { error: 'invalid_request', message: 'unknown field(s): muted', fields: ['muted'] },
      });
    }
  });

  it('PATCH /v1/destinations/{id} with {"muted": true} answers 400, names every unknown field and changes nothing', async () => {
    const created = await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/hook', description: 'before' });
    expect(created.status).toBe(201);
    const answer = await t.request('PATCH', `/v1/destinations/${created.body.id}`, { description: 'after', muted: true, colour: 'red' });
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_request', message: 'unknown field(s): muted, colour', fields: ['muted', 'colour'] } });
    expect((await t.request('GET', `/v1/destinations/${created.body.id}`)).body.description).toBe('before');
  });

  it('still takes known fields, an empty object or no body at all', async () => {
    const created = await t.request('POST', '/v1/destinations', { url: 'http://127.0.0.1:9/hook' });
    expect((await t.request('PATCH', `/v1/destinations/${created.body.id}`, { disabled: true, description: null })).status).toBe(200);
    expect((await t.request('PATCH', `/v1/destinations/${created.body.id}`, { paused: true })).body.paused_at).toEqual(expect.any(String));
    expect((await t.request('POST', `/v1/destinations/${created.body.id}/retry-failed`)).status).toBe(202);
    expect((await t.request('POST', `/v1/destinations/${created.body.id}/replay`)).status).toBe(202);
    expect((await t.request('POST', `/v1/destinations/${created.body.id}/replay`, {})).status).toBe(202);
    expect((await t.request('POST', `/v1/destinations/${created.body.id}/rotate-secret`, {})).status).toBe(200);
    expect((await t.request('POST', `/v1/destinations/${created.body.id}/rotate-secret`)).status).toBe(200);
    expect((await t.request('POST', '/v1/keys', { name: 'k', scope: 'read' })).status).toBe(201);
  });
});
