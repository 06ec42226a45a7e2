import { AppError } from '../domain/errors.js';

/**
 * The database errors that are not the server's fault, as the API answers them (api/errors.ts): a write
 * lock held by another process past the busy timeout (SQLite's SQLITE_BUSY, e.g. the CLI pruning the same
 * file) is 503 `storage_unavailable` with Retry-After, a read cancelled by PostgreSQL's statement_timeout
 * (57014) is 503 `query_timeout` (SQLite's reader threads throw that one themselves). Anything else: null.
 */
export function storageAppError(error: Error): AppError | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_')) {
    return new AppError('storage_unavailable', {}, { message: 'The database is locked by another process; nothing was changed. Retry later.', cause: error });
  }
  if (code === '57014') return new AppError('query_timeout', {}, { cause: error });
  return null;
}
