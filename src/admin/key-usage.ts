import type { ApiKey, ApiKeys } from '../storage/ports.js';

/**
 * Records when API keys are used without a write per request: a key's use is written at most once per
 * `everyMs` (a minute) on each node, in the background. So `last_used_at` is the start of the last minute in
 * which the key was used, late by at most a minute: good for "is this key still in use?", not an audit log.
 *
 * @example
 * const usage = createKeyUsage({ keys: storage.keys, now: Date.now });
 * const key = await keyCache.resolve(presented); if (key) usage.record(key);
 */
export function createKeyUsage(options: { keys: Pick<ApiKeys, 'recordUse'>; now: () => number; everyMs?: number; onError?: (error: unknown) => void }) {
  const everyMs = options.everyMs ?? 60_000;
  /** The last time written per key id, on this node (one entry per key in use: a handful). */
  const written = new Map<string, number>();
  return {
    record(key: ApiKey): void {
      const t = options.now();
      const last = written.get(key.id) ?? key.lastUsedAt ?? -Infinity;
      if (t - last < everyMs) return;
      written.set(key.id, t);
      options.keys.recordUse(key.id, t).catch((error: unknown) => options.onError?.(error));
    },
  };
}
