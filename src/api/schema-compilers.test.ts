import { createRequire } from 'node:module';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedCompilers } from './schema-compilers.js';

// The Ajv that @fastify/ajv-compiler compiles with (a dependency of it, not of this project).
const fromCompiler = createRequire(createRequire(import.meta.url).resolve('@fastify/ajv-compiler'));
const Ajv = fromCompiler('ajv') as { prototype: { compile(schema: unknown): unknown } };

function server(body: object, response: object) {
  const app = Fastify({ schemaController: { compilersFactory: sharedCompilers } });
  app.post('/things', { schema: { body, response: { 200: response } } }, async (request) => ({ ...(request.body as object), extra: 'not in the schema' }));
  return app;
}

describe('schema compilers shared by the servers of one process', () => {
  afterEach(() => vi.restoreAllMocks());

  it('compile a schema once for every server that uses it, and each server still validates and serializes by its own schemas', async () => {
    const compile = vi.spyOn(Ajv.prototype, 'compile');
    const unique = `field_${Math.random().toString(36).slice(2)}`;
    const body = { type: 'object', required: [unique], properties: { [unique]: { type: 'integer' } } };
    const response = { type: 'object', properties: { [unique]: { type: 'integer' } } };
    const [first, second] = [server(body, response), server(structuredClone(body), structuredClone(response))];
    // The same path with another schema: its own validator, not the one kept for the first.
    const other = server({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } }, { type: 'object', properties: { name: { type: 'string' } } });
    try {
      await first.ready();
      const afterFirst = compile.mock.calls.length;
      expect(afterFirst).toBeGreaterThan(0);
      await second.ready();
      expect(compile.mock.calls.length, 'the same schemas again: nothing compiled').toBe(afterFirst);
      await other.ready();
      expect(compile.mock.calls.length).toBeGreaterThan(afterFirst);

      for (const app of [first, second]) {
        expect((await app.inject({ method: 'POST', url: '/things', payload: { [unique]: 'x' } })).statusCode).toBe(400);
        const ok = await app.inject({ method: 'POST', url: '/things', payload: { [unique]: 3 } });
        expect(ok.json()).toEqual({ [unique]: 3 });
      }
      expect((await other.inject({ method: 'POST', url: '/things', payload: { [unique]: 3 } })).statusCode).toBe(400);
      expect((await other.inject({ method: 'POST', url: '/things', payload: { name: 'n' } })).json()).toEqual({ name: 'n' });
    } finally {
      await Promise.all([first.close(), second.close(), other.close()]);
    }
  });
});
