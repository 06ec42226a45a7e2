import { describe, expect, it } from 'vitest';
import { addCallLimits, parseAddCallRequest } from './add-call-request.js';
import { MockError } from './errors.js';

const keys: Array<[string, unknown]> = [['widget_key', 'w1'], ['api_key', 'k1'], ['lc_number', '+14155550100']];
const accept = () => 'widget';
const parse = (fields: Array<[string, unknown]>) => parseAddCallRequest(fields, accept).request;

function refusal(fields: Array<[string, unknown]>, authenticate: (w: string, k: string) => unknown = accept): MockError {
  try {
    parseAddCallRequest(fields, authenticate);
  } catch (error) {
    expect(error).toBeInstanceOf(MockError);
    return error as MockError;
  }
  throw new Error('expected a refusal');
}

describe('parseAddCallRequest', () => {
  it('reads the documented fields and lowercases custom parameter names', () => {
    const request = parse([...keys, ['lc_number_2', '070-123 45 67'], ['country', 'se'], ['lc_message', 'hi'], ['lc_param_Deal_ID', 'D-42'], ['lc_param_source', 7]]);
    expect(request).toMatchObject({ widgetKey: 'w1', apiKey: 'k1', leadPhone: '+14155550100', leadPhone2: '070-123 45 67', country: 'SE', message: 'hi', outcome: null });
    expect(request.customParams).toEqual({ deal_id: 'D-42', source: '7' });
  });

  it('keeps the first spelling given when one parameter is spelled twice', () => {
    expect(parse([...keys, ['lc_param_Deal_ID', 'first'], ['lc_param_deal_id', 'second']]).customParams).toEqual({ deal_id: 'first' });
  });

  it('accepts names of exactly 1 and 20 characters and a prefix in capitals', () => {
    const twenty = 'a'.repeat(20);
    expect(parse([...keys, ['lc_param_1', 'x'], [`lc_param_${twenty}`, 'y'], ['LC_PARAM_Z', 'z']]).customParams).toEqual({ 1: 'x', [twenty]: 'y', z: 'z' });
  });

  it.each([
    ['widget_key', 'missing_parameter'],
    ['api_key', 'missing_parameter'],
    ['lc_number', 'missing_parameter'],
  ])('refuses a request without %s', (field, code) => {
    const error = refusal(keys.filter(([k]) => k !== field));
    expect(error).toMatchObject({ code, field, status: 400 });
    expect(error.message).toBe(`${field} is required.`);
  });

  it.each([
    ['lc_param_', 'is empty'],
    [`lc_param_${'x'.repeat(21)}`, 'is 21 characters long (at most 20)'],
    ['lc_param_deal-id', 'may use only'],
    ['lc_param_é', 'may use only'],
  ])('refuses the parameter name %j', (name, why) => {
    const error = refusal([...keys, [name, 'v']]);
    expect(error.code).toBe('invalid_param_name');
    expect(error.message).toContain(why);
  });

  it.each(['12345', 'call me', '+1 415 555 0100 ext 2', '1234567890123456', '++14155550100'])('refuses the phone number %j', (number) => {
    expect(refusal([['widget_key', 'w1'], ['api_key', 'k1'], ['lc_number', number]]).code).toBe('invalid_phone');
  });

  it('refuses too many parameters, oversized values, objects and a bad country', () => {
    const many = Array.from({ length: addCallLimits.maxParams + 1 }, (_, i): [string, unknown] => [`lc_param_p${i}`, 'v']);
    expect(refusal([...keys, ...many]).code).toBe('too_many_params');
    expect(refusal([...keys, ['lc_param_x', 'v'.repeat(addCallLimits.maxValueLength + 1)]]).code).toBe('invalid_parameter');
    expect(refusal([...keys, ['lc_param_x', { nested: true }]]).message).toContain('not an object');
    expect(refusal([...keys, ['country', 'Sweden']]).field).toBe('country');
    expect(refusal([...keys, ['mock_outcome', 'busy']]).field).toBe('mock_outcome');
  });

  it('checks the keys before anything else, so a caller without them learns nothing more', () => {
    const deny = () => {
      throw new MockError('invalid_api_key');
    };
    expect(refusal([...keys, ['lc_param_bad-name', 'v']], deny).code).toBe('invalid_api_key');
    expect(refusal([['lc_param_bad-name', 'v'], ['lc_number', 'x']]).code).toBe('missing_parameter');
  });
});
