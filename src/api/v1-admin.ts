import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { ApiKey, Storage } from '../storage/ports.js';

export interface AdminRoutesOptions {
  storage: Storage;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Readonly<Config>;
  now: () => number;
  /** Forgets cached token and key lookups (after a revocation or rotation, so it applies at once on this node). */
  forgetSecrets: () => void;
}

// Being built (issue 4).
export async function adminRoutes(_app: FastifyInstance, _options: AdminRoutesOptions): Promise<void> {}
