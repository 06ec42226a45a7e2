import type { FastifyBaseLogger } from 'fastify';
import type { ListenStatus } from '../storage/ports.js';
import type { Metrics } from './metrics.js';

/**
 * The state of the connection that hears other nodes' appends (PostgreSQL LISTEN), kept for /readyz's
 * detail, counted in the metrics, and logged when it is lost and when it is back.
 */
export function createListenStatus(options: { metrics: Metrics; log: () => FastifyBaseLogger; pollMs: number }) {
  let current: ListenStatus | null = null;
  return {
    current: () => current,
    update(status: ListenStatus): void {
      const previous = current;
      current = status;
      options.metrics.listenConnected.set(status.connected ? 1 : 0);
      if (previous && status.reconnects > previous.reconnects) options.metrics.listenReconnects.inc(status.reconnects - previous.reconnects);
      if (previous?.connected && !status.connected) {
        options.log().warn({ err: status.lastError }, `database notifications lost: reconnecting; other nodes' events arrive by polling (every ${options.pollMs} ms) meanwhile`);
      } else if (previous && !previous.connected && status.connected) {
        options.log().info({ reconnects: status.reconnects }, 'database notifications restored');
      }
    },
  };
}
