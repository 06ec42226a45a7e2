import { randomBytes } from 'node:crypto';
import type { UserId } from '../domain/ids.js';
import { hashSecret } from '../domain/secrets.js';
import type { Session, Storage, User } from '../storage/ports.js';
import { createSecretCache } from './secret-cache.js';

/** The name of the dashboard's session cookie. */
export const sessionCookieName = 'sb_session';
/**
 * A session's last use is written at most this often (a dashboard makes many requests a minute), and at most
 * every tenth of the idle timeout: the timeout is judged from the last use written, so a session in use
 * would otherwise idle out (with a 1-minute timeout, a minute after signing in however busy).
 */
const touchAtMostEveryMs = 60_000;

export interface ActiveSession {
  session: Session;
  user: User;
}

export interface SessionServiceOptions {
  storage: Storage;
  now: () => number;
  /** Absolute lifetime (SWITCHBOARD_SESSION_TTL_HOURS). */
  ttlMs: number;
  /** Idle timeout (SWITCHBOARD_SESSION_IDLE_MIN). */
  idleMs: number;
  /** How long a lookup is cached: a logout or removal on another node takes effect within it. */
  cacheTtlMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Dashboard sessions: the cookie's value is 32 random bytes (base64url), the database keeps only its SHA-256
 * digest, as for API keys. Lookups are cached like API keys' (admin/secret-cache.ts); expiry and the idle
 * timeout are judged on every request from the times cached with the session.
 *
 * @example
 * const sessions = createSessionService({ storage, now: Date.now, ttlMs: 168 * 3_600_000, idleMs: 720 * 60_000 });
 * const { token, expiresAt } = await sessions.start(user.id);
 * await sessions.resolve(token); // { session, user } until it expires, idles out or ends
 */
export function createSessionService(options: SessionServiceOptions) {
  const { storage, now, ttlMs, idleMs } = options;
  const touchEveryMs = Math.min(touchAtMostEveryMs, idleMs / 10);
  const cache = createSecretCache<ActiveSession>({
    shape: /^[A-Za-z0-9_-]{43}$/,
    lookup: (hash) => storage.sessions.find(hash),
    ttlMs: options.cacheTtlMs ?? 5_000,
    now,
    unavailable: 'session_check_unavailable',
  });
  const live = (s: Session, t: number) => t < s.expiresAt && t - s.lastSeenAt < idleMs;

  /**
   * Records a use, at most once a minute (a tenth of the idle timeout, if shorter) per session (on this node). Awaited, so that the next lookup from
   * the database sees it; a failure is logged, not answered: the session is still good.
   */
  async function touch(s: Session, t: number): Promise<void> {
    if (t - s.lastSeenAt < touchEveryMs) return;
    s.lastSeenAt = t;
    await storage.sessions.touch(s.tokenHash, t).catch((error: unknown) => options.onError?.(error));
  }

  return {
    /** A new session for the user: the token goes into the cookie, and nowhere else. */
    async start(userId: UserId): Promise<{ token: string; expiresAt: number }> {
      const token = randomBytes(32).toString('base64url');
      const t = now();
      const expiresAt = t + ttlMs;
      await storage.sessions.create({ tokenHash: hashSecret(token), userId, createdAt: t, lastSeenAt: t, expiresAt });
      // Looked up once now, so this node knows it: its requests pass the limit on failed authentications of an
      // address a neighbour's misses put over it (auth-misses.ts), which lets through only secrets it knows.
      await cache.resolve(token).catch((error: unknown) => options.onError?.(error));
      // Sessions that ended by time are deleted as new ones begin: the table holds live ones and few others.
      await storage.sessions.deleteExpired(t, t - idleMs).catch((error: unknown) => options.onError?.(error));
      return { token, expiresAt };
    },

    /** The live session of this token, with its user; null when unknown, expired or idle too long. */
    async resolve(token: string): Promise<ActiveSession | null> {
      const found = await cache.resolve(token);
      const t = now();
      if (!found || !live(found.session, t)) return null;
      await touch(found.session, t);
      return found;
    },

    /**
     * Whether the session with this digest is still live, read from the database (the stream checks its
     * sessions every heartbeat); an open stream counts as use.
     */
    async isActive(tokenHash: string): Promise<boolean> {
      const found = await storage.sessions.find(tokenHash);
      const t = now();
      if (!found || t >= found.session.expiresAt) return false;
      await touch(found.session, t);
      return true;
    },

    async end(token: string): Promise<void> {
      await storage.sessions.delete(hashSecret(token));
      cache.clear();
    },

    /** Drops cached lookups: after sessions were ended here (a password change, a removal). */
    forget(): void {
      cache.clear();
    },

    /** Whether this token resolved on this node recently (the failed-authentication limit lets it through). */
    isKnown: (token: string) => cache.isKnown(token),
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
