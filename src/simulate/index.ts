import { randomInt } from 'node:crypto';
import { redactUrl } from '../domain/redact.js';
import { dispatch, type SendOutcome } from './dispatch.js';
import { callSpacingSec, createGenerator, type SimulatedCall } from './generate.js';
import { longestCallSec, type Scenario } from './outcome.js';
import { countPlanned, planSends, type PlannedSend } from './plan.js';
import { createTally, type SimulationSummary } from './summary.js';

export { formatSummary, type SimulationSummary } from './summary.js';
export { scenarios, type Scenario } from './outcome.js';

/**
 * `switchboard simulate` as a function: generate seeded Convolo traffic, send it to an ingest URL, and say
 * how it was answered.
 */

export interface PlanInput {
  calls: number;
  scenario: Scenario;
  /** Omitted: a random one, reported in the summary so the run can be repeated. */
  seed?: number;
  /** The payloads' base time (ISO or epoch ms). Omitted: `fixedStart` with a seed, now without. */
  start?: string | number;
  /** Probability per request of a duplicate (0–1). */
  duplicates?: number;
  /** Probability per call that its end_call goes first (0–1). */
  outOfOrder?: number;
}

export interface SimulationPlan {
  seed: number;
  /** The payloads' base time, epoch ms (whole seconds). */
  start: number;
  /** The calls, made on demand: the same ones on every iteration. */
  calls(): Generator<SimulatedCall>;
  /** The requests in the order they are due, made on demand (bounded memory, however many calls). */
  sends(calls?: Iterable<SimulatedCall>): Generator<PlannedSend>;
  /** How many requests `sends()` yields (decided without making the payloads). */
  planned(): number;
}

export interface SimulationOptions extends PlanInput {
  to: string;
  /** Calls per second; 0 for as fast as `concurrency` allows. */
  rate: number;
  concurrency?: number;
  /** Also return every call made and every request sent with its answer (tests; memory grows with the run). */
  keepRequests?: boolean;
  onProgress?(sent: number, failed: number, planned: number): void;
  signal?: AbortSignal;
}

export interface SentRequest {
  call_id: string;
  type: PlannedSend['type'];
  body: string;
  duplicate: boolean;
  status: number | null;
}

export interface SimulationResult {
  summary: SimulationSummary;
  calls?: Array<{ call_id: string; outcome: string; delayed: boolean }>;
  requests?: SentRequest[];
}

/**
 * The base time of seeded runs that give no `start`: a Monday morning, so that `--seed 7` means the same
 * bytes today and next year. Unseeded runs, and `start: 'now'`, end now (endingNow).
 *
 * @example
 * planSimulation({ calls: 1, scenario: 'mix', seed: 7 }).start === fixedStart; // true
 */
export const fixedStart = Date.parse('2026-01-05T08:00:00.000Z');

/**
 * The whole simulation, decided and not sent: the calls' payloads and the requests in order. Pure for a
 * given seed and start (the clock is read only for `start: 'now'`, or when neither seed nor start is given).
 *
 * @example
 * const plan = planSimulation({ calls: 5, scenario: 'mix', seed: 1 });
 * for (const send of plan.sends()) console.log(send.body); // the same bytes on every run
 */
export function planSimulation(input: PlanInput): SimulationPlan {
  const seed = input.seed ?? randomInt(0, 2 ** 31);
  const start =
    input.start !== undefined && input.start !== 'now' ? toEpochMs(input.start)
    : input.start === undefined && input.seed !== undefined ? fixedStart
    : endingNow(seed, input.scenario, input.calls);
  const generator = createGenerator({ seed, scenario: input.scenario, start });
  const decisions = { seed, duplicates: input.duplicates ?? 0, outOfOrder: input.outOfOrder ?? 0 };
  function* calls() {
    for (let i = 0; i < input.calls; i++) yield generator.call(i);
  }
  return {
    seed,
    start: Math.floor(start / 1000) * 1000,
    calls,
    sends: (of = calls()) => planSends(of, decisions),
    planned: () => countPlanned(input.calls, decisions),
  };
}

/**
 * Plans and sends a simulation; resolves with the summary once every request was answered (or failed).
 *
 * @example
 * const { summary } = await runSimulation({ to: ingestUrl, calls: 50, rate: 20, scenario: 'mix', seed: 1, duplicates: 0.05 });
 * summary.failed; // 0 when Switchboard accepted everything
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const plan = planSimulation(options);
  const planned = plan.planned();
  const tally = createTally();
  const requests: SentRequest[] = [];
  const kept: NonNullable<SimulationResult['calls']> = [];
  const outcomes: Record<string, number> = {};
  // Counted as the plan makes them, so nothing holds every call at once (unless asked to keep them).
  function* counted() {
    for (const call of plan.calls()) {
      outcomes[call.outcome] = (outcomes[call.outcome] ?? 0) + 1;
      if (options.keepRequests) kept.push({ call_id: call.callId, outcome: call.outcome, delayed: call.delayed });
      yield call;
    }
  }
  options.onProgress?.(0, 0, planned);
  const began = performance.now();
  await dispatch(plan.sends(counted()), {
    url: options.to,
    rate: options.rate,
    concurrency: options.concurrency ?? 8,
    signal: options.signal,
    onResult(o: SendOutcome) {
      tally.record(o);
      if (options.keepRequests) requests.push({ call_id: o.send.callId, type: o.send.type, body: o.send.body, duplicate: o.send.duplicate, status: o.status });
      options.onProgress?.(tally.sent, tally.failed, planned);
    },
  });
  const summary = tally.summary(
    {
      target: redactUrl(options.to), scenario: options.scenario, seed: plan.seed, start: new Date(plan.start).toISOString(),
      calls: options.calls, planned, outcomes,
    },
    performance.now() - began,
  );
  return { summary, ...(options.keepRequests ? { calls: kept, requests } : {}) };
}

/**
 * The base time of a run that ends now (`--start now`, or neither seed nor start): the calls are a replay,
 * compressed in time, of the recent past, placed so that the last call to end has ended a second before the
 * run begins: no payload is dated after the clock (dashboards, "today" and "last hour" see them all).
 * Only the last calls can end last: one that starts `longestCallSec` + a slot before the last call's start
 * has ended before it starts. So those are generated once more (on a base of their own) to find the end.
 *
 * @example
 * endingNow(7, 'mix', 200); // about 100 minutes ago
 */
function endingNow(seed: number, scenario: Scenario, calls: number): number {
  const probeBase = fixedStart;
  const probe = createGenerator({ seed, scenario, start: probeBase });
  const mayEndLast = Math.ceil((longestCallSec + callSpacingSec) / callSpacingSec);
  let lastEnd = probeBase;
  for (let i = Math.max(0, calls - mayEndLast); i < calls; i++) {
    lastEnd = Math.max(lastEnd, Date.parse((JSON.parse(probe.call(i).endCall) as { time_ended_iso_string: string }).time_ended_iso_string));
  }
  return Date.now() - (lastEnd - probeBase) - 1000;
}

function toEpochMs(value: string | number): number {
  const ms = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  // Leads are created up to 14 h before their call, and their ULIDs cannot encode times before 1970.
  if (!Number.isFinite(ms) || ms < Date.UTC(2000, 0, 1) || ms > Date.UTC(9000, 0, 1)) {
    throw new Error(`--start must be an ISO time (or epoch milliseconds) from the year 2000 to 9000, not ${JSON.stringify(value)}`);
  }
  return ms;
}
