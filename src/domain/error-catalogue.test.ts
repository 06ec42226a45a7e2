import { describe, expect, it } from 'vitest';
import { defineErrors, fillTemplate } from './error-catalogue.js';

describe('fillTemplate', () => {
  it('fills each {slot} with its parameter and leaves other braces as they are', () => {
    expect(fillTemplate('No {what} has this {key}.', { what: 'call', key: 'call_id' })).toBe('No call has this call_id.');
    expect(fillTemplate('such as {"a":1} or {n} or {missing}', { n: 2 })).toBe('such as {"a":1} or 2 or {missing}');
    expect(fillTemplate('{a} and {b}', { a: '{b}', b: '$&' })).toBe('{b} and $&');
  });
});

describe('defineErrors', () => {
  const errors = defineErrors({
    not_found: { status: 404, message: 'Nothing here.' },
    no_such_id: { code: 'not_found', status: 404, message: 'No {what} has this id.' },
    busy: { status: 503, message: 'Busy.', retryAfterSec: 1 },
  });

  it('resolves an entry to the code clients read, its status, its filled template and its Retry-After', () => {
    expect(errors.resolve('no_such_id', { what: 'widget' })).toEqual({ kind: 'no_such_id', code: 'not_found', status: 404, message: 'No widget has this id.', retryAfterSec: undefined });
    expect(errors.resolve('busy')).toMatchObject({ code: 'busy', retryAfterSec: 1 });
    expect(errors.codes).toEqual(['not_found', 'busy']);
  });

  it('refuses an entry that words a code without answering as that code does', () => {
    expect(() => defineErrors({ gone: { code: 'not_found', status: 410, message: 'Gone.' }, not_found: { status: 404, message: '?' } })).toThrow(/gone answers not_found/);
    expect(() => defineErrors({ gone: { code: 'missing', status: 404, message: 'Gone.' } })).toThrow(/gone answers missing/);
    expect(() => defineErrors({ locked: { code: 'busy', status: 503, message: 'Locked.' }, busy: { status: 503, message: 'Busy.', retryAfterSec: 1 } })).toThrow(/retryAfterSec/);
  });
});
