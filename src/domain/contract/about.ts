import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, Nullable, StringEnum } from './shared.js';

/** `GET /v1/about`: what this node runs and how, for the settings page. Nothing secret. */
export const About = Type.Object({
  version: Type.String(),
  storage: StringEnum(['sqlite', 'postgres'], { description: 'The database backend (its URL is not shown).' }),
  node_role: StringEnum(['all', 'api', 'worker'], { description: 'SWITCHBOARD_ROLE of the node that answered.' }),
  you: Type.Object({
    kind: StringEnum(['user', 'key'], { description: 'A signed-in person (session cookie) or an API key.' }),
    scope: StringEnum(['read', 'admin']),
    role: Nullable(StringEnum(['viewer', 'admin']), { description: "A person's role; null for a key." }),
  }),
  retention_days: Nullable(Type.Integer(), { description: 'Events and calls older than this are deleted; null: kept forever.' }),
  source_token_grace_hours: Type.Number({ description: 'After a rotation, how long a source\'s previous ingest URL keeps working.' }),
  ingest: Type.Object({
    commit_max_batch: Type.Integer({ description: 'Most ingest requests committed in one transaction (SWITCHBOARD_COMMIT_MAX_BATCH).' }),
    commit_max_in_flight: Type.Integer({ description: 'Group commits handed to the database at once (SWITCHBOARD_COMMIT_MAX_IN_FLIGHT).' }),
    commit_max_queue: Type.Integer({ description: 'Requests waiting for a commit beyond which new ones get 503 (SWITCHBOARD_COMMIT_MAX_QUEUE).' }),
    commit_wait: Type.String({ description: 'How long a request waits to be batched: none, a batch is whatever arrived while the previous commit ran.' }),
    durability: Type.String({ description: 'When a commit counts as done: SQLite synchronous=FULL (fsync of the WAL), PostgreSQL synchronous_commit on.' }),
  }),
  metrics_token: Type.Boolean({ description: "Whether GET /metrics answers only SWITCHBOARD_METRICS_TOKEN as a Bearer token (for Prometheus' authorization; a browser's link cannot send it)." }),
  started_at: IsoTime({ description: 'When this node started.' }),
  uptime_sec: Type.Integer(),
});
export type About = Static<typeof About>;
