import { describe, expect, it } from 'vitest';
import { storageAppError } from './errors.js';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('storageAppError', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '08006', '08001', '57P01', '57P03', '53300'])('answers %s as 503 storage_unavailable', (code) => {
    const error = storageAppError(withCode(code));
    expect(error?.code).toBe('storage_unavailable');
    expect(error?.status).toBe(503);
  });

  it("answers node-postgres' dropped connection (no code) as storage_unavailable", () => {
    expect(storageAppError(new Error('Connection terminated unexpectedly'))?.code).toBe('storage_unavailable');
    expect(storageAppError(new Error('Connection terminated due to connection timeout'))?.code).toBe('storage_unavailable');
  });

  it('answers a lock held by another process as storage_unavailable and a cancelled statement as query_timeout', () => {
    expect(storageAppError(withCode('SQLITE_BUSY'))?.code).toBe('storage_unavailable');
    expect(storageAppError(withCode('57014'))?.code).toBe('query_timeout');
  });

  it('answers a transaction worth trying again (a hot standby cancelling a read, a deadlock) as storage_unavailable', () => {
    const cancelled = Object.assign(new Error('canceling statement due to conflict with recovery'), { code: '40001' });
    expect(storageAppError(cancelled)?.code).toBe('storage_unavailable');
    expect(storageAppError(withCode('40P01'))?.code).toBe('storage_unavailable');
  });

  it('leaves every other error to the plain 500', () => {
    expect(storageAppError(new Error('syntax error at or near "selct"'))).toBeNull();
    expect(storageAppError(withCode('42601'))).toBeNull();
    expect(storageAppError(withCode('SQLITE_CONSTRAINT_UNIQUE'))).toBeNull();
  });
});
