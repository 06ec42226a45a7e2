import { describe, expect, it } from 'vitest';
import { acceptedPayload, depthOf, formToPayload, maxNestingDepth, parseIngestBody, type ParseOutcome, type ParsedEvent } from './parse-body.js';

const json = (value: unknown, contentType: string | undefined = 'application/json') =>
  parseIngestBody(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), contentType);
const form = (text: string, contentType = 'application/x-www-form-urlencoded') => parseIngestBody(Buffer.from(text), contentType);

function expectEvent(outcome: ParseOutcome): ParsedEvent {
  expect(outcome.kind, JSON.stringify(outcome)).toBe('event');
  return outcome as ParsedEvent;
}

function expectInvalid<K extends ParseOutcome['kind']>(outcome: ParseOutcome, kind: K): Extract<ParseOutcome, { kind: K }> {
  expect(outcome.kind, JSON.stringify(outcome)).toBe(kind);
  return outcome as Extract<ParseOutcome, { kind: K }>;
}

/** An event whose `a` holds `{"a":{"a":…{}}}`: `depth` levels of objects in all. */
function nestedObjects(depth: number): string {
  return '{"type":"end_call","call_id":"c","a":' + '{"a":'.repeat(depth - 2) + '{}' + '}'.repeat(depth - 2) + '}';
}

describe('parseIngestBody: JSON objects', () => {
  it('accepts an object with a type and a call_id and returns the whole payload', () => {
    const event = expectEvent(json({ type: 'start_call', call_id: 'abc', extra: { x: 1 } }));
    expect(event).toEqual({
      kind: 'event', format: 'json', type: 'start_call', callId: 'abc',
      payload: { type: 'start_call', call_id: 'abc', extra: { x: 1 } },
    });
  });

  it('reads bodies labelled text/plain or with no content type as JSON too', () => {
    expect(expectEvent(json({ type: 'end_call', call_id: 'x' }, 'text/plain')).format).toBe('json');
    expect(expectEvent(json({ type: 'end_call', call_id: 'x' }, undefined)).callId).toBe('x');
  });

  it('reports both fields, type first then call_id, when both are missing', () => {
    const outcome = expectInvalid(json({ hello: 'world' }), 'invalid_event');
    expect(outcome.fields).toEqual(['type', 'call_id']);
    expect(outcome.detail).toBe('"type" is missing; "call_id" is missing');
  });

  it('reports only call_id when type is present', () => {
    expect(expectInvalid(json({ type: 'end_call' }), 'invalid_event').fields).toEqual(['call_id']);
  });

  it('reports only type when call_id is present', () => {
    expect(expectInvalid(json({ call_id: 'c1' }), 'invalid_event').fields).toEqual(['type']);
  });

  it('treats null like a missing field', () => {
    const outcome = expectInvalid(json({ type: null, call_id: null }), 'invalid_event');
    expect(outcome.fields).toEqual(['type', 'call_id']);
    expect(outcome.detail).toContain('"type" is missing');
    expect(outcome.detail).toContain('"call_id" is missing');
  });
});

describe('parseIngestBody: call_id', () => {
  it('accepts a numeric call_id and returns it as a string', () => {
    expect(expectEvent(json({ type: 'end_call', call_id: 12345 })).callId).toBe('12345');
    expect(expectEvent(json({ type: 'end_call', call_id: 0 })).callId).toBe('0');
  });

  it('refuses a call_id that is a fraction, an unsafe integer, a boolean or an object', () => {
    for (const callId of [1.5, 2 ** 53, true, { id: 1 }, ['a']]) {
      const outcome = expectInvalid(json({ type: 'end_call', call_id: callId }), 'invalid_event');
      expect(outcome.fields).toEqual(['call_id']);
      expect(outcome.detail).toContain('must be');
    }
  });

  it('accepts 255 characters and refuses 256', () => {
    expect(expectEvent(json({ type: 'end_call', call_id: 'x'.repeat(255) })).callId).toHaveLength(255);
    expect(expectInvalid(json({ type: 'end_call', call_id: 'x'.repeat(256) }), 'invalid_event').fields).toEqual(['call_id']);
  });

  it('refuses an empty call_id', () => {
    expect(expectInvalid(json({ type: 'end_call', call_id: '' }), 'invalid_event').fields).toEqual(['call_id']);
  });

  it('refuses a call_id holding a control character (NUL, tab, newline, unit separator, DEL)', () => {
    for (const control of ['\u0000', '\t', '\n', '\u001f', '\u007f']) {
      const outcome = expectInvalid(json({ type: 'end_call', call_id: `ab${control}cd` }), 'invalid_event');
      expect(outcome.fields, JSON.stringify(control)).toEqual(['call_id']);
    }
  });

  it('refuses a call_id with a lone surrogate but accepts a surrogate pair', () => {
    // JSON.stringify escapes lone surrogates as \udXXX, which JSON.parse turns back into them.
    expect(expectInvalid(json({ type: 'end_call', call_id: 'a\ud800b' }), 'invalid_event').fields).toEqual(['call_id']);
    expect(expectInvalid(json('{"type":"end_call","call_id":"\\udfff"}'), 'invalid_event').fields).toEqual(['call_id']);
    expect(expectEvent(json({ type: 'end_call', call_id: 'call-😀' })).callId).toBe('call-😀');
  });
});

describe('parseIngestBody: type', () => {
  it('accepts letters, digits and _ . : - up to 64 characters', () => {
    for (const type of ['end_call', 'A.b:c-d_9', 'x', 't'.repeat(64)]) {
      expect(expectEvent(json({ type, call_id: 'c' })).type).toBe(type);
    }
  });

  it('refuses an empty type, 65 characters, spaces, slashes, non-ASCII and non-strings', () => {
    for (const type of ['', 't'.repeat(65), 'end call', 'end/call', 'éé', 42, true, { t: 1 }]) {
      const outcome = expectInvalid(json({ type, call_id: 'c' }), 'invalid_event');
      expect(outcome.fields, JSON.stringify(type)).toEqual(['type']);
      expect(outcome.detail).toContain('"type" must be');
    }
  });
});

describe('parseIngestBody: not an event object', () => {
  it.each([
    ['an array', '[{"type":"end_call","call_id":"c"}]', 'an array'],
    ['a string', '"end_call"', 'a string'],
    ['a number', '42', 'a number'],
    ['a boolean', 'true', 'a boolean'],
    ['null', 'null', 'null'],
  ])('refuses JSON that is %s', (_name, body, described) => {
    const outcome = expectInvalid(json(body), 'invalid_json');
    expect(outcome.detail).toBe(`The body is JSON but not an object (it is ${described}).`);
  });

  it('refuses an empty or whitespace-only body', () => {
    expect(expectInvalid(json(''), 'invalid_json').detail).toBe('The body is empty.');
    expect(expectInvalid(json(' \r\n\t '), 'invalid_json').detail).toBe('The body is empty.');
  });

  it('refuses bytes that are not valid UTF-8', () => {
    const raw = Buffer.concat([Buffer.from('{"type":"end_call","call_id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const outcome = expectInvalid(parseIngestBody(raw, 'application/json'), 'invalid_json');
    expect(outcome.detail).toContain('not valid text');
  });

  it('gives a JSON syntax error without quoting the body', () => {
    const outcome = expectInvalid(json('{"type":"end_call","call_id":"c1",phone}'), 'invalid_json');
    expect(outcome.detail).not.toContain('phone');
    expect(outcome.detail).not.toContain('end_call');
    expect(outcome.detail.length).toBeGreaterThan(0);
  });

  it('gives a JSON syntax error without quoting a short non-JSON body', () => {
    const outcome = expectInvalid(json('hello'), 'invalid_json');
    expect(outcome.detail).not.toContain('hello');
  });

  it('never puts NUL in a JSON syntax error', () => {
    const outcome = expectInvalid(json('\u0000'), 'invalid_json');
    expect(outcome.detail).not.toContain('\u0000');
  });
});

describe('parseIngestBody: declared charsets', () => {
  const payload = { type: 'end_call', call_id: 'c1', lead: { name: 'Zoë Ångström' } };

  it('decodes latin1 bodies', () => {
    const raw = Buffer.from(JSON.stringify(payload), 'latin1');
    const event = expectEvent(parseIngestBody(raw, 'application/json; charset=ISO-8859-1'));
    expect(event.payload.lead).toEqual({ name: 'Zoë Ångström' });
    const quoted = expectEvent(parseIngestBody(raw, 'application/json; charset="latin1"'));
    expect(quoted.payload.lead).toEqual({ name: 'Zoë Ångström' });
  });

  it('refuses the same latin1 bytes when no charset is declared (UTF-8 by default)', () => {
    const raw = Buffer.from(JSON.stringify(payload), 'latin1');
    expectInvalid(parseIngestBody(raw, 'application/json'), 'invalid_json');
  });

  it('decodes UTF-16LE with a byte order mark', () => {
    const raw = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(payload), 'utf16le')]);
    const event = expectEvent(parseIngestBody(raw, 'application/json; charset=utf-16le'));
    expect(event.callId).toBe('c1');
    expect(event.payload.lead).toEqual({ name: 'Zoë Ångström' });
  });

  it('accepts a UTF-8 byte order mark', () => {
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(payload))]);
    expect(expectEvent(parseIngestBody(raw, 'application/json')).callId).toBe('c1');
  });

  it('falls back to UTF-8 for an unknown charset label', () => {
    const raw = Buffer.from(JSON.stringify(payload), 'utf8');
    const event = expectEvent(parseIngestBody(raw, 'application/json; charset=x-klingon'));
    expect(event.payload.lead).toEqual({ name: 'Zoë Ångström' });
    // and the fallback is strict UTF-8: latin1 bytes under an unknown label are refused
    expectInvalid(parseIngestBody(Buffer.from(JSON.stringify(payload), 'latin1'), 'application/json; charset=x-klingon'), 'invalid_json');
  });
});

describe('parseIngestBody: nesting depth', () => {
  it(`accepts exactly ${maxNestingDepth} levels and refuses ${maxNestingDepth + 1}`, () => {
    expect(maxNestingDepth).toBe(64);
    expect(depthOf(JSON.parse(nestedObjects(64)))).toBe(64);
    expectEvent(json(nestedObjects(64)));
    const outcome = expectInvalid(json(nestedObjects(65)), 'invalid_json');
    expect(outcome.detail).toContain('nested deeper than 64');
  });

  it('counts arrays as levels', () => {
    const arrays = (n: number) => `{"type":"end_call","call_id":"c","deep":${'['.repeat(n)}1${']'.repeat(n)}}`;
    expectEvent(json(arrays(63)));
    expectInvalid(json(arrays(64)), 'invalid_json');
  });

  it('refuses a very deep array without overflowing the stack', () => {
    const n = 100_000;
    const outcome = expectInvalid(json(`{"type":"end_call","call_id":"c","deep":${'['.repeat(n)}${']'.repeat(n)}}`), 'invalid_json');
    expect(outcome.detail).toContain('nested deeper');
  });

  it('depthOf counts objects and arrays, not scalars', () => {
    expect(depthOf(1)).toBe(0);
    expect(depthOf(null)).toBe(0);
    expect(depthOf({})).toBe(1);
    expect(depthOf({ a: [1, { b: 'x' }] })).toBe(3);
    expect(depthOf([[], [[[]]]])).toBe(4);
  });
});

describe('parseIngestBody: form bodies', () => {
  it('reads a flat form as an event with format form', () => {
    const event = expectEvent(form('type=start_call&call_id=abc&user_id=12&widget_name=Main+widget'));
    expect(event.format).toBe('form');
    expect(event.type).toBe('start_call');
    expect(event.callId).toBe('abc');
    expect(event.payload).toMatchObject({ user_id: '12', widget_name: 'Main widget' });
  });

  it('recognises the media type whatever its case and parameters', () => {
    expect(expectEvent(form('call_id=abc', 'Application/X-WWW-Form-Urlencoded; charset=UTF-8')).format).toBe('form');
  });

  it('defaults the type to end_call (the legacy after-call post)', () => {
    expect(expectEvent(form('call_id=abc')).type).toBe('end_call');
  });

  it('keeps an explicit type, and refuses an empty one', () => {
    expect(expectEvent(form('type=start_call&call_id=abc')).type).toBe('start_call');
    expect(expectInvalid(form('type=&call_id=abc'), 'invalid_event').fields).toEqual(['type']);
  });

  it('reports a missing call_id', () => {
    expect(expectInvalid(form('foo=bar'), 'invalid_event').fields).toEqual(['call_id']);
  });

  it('turns bracket keys into nested objects', () => {
    const payload = formToPayload('lead[lead_phone]=%2B4670&lead[custom_params][utm]=ad&agent[name]=Ann');
    expect(payload.lead).toEqual({ lead_phone: '+4670', custom_params: { utm: 'ad' } });
    expect(payload.agent).toEqual({ name: 'Ann' });
  });

  it('maps flat lead_*, agent_* and lc_param_* keys to where the JSON format keeps them', () => {
    const payload = formToPayload(
      'lead_phone=%2B4670&lead_id=L1&lead_source=google&lead_country=SE&lead_time_created_iso_string=2024-01-01T00%3A00%3A00Z' +
        '&agent_id=7&agent_name=Ann&agent_email=a%40x.se&agent_phone=%2B4671&lc_param_utm_source=ad&lc_param_gclid=g1',
    );
    expect(payload.lead).toEqual({
      lead_phone: '+4670', lead_id: 'L1', source: 'google', country: 'SE', time_created_iso_string: '2024-01-01T00:00:00Z',
      custom_params: { utm_source: 'ad', gclid: 'g1' },
    });
    expect(payload.agent).toEqual({ id: '7', name: 'Ann', email: 'a@x.se', phone: '+4671' });
    // the flat keys are kept as they came
    expect(payload.lead_source).toBe('google');
    expect(payload.agent_id).toBe('7');
  });

  it('lets a bracket key win over the flat key for the same field, whatever their order', () => {
    expect((formToPayload('lead_source=flat&lead[source]=nested').lead as Record<string, unknown>).source).toBe('nested');
    expect((formToPayload('lead[source]=nested&lead_source=flat').lead as Record<string, unknown>).source).toBe('nested');
    expect((formToPayload('agent_name=flat&agent[name]=nested').agent as Record<string, unknown>).name).toBe('nested');
  });

  it('does not map unknown lead_ or agent_ keys', () => {
    const payload = formToPayload('lead_shoe_size=44&agent_mood=good');
    expect(payload.lead).toEqual({});
    expect(payload.agent).toEqual({});
  });

  it('never reaches Object.prototype through __proto__ or constructor keys', () => {
    const text = '__proto__[polluted]=yes&a[__proto__][polluted]=yes&constructor[prototype][polluted]=yes' +
      '&lead[__proto__][polluted]=yes&__proto__=x&call_id=c';
    const event = expectEvent(form(text));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.getPrototypeOf(event.payload)).toBe(Object.prototype);
    expect(Object.hasOwn(event.payload, '__proto__')).toBe(true);
    expect(event.payload.polluted).toBeUndefined();
  });

  it(`accepts keys nested ${maxNestingDepth} levels and refuses ${maxNestingDepth + 1}`, () => {
    const key = (levels: number) => 'a' + '[a]'.repeat(levels - 1);
    expectEvent(form(`call_id=c&${key(64)}=1`));
    const outcome = expectInvalid(form(`call_id=c&${key(65)}=1`), 'invalid_json');
    expect(outcome.detail).toContain('deeper than 64');
  });

  it('ignores keys made only of brackets', () => {
    const payload = formToPayload('[]=x&[[]]=y&call_id=c');
    expect(Object.keys(payload).sort()).toEqual(['agent', 'call_id', 'lead', 'type']);
  });
});

describe('found by review', () => {
  it('gives a JSON syntax error without quoting a long body', () => {
    const body = '{"type":"end_call","call_id":"c1","lead":{"lead_phone":"+46701234567"},"agent":nope}';
    const outcome = parseIngestBody(Buffer.from(body), 'application/json');
    expect(outcome.kind).toBe('invalid_json');
    expect((outcome as { detail: string }).detail).not.toMatch(/agent|nope/);
  });
  it('gives a JSON syntax error without quoting a long non-JSON body', () => {
    const outcome = parseIngestBody(Buffer.from('phone +46701234567 called'), 'application/json');
    expect((outcome as { detail: string }).detail).not.toContain('phone +46');
  });
  it('refuses a call_id with a C1 control character', () => {
    const outcome = parseIngestBody(Buffer.from(JSON.stringify({ type: 'end_call', call_id: 'a\u0085b' })), 'application/json');
    expect(outcome).toMatchObject({ kind: 'invalid_event', fields: ['call_id'] });
  });
});

describe('acceptedPayload: an accepted body read again', () => {
  const bodies: Array<[string, Buffer, string | undefined]> = [
    ['JSON', Buffer.from(JSON.stringify({ type: 'end_call', call_id: 'c1', lead: { lead_phone: '+1 555', custom_params: {} }, n: 1.5 })), 'application/json'],
    ['JSON with a BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"type":"end_call","call_id":"c2","name":"Åsa"}')]), 'application/json; charset=UTF-8'],
    ['JSON without a content type', Buffer.from('{"type":"start_call","call_id":"c3","x":"\\u0000\\ud800"}'), undefined],
    ['JSON as text/plain', Buffer.from('  {"type":"end_call","call_id":"c4"}  '), 'text/plain'],
    ['JSON in latin1', Buffer.from('{"type":"end_call","call_id":"c5","name":"Jos\xe9"}', 'latin1'), 'application/json; charset=iso-8859-1'],
    ['a form', Buffer.from('type=end_call&call_id=c6&lead_phone=%2B1555&lead[custom_params][a]=1'), 'application/x-www-form-urlencoded'],
  ];

  it.each(bodies)('gives the payload parseIngestBody gives (%s)', (_name, raw, contentType) => {
    const full = expectEvent(parseIngestBody(raw, contentType));
    expect(acceptedPayload(raw, contentType)).toEqual(full.payload);
  });

  it('is null for what parseIngestBody refuses, whichever path it takes', () => {
    expect(acceptedPayload(Buffer.from('[1,2]'), 'application/json')).toBeNull();
    expect(acceptedPayload(Buffer.from('{"type":'), 'application/json')).toBeNull();
    // Not UTF-8: the fast path does not turn it into U+FFFD; the full path refuses it.
    expect(acceptedPayload(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'application/json')).toBeNull();
  });
});
