import type { Faker } from '@faker-js/faker';

/**
 * How a simulated call goes: who answered, for how long each phase lasted. Convolo rings the agent first
 * and, once an agent picks up, dials the lead (speed-to-lead), so the order is always
 * started ≤ agent answered ≤ lead answered ≤ ended.
 */

/**
 * `--scenario`: `mix` (about 60 % answered, 10 % delayed), `answered`, `missed` (none answered), `delayed`.
 *
 * @example
 * scenarios.includes(value as Scenario); // a valid --scenario
 */
export const scenarios = ['mix', 'answered', 'missed', 'delayed'] as const;
export type Scenario = (typeof scenarios)[number];

/**
 * The `call_status` values we simulate. Convolo documents only `answered` (the field is an open string,
 * SPEC "What Convolo sends"); the others are the names mock-convolo uses for the same outcomes, so both
 * tools fill a dashboard with the same statuses.
 */
export type Outcome = 'answered' | 'lead_not_answering' | 'agent_not_answering';

export interface Timeline {
  outcome: Outcome;
  /** Whole seconds, as Convolo reports them; 0 for a phase that never happened. */
  answerSec: number;
  leadAnswerSec: number;
  talkSec: number;
  totalSec: number;
  agentAnswered: boolean;
  leadAnswered: boolean;
  disconnectedBy: 'agent' | 'lead' | 'system';
}

const notAnswered = [
  { value: 'lead_not_answering', weight: 65 },
  { value: 'agent_not_answering', weight: 35 },
] as const;
// `mix`: about 60 % answered, the rest split as in `missed`.
const mixed = [{ value: 'answered', weight: 60 }, ...notAnswered.map((o) => ({ ...o, weight: (o.weight * 40) / 100 }))] as const;

/**
 * Picks the outcome for a scenario (`delayed` has the mix's outcomes; what makes it delayed is the lead's age).
 *
 * @example
 * pickOutcome(f, 'missed'); // 'lead_not_answering' or 'agent_not_answering'
 */
export function pickOutcome(f: Faker, scenario: Scenario): Outcome {
  if (scenario === 'answered') return 'answered';
  return f.helpers.weightedArrayElement<Outcome>(scenario === 'missed' ? [...notAnswered] : [...mixed]);
}

/** The phases' lengths in seconds (see timelineOf). */
const phaseSec = {
  agentAnswer: { min: 2, max: 25 },
  leadAnswer: { min: 3, max: 30 },
  talk: { min: 15, max: 20 * 60 },
  givingUp: { min: 20, max: 45 },
} as const;

/** The longest a simulated call lasts, start to end: an answered one whose every phase is at its longest. */
export const longestCallSec =
  phaseSec.agentAnswer.max + Math.max(phaseSec.leadAnswer.max + phaseSec.talk.max, phaseSec.givingUp.max);

/**
 * Plausible phase lengths for an outcome: agents pick up in 2–25 s, leads in 3–30 s, rings give up after
 * 20–45 s, conversations last 15 s to 20 min (log-uniform: most are short, a few long).
 *
 * @example
 * const t = timelineOf(f, 'answered'); // { answerSec: 7, leadAnswerSec: 12, talkSec: 143, totalSec: 162, … }
 */
export function timelineOf(f: Faker, outcome: Outcome): Timeline {
  const agentAnswered = outcome !== 'agent_not_answering';
  const leadAnswered = outcome === 'answered';
  const answerSec = agentAnswered ? f.number.int(phaseSec.agentAnswer) : 0;
  const leadAnswerSec = leadAnswered ? f.number.int(phaseSec.leadAnswer) : 0;
  const talkSec = leadAnswered ? logUniform(f, phaseSec.talk.min, phaseSec.talk.max) : 0;
  // How long the unanswered leg rang before Convolo gave up.
  const givingUp = leadAnswered ? 0 : f.number.int(phaseSec.givingUp);
  return {
    outcome,
    answerSec,
    leadAnswerSec,
    talkSec,
    totalSec: answerSec + leadAnswerSec + talkSec + givingUp,
    agentAnswered,
    leadAnswered,
    disconnectedBy: leadAnswered ? f.helpers.arrayElement(['agent', 'lead'] as const) : 'system',
  };
}

/**
 * Speed to lead (lead created → call started): seconds to minutes, or hours for a delayed call.
 *
 * @example
 * speedToLeadSec(f, false); // 3 … 600
 */
export function speedToLeadSec(f: Faker, delayed: boolean): number {
  return delayed ? logUniform(f, 30 * 60, 14 * 3600) : logUniform(f, 3, 10 * 60);
}

function logUniform(f: Faker, min: number, max: number): number {
  return Math.round(Math.exp(f.number.float({ min: Math.log(min), max: Math.log(max) })));
}
