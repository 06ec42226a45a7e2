/**
 * `compute` remembered per key, for values a worker needs thousands of times a second from a handful of
 * keys (destination URLs, signing secrets). Bounded all the same: once `maxKeys` are held, they are all
 * forgotten. A key whose computation throws is not kept, so it throws again next time.
 *
 * @example
 * const keyOf = memo((secret: string) => Buffer.from(secret, 'base64'));
 * keyOf(secret) === keyOf(secret); // true: decoded once
 */
export function memo<V>(compute: (key: string) => V, maxKeys = 1000): (key: string) => V {
  const values = new Map<string, V>();
  return (key) => {
    let value = values.get(key);
    if (value !== undefined) return value;
    value = compute(key);
    if (values.size >= maxKeys) values.clear();
    values.set(key, value);
    return value;
  };
}
