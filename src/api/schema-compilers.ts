import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * Fastify's schema compilers, with what they compile kept for the process. Fastify compiles every route's
 * schemas when a server boots — Ajv validators and fast-json-stringify serializers, about a third of a second
 * of CPU for this API — and a new server compiled them all again. A process that builds many servers (the
 * test suite builds about a thousand) now compiles each schema once.
 *
 * A compiled function is reused only for the same schema under the same options and shared schemas (the key
 * is their JSON): it is then the same code Ajv or fast-json-stringify would have generated again.
 *
 * @example
 * Fastify({ schemaController: { compilersFactory: sharedCompilers } })
 */
export const sharedCompilers: CompilersFactory = {
  buildValidator: keptFor(AjvCompiler(), (options) => (options as { customOptions?: unknown }).customOptions),
  buildSerializer: keptFor(SerializerSelector(), (options) => options),
};

/** The factory `build` (shared schemas, options → a route's compiler), each route's result kept by its key. */
// The two compilers' types differ only in what a route carries beside its schema: typed loosely here.
function keptFor(build: (externalSchemas: any, options: any) => (route: any) => unknown, keyedOptions: (options: unknown) => unknown): any {
  const compiled = new Map<string, unknown>();
  return (externalSchemas: unknown, options: unknown) => {
    const compile = build(externalSchemas, options);
    const context = JSON.stringify([externalSchemas, keyedOptions(options)]);
    return (route: { schema: unknown }) => {
      const key = `${context}${JSON.stringify(route.schema)}`;
      let done = compiled.get(key);
      if (done === undefined) {
        done = compile(route);
        compiled.set(key, done);
      }
      return done;
    };
  };
}
