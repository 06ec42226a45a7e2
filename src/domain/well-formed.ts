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
  // The copy is made only at the first key or value that changes (the keys before it are taken as they are).
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(record)) {
    const item = record[key];
    const fixedKey = wellFormedString(key);
    const fixed = wellFormed(item);
    if (copy === null && (fixedKey !== key || fixed !== item)) {
      copy = {};
      for (const earlier of Object.keys(record)) {
        if (earlier === key) break;
        define(copy, earlier, record[earlier]);
      }
    }
    if (copy !== null) define(copy, fixedKey, fixed);
  }
  return (copy ?? value) as T;
}

/** An own data property, as JSON.parse makes it: a `__proto__` key stays a key, never a prototype. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function wellFormedString(text: string): string {
  if (!text.includes('\u0000') && text.isWellFormed()) return text;
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}
