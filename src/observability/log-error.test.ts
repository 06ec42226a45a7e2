import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import { serializeError, withoutDatabaseData } from './log-error.js';

/** A DatabaseError as node-postgres builds it from a failed jsonb cast (fields as PostgreSQL 15 sends them). */
function jsonbError(): pg.DatabaseError {
  const error = new pg.DatabaseError('unsupported Unicode escape sequence', 200, 'error');
  Object.assign(error, {
    severity: 'ERROR', code: '22P05', routine: 'json_ereport_error',
    detail: '\\u0000 cannot be converted to text.',
    where: 'JSON data, line 1: {"lead_name":"Ada Lovelace","lead_phone":"+46701234567","x":"\\u0000...\nunnamed portal parameter $1 = \'...\'',
  });
  return error;
}

describe('serializeError (the logger\'s err serializer)', () => {
  it('keeps the code, severity and message of a database error, and none of the row it quoted', () => {
    const logged = JSON.stringify(serializeError(jsonbError()));
    expect(logged).toContain('22P05');
    expect(logged).toContain('unsupported Unicode escape sequence');
    expect(logged).toContain('DatabaseError');
    expect(logged).not.toContain('46701234567');
    expect(logged).not.toContain('Lovelace');
    expect(logged).not.toContain('cannot be converted');
  });

  it('cleans a database error that is the cause of another one or one of an AggregateError, message and stack included', () => {
    const conversion = Object.assign(new pg.DatabaseError('invalid input syntax for type bigint: "+46701234567"', 100, 'error'), { severity: 'ERROR', code: '22P02' });
    const wrapped = JSON.stringify(serializeError(new AppError('storage_unavailable', {}, { cause: conversion })));
    expect(wrapped).toContain('invalid input syntax for type bigint: \\"…\\"');
    expect(wrapped).not.toContain('46701234567');
    const both = JSON.stringify(serializeError(new AggregateError([jsonbError(), conversion], 'both failed')));
    expect(both).toContain('22P05');
    expect(both).not.toContain('46701234567');
    expect(both).not.toContain('Lovelace');
  });

  it('leaves every other error as it is', () => {
    const plain = Object.assign(new Error('disk full'), { code: 'ENOSPC', detail: 'kept: not from the database' });
    expect(withoutDatabaseData(plain)).toBe(plain);
    const chain = new Error('outer', { cause: new TypeError('inner') });
    expect(withoutDatabaseData(chain)).toBe(chain);
    expect(JSON.stringify(serializeError(plain))).toContain('kept: not from the database');
  });
});
