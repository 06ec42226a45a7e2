import type { FastifyInstance } from 'fastify';
import { sourceTokenGraceMs } from '../admin/credentials.js';
import type { Config } from '../config/index.js';
import { About } from '../domain/contract/index.js';
import { iso } from '../domain/presenters.js';
import type { ApiKey } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { answers, readErrors } from './responses.js';

export interface AboutRoutesOptions {
  config: Readonly<Config>;
  version: string;
  /** When this node started (epoch ms). */
  startedAt: number;
  now: () => number;
  resolveKey: (key: string) => Promise<ApiKey | null>;
}

/**
 * `GET /v1/about` (`read` scope): what this node runs and how it commits, for the dashboard's About tab and
 * for a person asking "which version is this?". Only settings that are safe to show: never the database URL
 * (it may hold a password), keys or tokens.
 */
export async function aboutRoutes(app: FastifyInstance, options: AboutRoutesOptions): Promise<void> {
  const { config, now } = options;
  app.addHook('onRequest', requireScope('read', options.resolveKey));
  const storage = config.db.startsWith('sqlite:') ? ('sqlite' as const) : ('postgres' as const);

  app.get('/v1/about', {
    schema: { tags: ['ops'], summary: 'Version, storage backend, node role, your role, retention and the ingest\'s commit settings', response: answers({ 200: About }, ...readErrors) },
  }, async (request) => {
    const principal = request.principal!;
    const user = request.cookieSession?.user;
    const t = now();
    return {
      version: options.version,
      storage,
      node_role: config.role,
      you: { kind: principal.kind, scope: principal.scope, role: principal.kind === 'user' && user ? user.role : null },
      retention_days: config.retentionDays > 0 ? config.retentionDays : null,
      source_token_grace_hours: sourceTokenGraceMs / 3_600_000,
      ingest: {
        commit_max_batch: config.commitMaxBatch,
        commit_max_in_flight: config.commitMaxInFlight,
        commit_max_queue: config.commitMaxQueue,
        // group-commit.ts: no timer; a batch is what arrived while the previous commits ran.
        commit_wait: 'none: a batch is what arrived while the previous commit ran',
        durability: storage === 'sqlite' ? 'SQLite WAL, synchronous=FULL: each commit is on disk before the answer' : "PostgreSQL: each commit as the server's synchronous_commit says (on by default) before the answer",
      },
      metrics_token: config.metricsToken !== '',
      started_at: iso(options.startedAt),
      uptime_sec: Math.max(0, Math.floor((t - options.startedAt) / 1000)),
    };
  });
}
