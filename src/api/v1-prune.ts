import { Type, type Static } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { AppError } from '../domain/errors.js';
import { iso } from '../domain/presenters.js';
import type { ApiKey, Retention } from '../storage/ports.js';
import { PruneAnswer } from '../domain/contract/ops.js';
import { requireScope } from './auth.js';
import { adminErrors, answers, answerWhenDone, bodyErrors } from './responses.js';

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
    // The answer comes once the last chunk is deleted.
    answerWhenDone(request);
    const before = options.now() - days * 86_400_000;
    return { before: iso(before)!, ...(await pruneSaying(options.storage, before, request.log)) };
  });
}

/**
 * Retention (`POST /v1/prune` and the worker's SWITCHBOARD_RETENTION_DAYS job): deletes what is older than
 * `before`, and says so when deliveries still pending went with their events (a paused or failing
 * destination's backlog: retention applies to it too): `undelivered` counts them, and a warning names each
 * destination with its count (ids only: no URL, header or secret).
 */
export async function pruneSaying(storage: Retention, before: number, log: Pick<FastifyBaseLogger, 'warn'>): Promise<{ events: number; deliveries: number; undelivered: number; calls: number }> {
  const { undelivered: byDestination, ...deleted } = await storage.prune(before);
  const undelivered = Object.values(byDestination).reduce((sum, n) => sum + n, 0);
  if (undelivered > 0) {
    log.warn({ undelivered: byDestination, before: iso(before) },
      `retention deleted ${undelivered} deliveries that were still pending (never delivered) with their events, received before ${iso(before)}: those destinations will not get them`);
  }
  return { ...deleted, undelivered };
}
