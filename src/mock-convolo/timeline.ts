/**
 * When each moment of a simulated call happens, in whole seconds after the call starts. Pure: the random
 * source (a seeded Faker) is passed in, so a seed replays the same call and a property test can walk every
 * outcome. The outcomes and the phase lengths are simulate's (src/simulate/outcome.ts), so the two tools
 * fill a dashboard with the same statuses and the same kind of calls; this adds the moments.
 *
 * Convolo's speed-to-lead call rings the agents first, then the lead once an agent answers, so the order
 * is always started ≤ agent answered ≤ lead answered ≤ ended. Durations are differences of those moments:
 *   answer_duration_sec      = agent answered − started   (how long agents' phones rang)
 *   lead_answer_duration_sec = lead answered − agent answered
 *   talk_duration_sec        = ended − lead answered
 *   total_duration_sec       = ended − started
 * A moment that never happened is null and the durations after it are 0, as an unanswered call has.
 */
import type { Faker } from '@faker-js/faker';
import { pickOutcome, timelineOf, type Outcome } from '../simulate/outcome.js';

export type { Outcome } from '../simulate/outcome.js';
export const outcomes = ['answered', 'lead_not_answering', 'agent_not_answering'] as const satisfies readonly Outcome[];
export type OutcomeChoice = Outcome | 'random';

/**
 * Whether a string names an outcome (or `random`).
 *
 * @example
 * isOutcomeChoice('answered'); // true
 */
export function isOutcomeChoice(value: string): value is OutcomeChoice {
  return value === 'random' || (outcomes as readonly string[]).includes(value);
}

export interface CallTimeline {
  outcome: Outcome;
  /** Seconds from the API request until the call starts (Convolo dials within seconds: speed to lead). */
  dialDelaySec: number;
  agentAnsweredSec: number | null;
  leadAnsweredSec: number | null;
  endedSec: number;
  answerDurationSec: number;
  leadAnswerDurationSec: number;
  talkDurationSec: number;
  totalDurationSec: number;
  /** Convolo's `disconnected_by`: who hung up, or `system` when the call rang out. */
  disconnectedBy: 'agent' | 'lead' | 'system';
}

/**
 * Plans one call. `random` draws as simulate's `mix` scenario (about 60 % answered); the phase lengths are
 * simulate's: agents answer in 2–25 s, leads in 3–30 s, unanswered rings give up after 20–45 s, talks last
 * 15 s to 20 min.
 *
 * @example
 * const t = planTimeline('answered', faker);
 * t.totalDurationSec === t.answerDurationSec + t.leadAnswerDurationSec + t.talkDurationSec; // true
 */
export function planTimeline(choice: OutcomeChoice, f: Faker): CallTimeline {
  const outcome = choice === 'random' ? pickOutcome(f, 'mix') : choice;
  const t = timelineOf(f, outcome);
  return {
    outcome,
    // An API call is dialled at once: a few seconds, not simulate's minutes of a web-form lead.
    dialDelaySec: f.number.int({ min: 1, max: 5 }),
    agentAnsweredSec: t.agentAnswered ? t.answerSec : null,
    leadAnsweredSec: t.leadAnswered ? t.answerSec + t.leadAnswerSec : null,
    endedSec: t.totalSec,
    answerDurationSec: t.answerSec,
    leadAnswerDurationSec: t.leadAnswerSec,
    talkDurationSec: t.talkSec,
    totalDurationSec: t.totalSec,
    disconnectedBy: t.disconnectedBy,
  };
}
