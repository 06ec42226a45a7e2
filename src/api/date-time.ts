import { AppError } from '../domain/errors.js';

/**
 * A `format: 'date-time'` value as epoch milliseconds. The format admits what names no instant JavaScript can
 * hold (a leap second, `…T23:59:60Z`): that is a 400 `invalid_request` naming the parameter, never NaN
 * handed to a query (SQLite compared nothing with it, PostgreSQL failed the statement).
 */
export function time(name: string, value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new AppError('invalid_request', { detail: `${name} must be an ISO 8601 date-time` });
  return ms;
}
