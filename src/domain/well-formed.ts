/**
 * Text every store and every query can take: NUL (U+0000) and lone surrogates replaced with U+FFFD, in every
 * string of a JSON-like value, object keys included. PostgreSQL's text cannot hold NUL at all, and its jsonb
 * refuses the JSON escapes `\u0000` and `\ud800` (which is how JSON.stringify writes them), so a record
 * holding either breaks every query that reads it as jsonb (`/v1/calls?q=`, agent names in `/v1/stats`).
 * The raw body keeps what the sender sent; the call record is what we made of it.
 *
 * Returns its argument itself, not a copy, when nothing needs replacing (the common case costs no
 * allocation). Keys that become equal after the replacement (`"\ud800"` and `"\ud801"`) merge, the later
 * one winning, as JSON.parse would do with a repeated key. Recursive: the values it is given are within the
 * ingest's nesting limit (`maxNestingDepth`, parse-body.ts).
 *
 * @example
 * wellFormed({ name: 'Ann\u0000', '\ud800': 1 }); // { name: 'Ann\uFFFD', '\uFFFD': 1 }
 */
export function wellFormed<T>(value: T): T {
  if (typeof value === 'string') return wellFormedString(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const fixed = wellFormed(item);
      if (fixed !== item) (copy ??= value.slice())[i] = fixed;
    }
    return (copy ?? value) as T;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let changed = false;
  const fixedKeys: string[] = [];
  const fixedValues: unknown[] = [];
  for (const key of keys) {
    const fixedKey = wellFormedString(key);
    const fixedValue = wellFormed(record[key]);
    if (fixedKey !== key || fixedValue !== record[key]) changed = true;
    fixedKeys.push(fixedKey);
    fixedValues.push(fixedValue);
  }
  if (!changed) return value;
  // Own data properties, as JSON.parse makes them: a `__proto__` key stays a key, never a prototype.
  const copy: Record<string, unknown> = {};
  for (let i = 0; i < fixedKeys.length; i++) {
    Object.defineProperty(copy, fixedKeys[i]!, { value: fixedValues[i], enumerable: true, writable: true, configurable: true });
  }
  return copy as T;
}

function wellFormedString(text: string): string {
  if (!text.includes('\u0000') && text.isWellFormed()) return text;
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}
