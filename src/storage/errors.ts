import { AppError } from '../domain/errors.js';

/**
 * The database errors that are not the server's fault, as the API answers them (api/errors.ts): a write
 * lock held by another process past the busy timeout (SQLite's SQLITE_BUSY, e.g. the CLI pruning the same
 * file) is 503 `storage_unavailable` with Retry-After, a read cancelled by PostgreSQL's statement_timeout
 * (57014) is 503 `query_timeout` (SQLite's reader threads throw that one themselves), and a database that
 * cannot be reached (refused, reset, timed out, shutting down, out of connections) or a transaction that
 * may succeed when tried again (40001, 40P01) is 503 `storage_unavailable`, so callers retry instead of
 * reading a 500. Anything else: null.
 */
export function storageAppError(error: Error): AppError | null {
  const code = (error as { code?: unknown }).code;
  // node-postgres ends a query whose connection drops with a plain Error and no code, and so a wait for a
  // connection past the pool's connectionTimeoutMillis, and a statement past its query_timeout.
  if (typeof code !== 'string') return /^(Connection terminated|timeout exceeded when trying to connect$|Query read timeout$)/.test(error.message) ? unreachable(error) : null;
  if (unreachableCodes.has(code) || code.startsWith('08')) return unreachable(error);
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_')) {
    return new AppError('database_locked', {}, { cause: error });
  }
  if (code === '57014') return new AppError('query_timeout', {}, { cause: error });
  // A serialization failure or deadlock past the append's own retries, or a read a hot standby cancelled to
  // replay the primary's changes (40001, "conflict with recovery"): the same request may succeed again.
  if (code === '40001' || code === '40P01') return unreachable(error);
  return null;
}

/**
 * Socket errors, and PostgreSQL's: class 08 (connection exception), 57P01–57P03 (the server shutting down or
 * starting), 53300 (too many connections).
 */
const unreachableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '53300']);

const unreachable = (cause: Error) =>
  new AppError('database_unavailable', {}, { cause });
