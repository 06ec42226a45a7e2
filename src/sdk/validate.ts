import type { TSchema } from '@sinclair/typebox';

/**
 * One thing wrong with a value: where (a JSON pointer, `''` for the value itself) and what.
 *
 * @example
 * const problem: ValidationProblem = { path: '/talk_duration_sec', message: 'expected a number or null, got a string' };
 */
export interface ValidationProblem {
  path: string;
  message: string;
}

/**
 * What every validator of the SDK returns: the typed value, or every problem found (not just the first),
 * so a log line says all that is wrong at once.
 *
 * @example
 * const result = validateConvoloPayload(JSON.parse(body));
 * if (!result.ok) console.warn(result.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
 */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: ValidationProblem[] };

/**
 * Thrown by the `assert…` validators. `code` is stable (`invalid_payload`); `errors` lists every problem.
 *
 * @example
 * try {
 *   assertConvoloPayload(body);
 * } catch (error) {
 *   if (error instanceof ValidationError) console.warn(error.errors);
 * }
 */
export class ValidationError extends Error {
  readonly code = 'invalid_payload' as const;
  constructor(
    readonly errors: ValidationProblem[],
    what = 'value',
  ) {
    super(`Invalid ${what}: ${errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}`);
    this.name = 'ValidationError';
  }
}

/** The result of a check, typed as T when it found no problem. */
export function resultOf<T>(value: unknown, errors: ValidationProblem[]): ValidationResult<T> {
  return errors.length === 0 ? { ok: true, value: value as T } : { ok: false, errors };
}

/** The value when the result is ok, else a ValidationError naming `what`. */
export function valueOrThrow<T>(result: ValidationResult<T>, what: string): T {
  if (!result.ok) throw new ValidationError(result.errors, what);
  return result.value;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Checks a value against the small subset of TypeBox the domain's Convolo schemas use (objects, strings,
 * numbers, booleans, null, literals, unions, records, unknown). TypeBox's own `Value.Errors` reports a
 * nullable field as "Expected union value" and hides what is wrong inside a nested object; this says
 * "expected a number or null, got a string" at the exact path, from the same schemas.
 */
export function checkSchema(schema: TSchema, value: unknown, path: string, errors: ValidationProblem[]): void {
  if (schema.anyOf) {
    const members = schema.anyOf as TSchema[];
    if (members.some((member) => problemsOf(member, value).length === 0)) return;
    // An object that fails: report what is wrong inside it rather than "not any of".
    const objectMember = members.find((member) => member.type === 'object');
    if (objectMember && isObject(value)) return checkSchema(objectMember, value, path, errors);
    errors.push({ path, message: `expected ${members.map(expected).join(' or ')}, got ${describeValue(value)}` });
    return;
  }
  if (schema.const !== undefined) {
    if (value !== schema.const) errors.push({ path, message: `expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value) ?? 'nothing'}` });
    return;
  }
  if (schema.type === undefined) return; // Unknown: anything goes.
  if (!matchesType(schema.type as string, value)) {
    errors.push({ path, message: `expected ${expected(schema)}, got ${describeValue(value)}` });
    return;
  }
  if (schema.type !== 'object' || !schema.properties) return;
  const object = value as Record<string, unknown>;
  for (const key of (schema.required as string[] | undefined) ?? []) {
    if (object[key] === undefined) errors.push({ path: `${path}/${key}`, message: 'is required' });
  }
  for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
    if (object[key] !== undefined) checkSchema(property, object[key], `${path}/${key}`, errors);
  }
}

function problemsOf(schema: TSchema, value: unknown): ValidationProblem[] {
  const errors: ValidationProblem[] = [];
  checkSchema(schema, value, '', errors);
  return errors;
}

function matchesType(type: string, value: unknown): boolean {
  if (type === 'object') return isObject(value);
  if (type === 'null') return value === null;
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value);
  return typeof value === type;
}

function expected(schema: TSchema): string {
  if (schema.anyOf) return (schema.anyOf as TSchema[]).map(expected).join(' or ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  return schema.type === 'object' ? 'an object' : schema.type === 'null' ? 'null' : `a ${schema.type as string}`;
}
