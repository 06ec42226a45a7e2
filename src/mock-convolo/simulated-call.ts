/**
 * One accepted call as the mock imagines it: ids, the lead, the agent who takes it and its timeline.
 * Drawn once when the API accepts the request, so the start_call and end_call of a call agree.
 */
import { randomBytes } from 'node:crypto';
import { Faker, base, en } from '@faker-js/faker';
import type { AddCallRequest } from './add-call-request.js';
import { planTimeline, type CallTimeline, type OutcomeChoice, type Random } from './timeline.js';
import type { Widget } from './widgets.js';

export interface Agent {
  id: number;
  phone: string;
  name: string;
  email: string;
}

export interface SimulatedCall {
  /** 32 lowercase hex characters, like Convolo's. */
  callId: string;
  widget: Widget;
  request: AddCallRequest;
  /** When the API accepted the request (epoch ms): the lead's creation time. */
  requestedAt: number;
  /** When the call starts (epoch ms): requestedAt plus the dial delay. */
  startedAt: number;
  leadId: string;
  /** Who asked the API, kept as the lead's `ip` (Convolo records where a lead came from). */
  requesterIp: string | null;
  /** null when no agent answered. */
  agent: Agent | null;
  timeline: CallTimeline;
}

export interface CallFactory {
  /** The agents calls are given to. */
  readonly roster: readonly Agent[];
  create(widget: Widget, request: AddCallRequest, requesterIp: string | null, now: number): SimulatedCall;
}

/**
 * Makes simulated calls. `seed` makes the data (agents, lead ids, durations, outcomes) repeatable; call ids
 * stay random even then, because two runs against one Switchboard must not produce the same call.
 *
 * @example
 * const factory = createCallFactory({ outcome: 'answered', random: seededRandom(1), seed: 1 });
 * const call = factory.create(widget, request, '127.0.0.1', Date.now());
 */
export function createCallFactory(options: { outcome: OutcomeChoice; random: Random; seed: number; rosterSize?: number }): CallFactory {
  const faker = new Faker({ locale: [en, base] });
  faker.seed(options.seed);
  const roster: Agent[] = Array.from({ length: options.rosterSize ?? 4 }, (_, index) => {
    const firstName = faker.person.firstName();
    const lastName = faker.person.lastName();
    return {
      id: 10_000 + index * 1_111 + faker.number.int({ min: 0, max: 999 }),
      phone: faker.phone.number({ style: 'international' }),
      name: `${firstName} ${lastName}`,
      email: faker.internet.email({ firstName, lastName, provider: 'example.com' }).toLowerCase(),
    };
  });
  return {
    roster,
    create(widget, request, requesterIp, now) {
      const timeline = planTimeline(request.outcome ?? options.outcome, options.random);
      const agent = timeline.agentAnsweredSec === null ? null : roster[Math.floor(options.random() * roster.length)]!;
      return {
        callId: randomBytes(16).toString('hex'),
        widget,
        request,
        requestedAt: now,
        startedAt: now + timeline.dialDelaySec * 1000,
        leadId: faker.string.ulid({ refDate: now }),
        requesterIp,
        agent,
        timeline,
      };
    },
  };
}
