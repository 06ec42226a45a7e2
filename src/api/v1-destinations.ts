import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { ApiKey, Storage } from '../storage/ports.js';

export interface DestinationRoutesOptions {
  storage: Storage;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Pick<Config, 'allowPrivateDestinations' | 'secretGraceHours' | 'deliveryTimeoutSec'>;
  now: () => number;
  /** Wakes the delivery worker (after a retry or a replay queued deliveries). */
  onQueued: () => void;
}

// Placeholder: being written (/v1/destinations and /v1/deliveries).
export async function destinationRoutes(_app: FastifyInstance, _options: DestinationRoutesOptions): Promise<void> {}
