import { describe, expect, it } from 'vitest';
import { endPayload, startPayload } from '../../test/support/sdk-events.js';
import { assertConvoloPayload, validateConvoloPayload } from './convolo.js';
import { ValidationError } from './validate.js';

describe('validateConvoloPayload', () => {
  it("accepts Convolo's documented start_call and end_call, typed by their type", () => {
    const start = validateConvoloPayload(startPayload);
    const end = validateConvoloPayload(endPayload);
    expect(start).toEqual({ ok: true, value: startPayload });
    expect(end.ok && end.value.type === 'end_call' && end.value.call_status).toBe('answered');
  });

  it('accepts missing fields, nulls and fields Convolo has not documented', () => {
    expect(validateConvoloPayload({ type: 'end_call', call_id: 'c', lead: null, agent: null, talk_duration_sec: null, brand_new: { x: 1 } }).ok).toBe(true);
    expect(validateConvoloPayload({ type: 'start_call', call_id: 'c', lead: { custom_params: null, extra: true } }).ok).toBe(true);
  });

  it('lists every problem with its path and what was expected', () => {
    const result = validateConvoloPayload({ ...endPayload, call_id: 7, talk_duration_sec: '45', agent: { id: true }, lead: { lead_phone: 46, custom_params: [] } });
    expect(result).toEqual({
      ok: false,
      errors: [
        { path: '/call_id', message: 'expected a string, got a number' },
        { path: '/lead/lead_phone', message: 'expected a string or null, got a number' },
        { path: '/lead/custom_params', message: 'expected an object or null, got an array' },
        { path: '/talk_duration_sec', message: 'expected a number or null, got a string' },
        { path: '/agent/id', message: 'expected a number or a string or null, got a boolean' },
      ],
    });
  });

  it('requires type and call_id, and knows only start_call and end_call', () => {
    expect(validateConvoloPayload({ type: 'start_call' })).toEqual({ ok: false, errors: [{ path: '/call_id', message: 'is required' }] });
    expect(validateConvoloPayload({ type: 'call_transferred', call_id: 'c' })).toEqual({ ok: false, errors: [{ path: '/type', message: 'expected "start_call" or "end_call", got "call_transferred"' }] });
    expect(validateConvoloPayload('{"type":"end_call"}')).toEqual({ ok: false, errors: [{ path: '', message: 'expected an object, got a string' }] });
  });

  it('assertConvoloPayload returns the payload or throws a ValidationError with the problems', () => {
    expect(assertConvoloPayload(endPayload)).toBe(endPayload);
    expect(() => assertConvoloPayload({ type: 'end_call', call_id: 'c', total_duration_sec: 'long' })).toThrow(ValidationError);
    try {
      assertConvoloPayload({ type: 'end_call', call_id: 'c', total_duration_sec: 'long' });
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid_payload', errors: [{ path: '/total_duration_sec' }] });
      expect((error as Error).message).toBe('Invalid Convolo payload: /total_duration_sec expected a number or null, got a string');
    }
  });
});
