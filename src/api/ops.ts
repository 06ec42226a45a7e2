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
      throw new AppError('not_ready', { detail: (error as Error).message });
    }
    return { ok: true };
  });

  app.get('/metrics', async (_request, reply) => {
    void reply.type(options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
}
