import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestApp, type TestApp } from './support/app.js';

interface Operation {
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
type Schema = { $ref?: string; properties?: Record<string, unknown> };
type Document = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };

/** Every status a route may fail with, by the scope it needs (api/responses.ts). */
const everywhere = ['400', '500', '503'];
const readScope = [...everywhere, '401', '429'];
const adminScope = [...readScope, '403'];
const adminPaths = /^\/v1\/(destinations|deliveries|sources|keys|users|invitations|prune|events\/(\{id\}\/)?reprocess)/;
/** What a viewer may read of the admin resources (destinations and deliveries, never a secret). */
const readablePaths = /^GET \/v1\/(destinations|deliveries)/;
/** Sign-in routes anyone may call (no key or session needed): they fail as any route can, and as they document. */
const publicPaths = /^\/v1\/auth\/(login|logout|setup|invitation)$/;

/** /openapi.json documents every answer: the SDK's types and readers of the document rely on it. */
describe('the OpenAPI document’s responses', () => {
  let t: TestApp;
  let operations: Array<[string, Operation]>;
  let document: Document;
  /** A schema, or the component its `$ref` names. */
  const resolve = (schema: Schema | undefined) =>
    schema?.$ref === undefined ? schema : document.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')];
  beforeAll(async () => {
    t = await startTestApp(await backends[0]!.freshDb());
    document = (await (await fetch(`${t.baseUrl}/openapi.json`)).json()) as Document;
    operations = Object.entries(document.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, Operation]));
  });
  afterAll(() => t?.close());

  it('gives every operation a success answer with a body schema or a media type, or none for a 204', () => {
    expect(operations.length).toBeGreaterThan(20);
    const missing = operations.filter(([, op]) => {
      const statuses = Object.keys(op.responses ?? {});
      const success = statuses.filter((s) => /^2/.test(s));
      return success.length === 0 || success.some((s) => s !== '204' && !Object.values(op.responses![s]!.content ?? {}).some((media) => media.schema));
    });
    expect(missing.map(([name]) => name)).toEqual([]);
  });

  it('documents the error envelope ({ error, message }) for every status each route can fail with', () => {
    const gaps: string[] = [];
    for (const [name, op] of operations) {
      const path = name.split(' ')[1]!;
      const expected = path.startsWith('/v1/') && !publicPaths.test(path) ? (adminPaths.test(path) && !readablePaths.test(name) ? adminScope : readScope) : everywhere;
      for (const status of expected) {
        const schema = resolve(op.responses?.[status]?.content?.['application/json']?.schema);
        if (!schema?.properties?.error || !schema.properties.message) gaps.push(`${name} ${status}`);
      }
    }
    expect(gaps).toEqual([]);
  });

  it('documents 404 on every route that names a resource by id, and on the ingest URL', () => {
    const byId = operations.filter(([name]) => /\{(id|call_id|token)\}/.test(name));
    const gaps = byId.filter(([, op]) => !op.responses?.['404']).map(([name]) => name);
    expect(byId.length).toBeGreaterThan(10);
    expect(gaps).toEqual([]);
  });

  it('lists the ingest URL once, as its POST, and says there what other methods get (405)', () => {
    const ingest = Object.entries(document.paths).filter(([path]) => path.startsWith('/hooks/convolo/'));
    expect(ingest.map(([path, ops]) => [path, Object.keys(ops)])).toEqual([['/hooks/convolo/{token}', ['post']]]);
    expect((ingest[0]![1].post as { description?: string }).description).toMatch(/405/);
  });

  it('describes the call list’s records field by field, nullable fields as OpenAPI 3.0 writes them', () => {
    const list = operations.find(([name]) => name === 'GET /v1/calls')![1];
    const page = list.responses!['200']!.content!['application/json']!.schema as { properties: { data: { items: { properties: Record<string, { nullable?: boolean }> } } } };
    const record = page.properties.data.items.properties;
    expect(Object.keys(record)).toEqual(expect.arrayContaining(['call_id', 'status', 'lead', 'agent', 'speed_to_lead_sec', 'first_event_at', 'event_count']));
    expect(record.ended_at!.nullable).toBe(true);
    expect(record.lead!.nullable).toBe(true);
  });
});
