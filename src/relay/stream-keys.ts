import type { ApiKeyId } from '../domain/ids.js';
import { coalesce } from './coalesce.js';

/**
 * The open streams of each API key, for two rules the stream route enforces:
 * - a key holds at most `maxPerKey` streams on this node (`open` answers null beyond it); a person's
 *   sessions share one allowance (`countAs`), or signing in again would open `maxPerKey` more;
 * - a revoked key loses its streams: every `checkEveryMs` (the heartbeat interval) the keys that hold
 *   streams are looked up in the database, one lookup per key however many streams it holds, so a
 *   revocation made on any node ends them here within one interval. A lookup that fails (the database is
 *   away) ends nothing: the streams carry on and the next round looks again.
 */
/** What streams are counted and checked by: an API key, or a dashboard session (`session:` and its digest). */
export type StreamOwner = ApiKeyId | `session:${string}`;

export interface StreamKeysOptions {
  maxPerKey: number;
  checkEveryMs: number;
  /** Whether the key with this id is still active (reads the database, not a cache). */
  isActive: (keyId: StreamOwner) => Promise<boolean>;
  onError?: (error: unknown) => void;
}

export interface StreamKeys {
  /**
   * Registers a stream of `keyId`; `end` closes it (when `keyId` is revoked or ended). Null when what it is
   * counted as (`countAs`, by default `keyId`) already has its maximum.
   */
  open(keyId: StreamOwner, end: () => void, countAs?: string): { close(): void } | null;
  /** Looks the keys up now (after a local revocation), rather than at the next round. */
  check(): Promise<void>;
  start(): void;
  stop(): void;
}

/**
 * @example
 * const streamKeys = createStreamKeys({ maxPerKey: 20, checkEveryMs: 15_000, isActive: async (id) => (await storage.keys.get(id))?.revokedAt === null });
 * const stream = streamKeys.open(key.id, () => res.end());
 * if (!stream) throw new AppError('rate_limited');
 */
export function createStreamKeys(options: StreamKeysOptions): StreamKeys {
  const byKey = new Map<StreamOwner, Set<() => void>>();
  const counts = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  async function checkAll(): Promise<void> {
    await Promise.all([...byKey.keys()].map(async (keyId) => {
      let active: boolean;
      try {
        active = await options.isActive(keyId);
      } catch (error) {
        options.onError?.(error);
        return;
      }
      if (!active) for (const end of byKey.get(keyId) ?? []) end();
    }));
  }

  // Rounds do not overlap (a slow database gets one lookup per key at a time); asked during a round, one
  // more follows it, since the round under way may have read the key before it was revoked.
  const rounds = coalesce(checkAll, (error) => options.onError?.(error));
  const check = () => rounds.trigger();

  return {
    open(keyId, end, countAs = keyId) {
      const count = counts.get(countAs) ?? 0;
      if (count >= options.maxPerKey) return null;
      counts.set(countAs, count + 1);
      let streams = byKey.get(keyId);
      if (!streams) byKey.set(keyId, (streams = new Set()));
      const own = () => end();
      streams.add(own);
      let closed = false;
      return {
        close() {
          if (closed) return;
          closed = true;
          streams.delete(own);
          if (streams.size === 0 && byKey.get(keyId) === streams) byKey.delete(keyId);
          const left = (counts.get(countAs) ?? 1) - 1;
          if (left > 0) counts.set(countAs, left);
          else counts.delete(countAs);
        },
      };
    },
    check,
    start() {
      timer = setInterval(() => void check(), options.checkEveryMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
