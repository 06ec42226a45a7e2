import { SimpleFaker } from '@faker-js/faker';
import type { SimulatedCall } from './generate.js';

/**
 * The order and pacing of a simulation's requests, decided before they are sent (pure, seeded): which
 * requests are resent (duplicates), which calls have their end_call arrive first (out of order), and when
 * each request is due. Decided with its own generator per call, so changing `--duplicates` never changes
 * the payloads, and the payloads never change the decisions.
 */

export interface PlannedSend {
  call: number;
  callId: string;
  type: 'start_call' | 'end_call';
  body: string;
  /**
   * When it is due, in call slots from the beginning: call `i` starts in slot `i`, so at `--rate R` a
   * request is sent `slot / R` seconds in.
   */
  slot: number;
  /** A second copy of a request already planned, byte for byte (Convolo retrying). */
  duplicate: boolean;
  /** Its call's end_call is planned before its start_call. */
  outOfOrder: boolean;
}

export interface PlanOptions {
  seed: number;
  /** Probability, per request, that it is sent twice. */
  duplicates: number;
  /** Probability, per call, that its end_call is sent before its start_call. */
  outOfOrder: number;
}

/** What is decided about one call apart from its payloads. */
export interface CallDecision {
  outOfOrder: boolean;
  /** How many slots after its original each request's duplicate is due; null: sent once. */
  startCopyAfter: number | null;
  endCopyAfter: number | null;
}

// A call's end_call is due one slot per simulated minute after its start (at least a quarter slot, at most
// twenty): pairs overlap the way real calls do, while the whole run is compressed into calls / rate seconds.
const slotsPerCallSec = 1 / 60;
const minEndSlots = 0.25;
const maxEndSlots = 20;
/** A duplicate is due this many slots after its original, at most (a retry comes a little later). */
const maxCopyDelaySlots = 3;

/**
 * Decides call `index`'s order and duplicates. Cheap (no payload is made), so the number of requests a
 * run will send can be known before it starts.
 *
 * @example
 * const decide = createDecider({ seed: 1, duplicates: 0.05, outOfOrder: 0.1 });
 * decide(0); // { outOfOrder: false, startCopyAfter: null, endCopyAfter: 1.7 }, for seed 1 always
 */
export function createDecider(options: PlanOptions): (index: number) => CallDecision {
  const f = new SimpleFaker();
  return (index) => {
    // A three-element seed: never the stream of a payload ([seed, i]) or of the roster ([seed]).
    f.seed([options.seed, index, 1]);
    const copy = () => (f.datatype.boolean({ probability: options.duplicates }) ? f.number.float({ min: 0.1, max: maxCopyDelaySlots }) : null);
    const outOfOrder = f.datatype.boolean({ probability: options.outOfOrder });
    const startCopyAfter = copy();
    return { outOfOrder, startCopyAfter, endCopyAfter: copy() };
  };
}

/**
 * How many requests `calls` calls make under `options`.
 *
 * @example
 * countPlanned(50, { seed: 1, duplicates: 0.05, outOfOrder: 0.1 }); // 100 + the duplicates, e.g. 104
 */
export function countPlanned(calls: number, options: PlanOptions): number {
  // Without duplicates every call makes its two requests: no need to walk a million calls (50 µs each) first.
  if (options.duplicates === 0) return 2 * calls;
  const decide = createDecider(options);
  let n = 0;
  for (let i = 0; i < calls; i++) {
    const d = decide(i);
    n += 2 + (d.startCopyAfter === null ? 0 : 1) + (d.endCopyAfter === null ? 0 : 1);
  }
  return n;
}

/**
 * The requests of `calls` (consecutive indexes, ascending) in the order they are due. Lazy and in bounded memory:
 * no request of a later call is due before that call's index, so everything due earlier can go as soon as
 * the call is reached (a million calls plan in the memory of a few dozen).
 *
 * @example
 * const sends = [...planSends(calls, { seed: 1, duplicates: 0.05, outOfOrder: 0.1 })];
 * sends.length; // 2 × calls.length + the duplicates
 */
export function* planSends(calls: Iterable<SimulatedCall>, options: PlanOptions): Generator<PlannedSend> {
  const decide = createDecider(options);
  // Sorted by slot; equal slots keep the order they were added in (a call's own requests in plan order).
  const pending: PlannedSend[] = [];
  const add = (send: PlannedSend) => pending.splice(upperBound(pending, send.slot), 0, send);
  for (const call of calls) {
    while (pending.length > 0 && pending[0]!.slot < call.index) yield pending.shift()!;
    const d = decide(call.index);
    const endSlots = Math.min(maxEndSlots, Math.max(minEndSlots, call.timeline.totalSec * slotsPerCallSec));
    const first = call.index;
    const later = call.index + endSlots;
    const pair = [
      { type: 'start_call' as const, body: call.startCall, slot: d.outOfOrder ? later : first, copyAfter: d.startCopyAfter },
      { type: 'end_call' as const, body: call.endCall, slot: d.outOfOrder ? first : later, copyAfter: d.endCopyAfter },
    ];
    for (const p of pair) {
      const base = { call: call.index, callId: call.callId, type: p.type, body: p.body, outOfOrder: d.outOfOrder };
      add({ ...base, slot: p.slot, duplicate: false });
      if (p.copyAfter !== null) add({ ...base, slot: p.slot + p.copyAfter, duplicate: true });
    }
  }
  yield* pending;
}

function upperBound(sorted: readonly PlannedSend[], slot: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.slot <= slot) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
