import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './shared.js';

/** `GET /healthz`, and `GET /readyz` for anyone but an admin. */
export const Healthy = Type.Object({ ok: Type.Literal(true) });

/** `GET /readyz`: an admin key also gets the detail. */
export const Readiness = Type.Object({
  ok: Type.Literal(true),
  detail: Type.Optional(
    Type.Object({
      database: Type.String({ description: '`sqlite` or `postgres`.' }),
      listen: Nullable(
        Type.Object({
          connected: Type.Boolean(),
          since: Type.String({ format: 'date-time' }),
          reconnects: Type.Integer(),
          failed_attempts: Type.Integer(),
          last_error: Nullable(Type.String()),
        }),
        { description: 'PostgreSQL: the connection that hears other nodes\' appends (null on SQLite).' },
      ),
    }),
  ),
});
export type Readiness = Static<typeof Readiness>;

/** `POST /v1/prune`: what retention deleted. */
export const PruneAnswer = Type.Object({
  before: Type.String({ description: 'The cut-off: what was received (events) or last heard of (calls) before it is deleted.' }),
  events: Type.Integer(),
  deliveries: Type.Integer(),
  undelivered: Type.Integer({ description: 'Of those deliveries, how many were still pending (a paused or failing destination\'s backlog): deleted with their events, never delivered.' }),
  calls: Type.Integer(),
});
export type PruneAnswer = Static<typeof PruneAnswer>;

/** A response that is not JSON, documented by its media type (`text/csv`, `text/event-stream`, …). */
export const Media = (mediaType: string, description: string, schema: object = { type: 'string' }) => ({
  description,
  content: { [mediaType]: { schema } },
});
