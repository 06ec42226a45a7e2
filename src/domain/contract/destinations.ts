import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, List, Nullable, StringEnum } from './shared.js';

const strings = () => Nullable(Type.Array(Type.String()));

/** A destination as listed: its settings, health and a hint of its signing secret. */
export const Destination = Type.Object({
  id: Type.String({ description: '`dst_…`' }),
  url: Type.String({ description: 'As stored to an administrator; a viewer (`read` scope) gets each query value, any userinfo (`user:pass@`) and each path segment that looks like a credential (16 or more of `A-Za-z0-9_-`, letters and digits both) as `[redacted]`, the names kept.' }),
  description: Nullable(Type.String()),
  event_types: strings(),
  widget_keys: strings(),
  call_statuses: strings(),
  headers: Nullable(Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' }, description: 'Sent with every delivery. Their values only to an administrator: a viewer (`read` scope) gets each as `…`.' })),
  rate_limit_per_sec: Nullable(Type.Integer({ description: 'The most webhook requests a second to it, all workers together (after an idle spell, a second\'s worth may go at once); null: no limit.' })),
  max_concurrency: Nullable(Type.Integer({ description: 'The most webhook requests in flight to it, all workers together (null: the server\'s SWITCHBOARD_DESTINATION_CONCURRENCY, per worker).' })),
  status: StringEnum(['enabled', 'paused', 'disabled'], { description: '`disabled` (nothing is queued for it) wins over `paused` (deliveries are queued, none is sent).' }),
  paused_at: Nullable(IsoTime({ description: 'When an administrator paused it (null: not paused).' })),
  disabled_at: Nullable(IsoTime()),
  disabled_reason: Nullable(Type.String()),
  failing_since: Nullable(IsoTime()),
  created_at: IsoTime(),
  updated_at: IsoTime(),
  secret_hint: Type.String({ description: '`whsec_…` and the secret\'s last four characters.' }),
  previous_secret_expires_at: Nullable(IsoTime({ description: 'After a rotation, until when deliveries are also signed with a previous secret (the latest end of the previous_secrets).' })),
  previous_secrets: Type.Array(Type.Object({
    secret_hint: Type.String({ description: '`whsec_…` and the previous secret\'s last four characters.' }),
    expires_at: IsoTime({ description: 'Until when deliveries are also signed with it.' }),
  }), { description: 'The secrets rotations replaced whose grace has not ended, newest first (at most 5): deliveries are signed with each of them too.' }),
});
export type Destination = Static<typeof Destination>;

/** `GET /v1/destinations/{id}`: the secret is there only for an administrator. */
export const DestinationMaybeSecret = Type.Object({
  ...Destination.properties,
  secret: Type.Optional(Type.String({ description: '`whsec_…`; absent when a viewer (`read` scope) asks.' })),
});

/** A destination as created, fetched alone or just rotated: with its signing secret. */
export const DestinationWithSecret = Type.Object({
  ...Destination.properties,
  secret: Type.String({ description: '`whsec_…`: verify the signatures with it.' }),
});
export type DestinationWithSecret = Static<typeof DestinationWithSecret>;

export const DestinationList = List(Destination);

/** The answer of `POST /v1/destinations/{id}/test`: what the receiver said. */
export const DestinationTestResult = Type.Object({
  ok: Type.Boolean({ description: 'The receiver answered 2xx in time.' }),
  status: Nullable(Type.Integer()),
  latency_ms: Type.Number(),
  response_body: Nullable(Type.String()),
  error: Nullable(Type.String()),
});
export type DestinationTestResult = Static<typeof DestinationTestResult>;

/** `POST /v1/destinations/{id}/replay`: how many deliveries were queued (a dry run: would be). */
export const ReplayAnswer = Type.Object({ queued: Type.Integer(), dry_run: Type.Boolean() });

/** `POST /v1/destinations/{id}/retry-failed`: how many failed deliveries were sent again (a dry run: would be). */
export const RetryFailedAnswer = Type.Object({ retried: Type.Integer(), dry_run: Type.Boolean() });
export type RetryFailedAnswer = Static<typeof RetryFailedAnswer>;

const HealthCounts = { delivered: Type.Integer(), failed: Type.Integer(), pending: Type.Integer() };

/** `GET /v1/destinations/health`: each destination's last 24 hours at a glance. */
export const DestinationHealthList = Type.Object({
  since: IsoTime({ description: 'The window\'s start: the hour 23 hours before the current one (24 hourly buckets, the last one the current hour).' }),
  data: Type.Array(Type.Object({
    destination_id: Type.String(),
    delivered: Type.Integer({ description: 'Deliveries created in the window that were delivered.' }),
    failed: Type.Integer({ description: 'Deliveries created in the window that failed for good.' }),
    pending: Type.Integer({ description: 'Every pending delivery, however old (a paused destination\'s backlog).' }),
    hourly: Type.Array(Type.Object({ start: IsoTime(), ...HealthCounts }), { description: '24 hours, oldest first: the deliveries created in each, by status now.' }),
    last_error: Nullable(Type.Object({ at: IsoTime(), status: Nullable(Type.Integer()), error: Type.String() }, { description: 'The error of the attempt that failed last, of the window\'s deliveries whose last attempt failed (at: when it was made).' })),
  })),
});
export type DestinationHealthList = Static<typeof DestinationHealthList>;
export type ReplayAnswer = Static<typeof ReplayAnswer>;
