import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError, apiErrors, type ErrorKind } from './errors.js';

const { catalogue, codes } = apiErrors;
const kinds = Object.keys(catalogue) as ErrorKind[];
const readmeUrl = new URL('../../README.md', import.meta.url);

describe('the API error catalogue', () => {
  it('is not empty and its kinds and codes are snake_case', () => {
    expect(codes.length).toBeGreaterThan(0);
    for (const name of [...kinds, ...codes]) expect(name).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it.each(kinds)('%s has a 4xx or 5xx status and a message', (kind) => {
    const { status, message } = catalogue[kind];
    expect(Number.isInteger(status)).toBe(true);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
    expect(message.trim().length).toBeGreaterThan(0);
  });
});


describe('AppError', () => {
  it('carries Retry-After seconds where nothing was kept (its code\'s), or its own retry_after_sec', () => {
    expect(new AppError('storage_unavailable').retryAfterSec).toBe(1);
    expect(new AppError('overloaded').retryAfterSec).toBe(1);
    expect(new AppError('shutting_down').retryAfterSec).toBe(1);
    expect(new AppError('rate_limited', { retry_after_sec: 7 }).retryAfterSec).toBe(7);
    expect(new AppError('not_found').retryAfterSec).toBeUndefined();
    expect(new AppError('internal').retryAfterSec).toBeUndefined();
  });

  it('takes its status and message from the catalogue', () => {
    const error = new AppError('unknown_source');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('AppError');
    expect(error.code).toBe('unknown_source');
    expect(error.status).toBe(catalogue.unknown_source.status);
    expect(error.message).toBe(catalogue.unknown_source.message);
    expect(error.extra).toEqual({});
  });

  it('serialises to { error, message, ...extra }', () => {
    const error = new AppError('invalid_event', { fields: ['type'], detail: '"type" is missing' });
    expect(error.toJSON()).toEqual({
      error: 'invalid_event', message: catalogue.invalid_event.message, fields: ['type'], detail: '"type" is missing',
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON());
  });

  it('serialises neither the cause nor the stack', () => {
    const error = new AppError('internal', {}, { cause: new Error('db password wrong') });
    expect(error.cause).toBeInstanceOf(Error);
    const json = JSON.stringify(error);
    expect(json).not.toContain('db password');
    expect(json).not.toContain('stack');
    expect(Object.keys(error.toJSON())).toEqual(['error', 'message']);
  });

  it('words its code for one case with the template of its kind, filled with the parameters', () => {
    const error = new AppError('no_such_id', {}, { params: { what: 'destination' } });
    expect(error.toJSON()).toEqual({ error: 'not_found', message: 'No destination has this id.' });
    expect([error.kind, error.status]).toEqual(['no_such_id', 404]);
    // @ts-expect-error: the template's parameters are required
    expect(new AppError('no_such_id').message).toBe('No {what} has this id.');
  });
});

describe('every error code is documented', () => {
  const readme = existsSync(readmeUrl) ? readFileSync(readmeUrl, 'utf8') : null;

  it('README.md exists', () => {
    expect(readme, `no README.md at ${readmeUrl.pathname}`).not.toBeNull();
  });

  it.each(codes)('README.md mentions `%s`', (code) => {
    expect(readme ?? '', `README.md is missing at ${readmeUrl.pathname}`).toContain(`\`${code}\``);
  });
});
