/**
 * One accepted call as the mock imagines it: ids, the lead, the agent who takes it and its timeline.
 * Drawn once when the API accepts the request, so the start_call and end_call of a call agree.
 */
import { randomBytes } from 'node:crypto';
import { createFaker, createRoster, type Agent } from '../simulate/roster.js';
import type { AddCallRequest } from './add-call-request.js';
import { planTimeline, type CallTimeline, type OutcomeChoice } from './timeline.js';
import type { Widget } from './widgets.js';

export type { Agent } from '../simulate/roster.js';

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
  /** The page the lead came from and its referer (`lead.site_path`, `lead.referer`): null for API calls; set by `makeCalls`. */
  sitePath?: string | null;
  referer?: string | null;
}

// Random ids drawn 1024 at a time: a benchmark's 100,000 calls would spend most of their making in randomBytes.
let idPool: Buffer = Buffer.alloc(0);
let idOffset = 0;
function nextCallId(): string {
  if (idOffset >= idPool.length) {
    idPool = randomBytes(16 * 1024);
    idOffset = 0;
  }
  idOffset += 16;
  return idPool.toString('hex', idOffset - 16, idOffset);
}

export interface CallFactory {
  /** The agents calls are given to. */
  readonly roster: readonly Agent[];
  create(widget: Widget, request: AddCallRequest, requesterIp: string | null, now: number): SimulatedCall;
}

/**
 * Makes simulated calls. `seed` makes the data (agents, lead ids, durations, outcomes) repeatable; call ids
 * stay random even then, because two runs against one Switchboard must not produce the same call. The
 * agents are simulate's roster for the seed (fictional numbers in ranges reserved for drama).
 *
 * @example
 * const factory = createCallFactory({ outcome: 'answered', seed: 1 });
 * const call = factory.create(widget, request, '127.0.0.1', Date.now());
 */
export function createCallFactory(options: { outcome: OutcomeChoice; seed: number }): CallFactory {
  const roster = createRoster(options.seed).agents;
  const f = createFaker();
  // A stream of its own: the roster is drawn from [seed], simulate's calls from [seed, index].
  f.seed([options.seed, -1]);
  return {
    roster,
    create(widget, request, requesterIp, now) {
      const timeline = planTimeline(request.outcome ?? options.outcome, f);
      return {
        callId: nextCallId(),
        widget,
        request,
        requestedAt: now,
        startedAt: now + timeline.dialDelaySec * 1000,
        leadId: f.string.ulid({ refDate: now }),
        requesterIp,
        agent: timeline.agentAnsweredSec === null ? null : f.helpers.arrayElement(roster),
        timeline,
      };
    },
  };
}
