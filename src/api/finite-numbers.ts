import type { preHandlerHookHandler, RouteOptions } from 'fastify';
import { AppError } from '../domain/errors.js';

/**
 * Refuses a request whose validated query, path, headers or body hold a number that is not finite. ajv
 * coerces a numeric text that overflows a double (`?limit=1e309`, `{"retention_days": "-1e309"}`) to
 * ±Infinity and then skips the type's finiteness check and every bound (ajv-validator/ajv#2212,
 * fastify/fastify#6718): such a value reached the routes as a limit, a cursor, a retention (-Infinity days
 * pruned every event) or a destination's concurrency. For `onRoute`: a route whose schema declares a number
 * or an integer in a part checks that part after validation (a preHandler); other routes get no hook.
 * A JSON body's own `1e309` is refused by ajv already (a number that is not finite is not a number there).
 *
 * @example
 * server.addHook('onRoute', refuseNonFiniteNumbers);
 * // GET /v1/events?limit=1e309 → 400 {"error":"invalid_request",…,"detail":"querystring/limit must be a finite number"}
 */
export function refuseNonFiniteNumbers(route: RouteOptions): void {
  const schema = route.schema as Record<string, unknown> | undefined;
  if (!schema) return;
  const parts = (
    [['querystring', schema.querystring ?? schema.query, 'query'], ['params', schema.params, 'params'], ['headers', schema.headers, 'headers'], ['body', schema.body, 'body']] as const
  ).filter(([, part]) => declaresNumber(part));
  if (parts.length === 0) return;
  const check: preHandlerHookHandler = (request, _reply, done) => {
    for (const [name, , field] of parts) {
      const path = nonFinitePath(request[field]);
      if (path !== undefined) return done(new AppError('invalid_request', { detail: `${name}${path} must be a finite number` }));
    }
    done();
  };
  route.preHandler = [check, ...[route.preHandler ?? []].flat()];
}

/** Whether a JSON schema (TypeBox's, a tree) types anything as a number or an integer. */
function declaresNumber(schema: unknown): boolean {
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === null || typeof item !== 'object') continue;
    const type = (item as { type?: unknown }).type;
    if ([type].flat().some((t) => t === 'number' || t === 'integer')) return true;
    stack.push(...Object.values(item));
  }
  return false;
}

/** The path (`/limit`, `/a/0`) of the first number in `value` that is not finite, else undefined. */
function nonFinitePath(value: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) return path;
    } else if (item !== null && typeof item === 'object' && !Buffer.isBuffer(item)) {
      for (const [key, child] of Object.entries(item)) stack.push([child, `${path}/${key}`]);
    }
  }
  return undefined;
}
