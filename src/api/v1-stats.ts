import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { ApiKey, Storage } from '../storage/ports.js';

export interface StatsRoutesOptions {
  storage: Storage;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Readonly<Config>;
  now: () => number;
}

// Being built (issue 4).
export async function statsRoutes(_app: FastifyInstance, _options: StatsRoutesOptions): Promise<void> {}
