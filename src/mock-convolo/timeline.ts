/**
 * When each moment of a simulated call happens, in whole seconds after the call starts. Pure: the random
 * source is passed in, so a seed replays the same call and a property test can walk every outcome.
 *
 * Convolo's speed-to-lead call rings the agents first, then the lead once an agent answers, so the order
 * is always started ≤ agent answered ≤ lead answered ≤ ended. Durations are differences of those moments:
 *   answer_duration_sec      = agent answered − started   (how long agents' phones rang)
 *   lead_answer_duration_sec = lead answered − agent answered
 *   talk_duration_sec        = ended − lead answered
 *   total_duration_sec       = ended − started
 * A moment that never happened is null and the durations after it are 0, as an unanswered call has.
 */
export const outcomes = ['answered', 'lead_not_answering', 'agent_not_answering'] as const;
export type Outcome = (typeof outcomes)[number];
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

/** A uniform random number in [0, 1), as Math.random. */
export type Random = () => number;

/**
 * Plans one call. `random` weighs the `random` choice 60 % answered, 25 % lead not answering, 15 % agent
 * not answering (roughly what a speed-to-lead team sees), and draws plausible ring and talk durations.
 *
 * @example
 * const t = planTimeline('answered', Math.random);
 * t.totalDurationSec === t.answerDurationSec + t.leadAnswerDurationSec + t.talkDurationSec; // true
 */
export function planTimeline(choice: OutcomeChoice, random: Random): CallTimeline {
  const outcome = choice === 'random' ? pickOutcome(random) : choice;
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const dialDelaySec = between(1, 5);
  if (outcome === 'agent_not_answering') {
    // Agents' phones ring until the group's timeout; nobody picks up, so the lead is never dialled.
    const ring = between(20, 45);
    return { outcome, dialDelaySec, agentAnsweredSec: null, leadAnsweredSec: null, endedSec: ring, answerDurationSec: 0, leadAnswerDurationSec: 0, talkDurationSec: 0, totalDurationSec: ring, disconnectedBy: 'system' };
  }
  const agentRing = between(2, 15);
  if (outcome === 'lead_not_answering') {
    const leadRing = between(20, 40);
    const ended = agentRing + leadRing;
    return { outcome, dialDelaySec, agentAnsweredSec: agentRing, leadAnsweredSec: null, endedSec: ended, answerDurationSec: agentRing, leadAnswerDurationSec: 0, talkDurationSec: 0, totalDurationSec: ended, disconnectedBy: 'system' };
  }
  const leadRing = between(3, 20);
  const talk = between(15, 300);
  const leadAnswered = agentRing + leadRing;
  return {
    outcome,
    dialDelaySec,
    agentAnsweredSec: agentRing,
    leadAnsweredSec: leadAnswered,
    endedSec: leadAnswered + talk,
    answerDurationSec: agentRing,
    leadAnswerDurationSec: leadRing,
    talkDurationSec: talk,
    totalDurationSec: leadAnswered + talk,
    disconnectedBy: random() < 0.6 ? 'agent' : 'lead',
  };
}

function pickOutcome(random: Random): Outcome {
  const r = random();
  if (r < 0.6) return 'answered';
  return r < 0.85 ? 'lead_not_answering' : 'agent_not_answering';
}

/**
 * A small seedable generator (mulberry32): the same seed gives the same calls, without a global state.
 *
 * @example
 * const random = seededRandom(42);
 * random(); // always the same first number for seed 42
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
