import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wellFormed } from './well-formed.js';

/** Code units that break storage or jsonb, mixed with ordinary and astral text (a pair must survive whole). */
const unit = fc.oneof(
  fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '😀', '\ud83d\ude00', '\\', '\\u0000', '"', '__proto__', '\ufffd'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 3 }),
);
/** As JSON.parse gives them (no -0, which JSON writes as 0): what a payload's lead and agent can hold. */
const parsed = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
const nasty = fc.jsonValue({ maxDepth: 4, stringUnit: unit }).map(parsed);
const clean = fc.jsonValue({ maxDepth: 4, stringUnit: 'grapheme' }).map(parsed);

/** Every string of a value, keys included. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap(strings);
  return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
}

/**
 * What PostgreSQL's jsonb refuses in JSON text: the escapes `\u0000` and of a surrogate (JSON.stringify writes
 * a lone surrogate as such an escape, a pair as the character itself). An escaped backslash (`\\`) is
 * skipped as a whole, so `\\u0000` (a backslash, then the text u0000) is not one.
 */
const jsonbRefuses = /\\(?:\\|(u(?:0000|d[89a-f][0-9a-f]{2})))/gi;
const jsonbSafe = (json: string) => [...json.matchAll(jsonbRefuses)].every((m) => m[1] === undefined);

describe('wellFormed', () => {
  it('leaves only well-formed strings without NUL, keys included', () => {
    fc.assert(
      fc.property(nasty, (value) => {
        for (const s of strings(wellFormed(value))) {
          expect(s.isWellFormed(), JSON.stringify(s)).toBe(true);
          expect(s.includes('\u0000'), JSON.stringify(s)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gives a value that JSON round-trips unchanged and whose JSON PostgreSQL jsonb accepts', () => {
    fc.assert(
      fc.property(nasty, (value) => {
        const out = wellFormed(value);
        const json = JSON.stringify(out);
        expect(JSON.parse(json)).toEqual(out);
        expect(jsonbSafe(json), json).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('replaces exactly NUL and lone surrogates with U+FFFD and changes nothing else', () => {
    fc.assert(
      fc.property(nasty, (value) => {
        // The same replacement done on the JSON text, escape by escape, is the oracle.
        const expected = JSON.parse(JSON.stringify(value).replace(jsonbRefuses, (m: string, bad?: string) => (bad ? '\\ufffd' : m)));
        expect(wellFormed(value)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('answers its argument itself when it holds no NUL and no lone surrogate', () => {
    fc.assert(
      fc.property(clean, (value) => {
        expect(wellFormed(value)).toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a __proto__ key as a key, never as the prototype', () => {
    const value = JSON.parse('{"__proto__":{"polluted":"\\u0000"},"a":"\\ud800"}') as Record<string, unknown>;
    const out = wellFormed(value);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ polluted: '\ufffd' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps a surrogate pair whole and replaces each half that stands alone', () => {
    expect(wellFormed(['\ud83d\ude00', '\ude00\ud83d', 'a\u0000b'])).toEqual(['\ud83d\ude00', '\ufffd\ufffd', 'a\ufffdb']);
  });
});
