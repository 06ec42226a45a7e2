import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, List, Nullable, StringEnum } from './shared.js';

const strings = () => Nullable(Type.Array(Type.String()));

/** A destination as listed: its settings, health and a hint of its signing secret. */
export const Destination = Type.Object({
  id: Type.String({ description: '`dst_…`' }),
  url: Type.String(),
  description: Nullable(Type.String()),
  event_types: strings(),
  widget_keys: strings(),
  call_statuses: strings(),
  headers: Nullable(Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' }, description: 'Sent with every delivery.' })),
  rate_limit_per_sec: Nullable(Type.Integer()),
  max_concurrency: Nullable(Type.Integer({ description: 'The most webhook requests in flight to it per worker (null: the server\'s SWITCHBOARD_DESTINATION_CONCURRENCY).' })),
  status: StringEnum(['enabled', 'disabled']),
  disabled_at: Nullable(IsoTime()),
  disabled_reason: Nullable(Type.String()),
  failing_since: Nullable(IsoTime()),
  created_at: IsoTime(),
  updated_at: IsoTime(),
  secret_hint: Type.String({ description: '`whsec_…` and the secret\'s last four characters.' }),
  previous_secret_expires_at: Nullable(IsoTime({ description: 'After a rotation, until when deliveries are also signed with the previous secret.' })),
});
export type Destination = Static<typeof Destination>;

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

/** `POST /v1/destinations/{id}/replay`: how many deliveries were queued. */
export const ReplayAnswer = Type.Object({ queued: Type.Integer() });
export type ReplayAnswer = Static<typeof ReplayAnswer>;
