import { Type, type Static } from '@sinclair/typebox';
import { statsGroupBys } from '../stats.js';
import { Nullable, StringEnum } from './shared.js';

const nullableNumber = () => Nullable(Type.Number());

const band = (description: string) => Type.Integer({ minimum: 0, description });

/** One hour, day, hour of the week, widget, agent, source or disconnected_by of a stats answer. */
export const StatsBucket = Type.Object({
  key: Nullable(Type.String(), {
    description:
      'hour: the local hour start with its offset; day: YYYY-MM-DD in tz; weekday_hour: ISO weekday and local hour, 1T09 ' +
      '(Monday 09:00–10:00 in tz); widget/agent/source: the id; disconnected_by: the call record\'s value (null: calls without one).',
  }),
  name: Type.Optional(Nullable(Type.String(), { description: 'widget, agent and source only: a readable name, when one is known.' })),
  weekday: Type.Optional(Type.Integer({ minimum: 1, maximum: 7, description: 'weekday_hour only: ISO weekday, 1 = Monday … 7 = Sunday.' })),
  hour: Type.Optional(Type.Integer({ minimum: 0, maximum: 23, description: 'weekday_hour only: the local hour in tz.' })),
  hours: Type.Optional(Type.Integer({
    minimum: 0,
    description: 'weekday_hour only: how many of this cell\'s local hours the range holds that have begun by now (0: the range does not reach it, so no calls is not a measurement).',
  })),
  calls: Type.Integer(),
  answered: Type.Integer(),
  answer_rate: Nullable(Type.Number(), { description: 'answered / calls; null for no calls.' }),
  speed_to_lead_median_sec: nullableNumber(),
  speed_to_lead_p90_sec: nullableNumber(),
  talk_time_mean_sec: Nullable(Type.Number(), { description: 'Over answered calls that have a talk duration.' }),
  speed_to_lead_within_60_sec: band('Calls with speed_to_lead_sec ≤ 60 (cumulative bands: each "within" includes the shorter ones).'),
  speed_to_lead_within_300_sec: band('Calls with speed_to_lead_sec ≤ 300 (includes those within 60).'),
  speed_to_lead_within_900_sec: band('Calls with speed_to_lead_sec ≤ 900 (includes those within 300).'),
  speed_to_lead_over_900_sec: band('Calls with speed_to_lead_sec > 900.'),
  speed_to_lead_unknown: band('Calls without a speed to lead (no lead creation time or no start). within_900 + over_900 + unknown = calls.'),
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
