import { Type, type Static } from '@sinclair/typebox';
import { statsGroupBys } from '../stats.js';
import { Nullable, StringEnum } from './shared.js';

const nullableNumber = () => Nullable(Type.Number());

/** One hour, day, widget, agent or source of a stats answer. */
export const StatsBucket = Type.Object({
  key: Nullable(Type.String(), {
    description: 'hour: the local hour start with its offset; day: YYYY-MM-DD in tz; widget/agent/source: the id (null: calls without one).',
  }),
  name: Type.Optional(Nullable(Type.String(), { description: 'widget, agent and source only: a readable name, when one is known.' })),
  calls: Type.Integer(),
  answered: Type.Integer(),
  answer_rate: Nullable(Type.Number(), { description: 'answered / calls; null for no calls.' }),
  speed_to_lead_median_sec: nullableNumber(),
  speed_to_lead_p90_sec: nullableNumber(),
  talk_time_mean_sec: Nullable(Type.Number(), { description: 'Over answered calls that have a talk duration.' }),
});
export type StatsBucket = Static<typeof StatsBucket>;

/** `GET /v1/stats`. */
export const Stats = Type.Object({
  group_by: StringEnum(statsGroupBys),
  tz: Type.String(),
  from: Type.String({ description: 'The range start, in tz with its offset.' }),
  to: Type.String({ description: 'The range end (exclusive), in tz with its offset.' }),
  buckets: Type.Array(StatsBucket),
});
export type Stats = Static<typeof Stats>;
