import type { FastifyInstance } from 'fastify';
import type { StreamHub } from '../relay/hub.js';
import type { ApiKey } from '../storage/ports.js';

// Placeholder: being written (GET /v1/stream).
export async function streamRoutes(
  _app: FastifyInstance,
  _options: { hub: StreamHub; resolveKey: (key: string) => Promise<ApiKey | null>; heartbeatSec: number; maxBufferBytes: number },
): Promise<void> {}
