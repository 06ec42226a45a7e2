import type { FastifyError } from 'fastify';
import { describe, expect, it } from 'vitest';
import { toAppError } from './errors.js';

/** A validation error as Fastify hands ajv's first error to the error handler. */
function validationError(error: { keyword: string; instancePath: string; params: Record<string, unknown> }): FastifyError {
  return Object.assign(new Error('body must NOT have additional properties'), {
    code: 'FST_ERR_VALIDATION', statusCode: 400, validation: [{ ...error, schemaPath: '#/additionalProperties', message: 'must NOT have additional properties' }], validationContext: 'body',
  }) as unknown as FastifyError;
}

describe('toAppError', () => {
  it("answers ajv's additionalProperties as unknown field(s), with the path of a nested one", () => {
    expect(toAppError(validationError({ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'paused' } })).toJSON())
      .toEqual({ error: 'invalid_request', message: 'unknown field(s): paused', fields: ['paused'] });
    expect(toAppError(validationError({ keyword: 'additionalProperties', instancePath: '/retry/policy', params: { additionalProperty: 'x' } })).toJSON())
      .toEqual({ error: 'invalid_request', message: 'unknown field(s): retry.policy.x', fields: ['retry.policy.x'] });
  });

  it('answers other validation errors with the detail', () => {
    expect(toAppError(validationError({ keyword: 'type', instancePath: '/url', params: {} })).toJSON())
      .toEqual({ error: 'invalid_request', message: 'The request is not valid.', detail: 'body must NOT have additional properties' });
  });
});
