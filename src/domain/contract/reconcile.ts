import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, Nullable, StringEnum } from './shared.js';

/** A source's Convolo call list settings, as shown: never the key, only its last four characters. */
export const ConvoloSettings = Type.Object({
  source_id: Type.String(),
  api_key_hint: Type.String({ description: 'The key masked: `…` and its last four characters.' }),
  widget_ids: Type.Array(Type.String(), { description: 'The widgets asked for; empty: every widget the key sees.' }),
});
export type ConvoloSettings = Static<typeof ConvoloSettings>;

/** A reconcile run or a backfill step: what Convolo listed and what Switchboard lacked. */
export const ReconcileRun = Type.Object({
  id: Type.String({ description: '`rcn_…`' }),
  kind: StringEnum(['reconcile', 'backfill']),
  started_at: IsoTime(),
  finished_at: Nullable(IsoTime({ description: 'Null while it runs.' })),
  date_from: Type.String({ description: '`YYYY-MM-DD` (UTC), as sent to Convolo.' }),
  date_to: Type.String(),
  fetched: Type.Integer({ description: 'Calls the call list returned.' }),
  already_present: Type.Integer({ description: 'Of those, calls whose end_call Switchboard had.' }),
  added: Type.Integer({ description: 'Appended, marked `reconcile`: the webhooks Convolo never delivered.' }),
  errors: Type.Integer({ description: 'Unusable items, plus one when a request failed and ended the run.' }),
  error: Nullable(Type.Object({
    code: Type.String({ description: 'unauthorized, rate_limited, server_error, http_error, malformed_json, unexpected_shape, too_large, network, timeout, lease_lost (the periodic run lost its lease), interrupted (the server shut down) or internal.' }),
    status: Nullable(Type.Integer()),
    detail: Nullable(Type.String({ description: "The first bytes of Convolo's answer (or the error's message); never the key." })),
  })),
});
export type ReconcileRun = Static<typeof ReconcileRun>;

/** `GET /v1/sources/{id}/reconcile`. */
export const ReconcileStatus = Type.Object({
  source_id: Type.String(),
  convolo: Nullable(ConvoloSettings),
  interval_min: Type.Integer(),
  lookback_hours: Type.Integer(),
  next_run_at: Nullable(IsoTime({ description: "When this node's worker runs next (null: no key, or this node is not a worker)." })),
  last_run: Nullable(ReconcileRun),
  runs: Type.Array(ReconcileRun, { description: 'The last 20 runs and backfill steps, newest first.' }),
});
export type ReconcileStatus = Static<typeof ReconcileStatus>;

/** `POST /v1/sources/{id}/backfill`: the step's run, and the page to ask for next (null: the range is done). */
export const BackfillStep = Type.Object({ run: ReconcileRun, next_page: Nullable(Type.Integer()) });
export type BackfillStep = Static<typeof BackfillStep>;
