import { describe, expect, it } from 'vitest';
import { memo } from './memo.js';

describe('memo', () => {
  it('computes each key once, does not keep a key whose computation threw, and forgets all past the bound', () => {
    const calls: string[] = [];
    const length = memo((key: string) => {
      calls.push(key);
      if (key === 'bad') throw new Error('refused');
      return key.length;
    }, 2);
    expect(length('a')).toBe(1);
    expect(length('a')).toBe(1);
    expect(() => length('bad')).toThrow('refused');
    expect(() => length('bad')).toThrow('refused');
    expect(length('bb')).toBe(2);
    expect(calls).toEqual(['a', 'bad', 'bad', 'bb']);
    // Two keys held: a third clears them, so 'a' is computed again.
    expect(length('ccc')).toBe(3);
    expect(length('a')).toBe(1);
    expect(calls).toEqual(['a', 'bad', 'bad', 'bb', 'ccc', 'a']);
  });
});
