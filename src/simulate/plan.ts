import { SimpleFaker } from '@faker-js/faker';
import type { SimulatedCall } from './generate.js';

/**
 * The order and pacing of a simulation's requests, decided before anything is sent (pure, seeded): which
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

// A call's end_call is due one slot per simulated minute after its start (at least a quarter slot, at most
// twenty): pairs overlap the way real calls do, while the whole run is compressed into calls / rate seconds.
const slotsPerCallSec = 1 / 60;
const minEndSlots = 0.25;
const maxEndSlots = 20;
/** A duplicate is due this many slots after its original, at most (a retry comes a little later). */
const maxDuplicateDelaySlots = 3;

/**
 * @example
 * const sends = planSends(calls, { seed: 1, duplicates: 0.05, outOfOrder: 0.1 });
 * sends.length; // 2 × calls.length + the duplicates
 */
export function planSends(calls: readonly SimulatedCall[], options: PlanOptions): PlannedSend[] {
  const f = new SimpleFaker();
  const sends: PlannedSend[] = [];
  for (const call of calls) {
    // A three-element seed: never the stream of a payload ([seed, i]) or of the roster ([seed]).
    f.seed([options.seed, call.index, 1]);
    const outOfOrder = f.datatype.boolean({ probability: options.outOfOrder });
    const endSlots = Math.min(maxEndSlots, Math.max(minEndSlots, call.timeline.totalSec * slotsPerCallSec));
    const first = call.index;
    const later = call.index + endSlots;
    const pair = [
      { type: 'start_call' as const, body: call.startCall, slot: outOfOrder ? later : first },
      { type: 'end_call' as const, body: call.endCall, slot: outOfOrder ? first : later },
    ];
    for (const p of pair) {
      const base = { call: call.index, callId: call.callId, type: p.type, body: p.body, outOfOrder };
      sends.push({ ...base, slot: p.slot, duplicate: false });
      if (f.datatype.boolean({ probability: options.duplicates })) {
        sends.push({ ...base, slot: p.slot + f.number.float({ min: 0.1, max: maxDuplicateDelaySlots }), duplicate: true });
      }
    }
  }
  // Stable: equal slots keep the order pushed above (a call's own requests in their planned order).
  return sends.sort((a, b) => a.slot - b.slot);
}
