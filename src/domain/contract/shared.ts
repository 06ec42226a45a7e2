import { Type, type Static, type TSchema, type SchemaOptions } from '@sinclair/typebox';

/**
 * `schema` or null, written the OpenAPI 3.0 way (`nullable: true`) rather than as an `anyOf` with null:
 * ajv, @fastify/swagger and fast-json-stringify all read it, and fast-json-stringify then writes the value
 * directly instead of validating it against each branch of an `anyOf` (slower, and it throws on a mismatch).
 *
 * @example
 * const EndedAt = Nullable(Type.String({ format: 'date-time' })); // string | null
 */
export const Nullable = <T extends TSchema>(schema: T, options: SchemaOptions = {}) =>
  Type.Unsafe<Static<T> | null>({ ...schema, nullable: true, ...options });

/**
 * One of a few strings, as a plain `enum` (TypeBox's union of literals is an `anyOf` of `const`s).
 *
 * @example
 * const Scope = StringEnum(['read', 'admin']); // 'read' | 'admin'
 */
export const StringEnum = <const T extends readonly string[]>(values: T, options: SchemaOptions = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

/** An instant on the wire: ISO 8601 in UTC (`2026-11-27T09:30:00.000Z`). */
export const IsoTime = (options: SchemaOptions = {}) => Type.String({ format: 'date-time', ...options });

/**
 * A page of a list: `next_cursor` is null on the last page.
 *
 * @example
 * const CallPage = Page(CallRecord, Type.String()); // { data: CallRecord[]; next_cursor: string | null }
 */
export const Page = <T extends TSchema, C extends TSchema>(item: T, cursor: C) =>
  Type.Object({
    data: Type.Array(item),
    next_cursor: Nullable(cursor, { description: 'Pass it as `cursor` for the next page; null on the last page.' }),
  });

/** A list that is not paged: every item at once. */
export const List = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item) });

/** The answer with no body (a deletion): @fastify/swagger documents a `null` schema without content. */
export const NoContent = Type.Unsafe<void>({ type: 'null', description: 'Done; no body.' });
