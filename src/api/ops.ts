import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Storage } from '../storage/ports.js';

/** `/healthz` (the process answers), `/readyz` (the database answers, migrations applied), `/metrics`. */
export async function opsRoutes(app: FastifyInstance, options: { storage: Storage; metrics: Metrics }): Promise<void> {
  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async (request) => {
    try {
      await options.storage.checkReady();
    } catch (error) {
      request.log.warn({ err: error }, 'not ready');
      // Anyone may ask: the driver's own error (host, port, user) goes to the log only. Which migrations are
      // missing (storage/shared/storage.ts) tells an operator what to run and reveals nothing.
      const message = (error as Error).message;
      throw new AppError('not_ready', { detail: message.startsWith('migrations not applied') ? message : 'database unavailable' });
    }
    return { ok: true };
  });

  app.get('/metrics', async (_request, reply) => {
    void reply.type(options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
}
