import pino from 'pino';

/**
 * PostgreSQL's error fields that can quote the data a statement touched: `where` holds the CONTEXT line (for
 * a jsonb cast, the start of the row's JSON: a lead's name, phone, email), `detail` the offending key or
 * value (`Key (call_id)=(…) already exists`), `hint` and `internalQuery` likewise. Logs keep the rest: the
 * SQLSTATE `code`, `severity`, `routine`, and the schema, table, column and constraint names.
 */
const dataFields = new Set(['detail', 'hint', 'where', 'internalQuery', 'position', 'internalPosition']);

/** An error from the database driver: node-postgres's DatabaseError has a severity and a SQLSTATE code. */
function isDatabaseError(error: Error): boolean {
  const e = error as Error & { severity?: unknown; code?: unknown };
  return typeof e.severity === 'string' && typeof e.code === 'string';
}

/**
 * A value that a conversion error quotes at the end of its message (`invalid input syntax for type bigint:
 * "…"`) is cut; the message stays readable.
 */
const quietMessage = (message: string) => message.replace(/: ".*"$/s, ': "…"');

/**
 * The copy of an error chain (its causes and an AggregateError's errors) that may be logged: database errors
 * without the fields above and without a quoted value in their message or stack. Other errors are kept as
 * they are, and a chain with no database error in it is returned itself.
 */
export function withoutDatabaseData(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 8) return error;
  const cause: unknown = (error as Error & { cause?: unknown }).cause;
  const cleanCause = withoutDatabaseData(cause, depth + 1);
  const errors = error instanceof AggregateError ? error.errors.map((e: unknown) => withoutDatabaseData(e, depth + 1)) : null;
  const isDb = isDatabaseError(error);
  if (!isDb && cleanCause === cause && (errors === null || errors.every((e, i) => e === (error as AggregateError).errors[i]))) return error;
  // Same prototype, so the log still names the type (DatabaseError, AppError).
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error & Record<string, unknown>;
  for (const key of Object.keys(error)) if (!(isDb && dataFields.has(key))) copy[key] = (error as unknown as Record<string, unknown>)[key];
  const message = isDb ? quietMessage(error.message) : error.message;
  const define = (key: string, value: unknown) => Object.defineProperty(copy, key, { value, enumerable: false, writable: true, configurable: true });
  define('message', message);
  define('stack', isDb && error.stack ? error.stack.replace(error.message, message) : error.stack);
  if (cause !== undefined) define('cause', cleanCause);
  if (errors !== null) define('errors', errors);
  return copy;
}

/**
 * The logger's `err` serializer: pino's own, over `withoutDatabaseData`. A failed query's log line then says
 * what failed (code, message, where in our code) and never what was in the row.
 */
export function serializeError(error: Error): pino.SerializedError {
  return pino.stdSerializers.err(withoutDatabaseData(error) as Error);
}
