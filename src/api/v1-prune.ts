import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { AppError } from '../domain/errors.js';
import { iso } from '../domain/presenters.js';
import type { ApiKey, Retention } from '../storage/ports.js';
import { PruneAnswer } from '../domain/contract/ops.js';
import { requireScope } from './auth.js';
import { adminErrors, answers, bodyErrors } from './responses.js';

const PruneBody = Type.Object(
  { retention_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500, description: 'Delete what is older than this many days; default: the server\'s SWITCHBOARD_RETENTION_DAYS.' })) },
  { additionalProperties: false },
);

/**
 * `POST /v1/prune` (`admin` scope; `switchboard prune` while a server runs): retention on demand, by the
 * server that owns the database, so the command never writes beside it. The deletion runs in chunks of
 * events, one transaction each (storage/shared/retention.ts), so ingest commits interleave with it.
 */
export async function pruneRoutes(app: FastifyInstance, options: { storage: Retention; config: Readonly<Config>; now: () => number; resolveKey: (key: string) => Promise<ApiKey | null> }): Promise<void> {
  app.addHook('onRequest', requireScope('admin', options.resolveKey));
  app.post<{ Body: Static<typeof PruneBody> }>('/v1/prune', { schema: { body: PruneBody, response: answers({ 200: PruneAnswer }, ...adminErrors, ...bodyErrors) } }, async (request) => {
    const days = request.body?.retention_days ?? options.config.retentionDays;
    if (days === 0) {
      throw new AppError('no_retention');
    }
    // The answer comes once the last chunk is deleted: minutes for a first retention over a large log, with nothing
    // sent meanwhile. The connection timeout (a client that stalls) would close the connection under it, and the
    // command would say no server answers while the prune goes on. (A request answered in-process has no socket.)
    request.raw.socket?.setTimeout?.(0);
    const before = options.now() - days * 86_400_000;
    const deleted = await options.storage.prune(before);
    return { before: iso(before)!, ...deleted };
  });
}
