/**
 * Buffers cross a thread boundary (postMessage's structured clone) as plain Uint8Arrays; better-sqlite3 binds
 * only Buffers, and the code reading rows and events expects them. Gives a Buffer over the same memory (no
 * copy); anything else as it is.
 */
export function asBuffer<T>(value: T): T | Buffer {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}

/** A row read on a thread (an object), its blobs Buffers again. */
export function reviveBuffers(row: unknown): unknown {
  const record = row as Record<string, unknown>;
  for (const key in record) record[key] = asBuffer(record[key]);
  return row;
}
