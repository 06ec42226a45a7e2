import { setTimeout as sleep } from 'node:timers/promises';
import { createSender } from '../relay/send.js';
import { createSlots } from '../relay/slots.js';
import type { PlannedSend } from './plan.js';
import { maxTimerMs } from '../sdk/http.js';

/**
 * Sends a plan's requests: each when it is due at `rate` calls per second, at most `concurrency` in flight,
 * over kept-alive connections (the relay's sender: one undici Agent). A call's own requests go strictly
 * one after the other — an out-of-order end_call really arrives before its start_call, and a duplicate
 * after its original — while different calls overlap freely.
 */

export interface SendOutcome {
  send: PlannedSend;
  /** The HTTP status, or null when no answer came (network error, timeout). */
  status: number | null;
  ok: boolean;
  latencyMs: number;
  /** When it was sent, in ms since the first request was due. */
  sentAtMs: number;
  /** Switchboard answered `"duplicate": true` (it had these bytes already). */
  acknowledgedDuplicate: boolean;
  error: string | null;
}

export interface DispatchOptions {
  url: string;
  /** Calls per second; 0 sends as fast as `concurrency` allows. */
  rate: number;
  concurrency: number;
  onResult(outcome: SendOutcome): void;
  /** Stops scheduling new requests (those in flight finish). */
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * @example
 * await dispatch(planSends(calls, plan), { url: ingestUrl, rate: 10, concurrency: 8, onResult: tally.record });
 */
export async function dispatch(sends: Iterable<PlannedSend>, options: DispatchOptions): Promise<void> {
  // The target is whatever the user points at (usually a Switchboard on localhost): no SSRF guard.
  const sender = createSender({ timeoutMs: options.timeoutMs ?? 30_000, allowPrivate: true, userAgent: 'switchboard-simulate', maxConnectionsPerOrigin: options.concurrency });
  const slots = createSlots(options.concurrency);
  const previousOfCall = new Map<number, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  const began = performance.now();
  try {
    for (const send of sends) {
      if (options.signal?.aborted) break;
      if (options.rate > 0) await sleepUntil(began + (send.slot / options.rate) * 1000, options.signal);
      if (options.signal?.aborted) break;
      await slots.acquire();
      const previous = previousOfCall.get(send.call) ?? Promise.resolve();
      const task = previous.then(async () => {
        try {
          const sentAtMs = performance.now() - began;
          const result = await sender.send({ url: options.url, headers: {}, body: send.body });
          options.onResult({
            send,
            status: result.status,
            ok: result.ok,
            latencyMs: result.latencyMs,
            sentAtMs,
            acknowledgedDuplicate: result.ok && isDuplicateAnswer(result.responseBody),
            error: result.error,
          });
        } finally {
          slots.release();
        }
      });
      // The chain must go on whatever happens to one request, or a call's later requests would never go.
      const settled = task.then(() => {}, () => {});
      previousOfCall.set(send.call, settled);
      inFlight.add(task);
      void settled.then(() => {
        inFlight.delete(task);
        if (previousOfCall.get(send.call) === settled) previousOfCall.delete(send.call);
      });
    }
    await Promise.all(inFlight);
  } finally {
    await sender.close();
  }
}

function isDuplicateAnswer(body: string): boolean {
  try {
    return (JSON.parse(body) as { duplicate?: unknown }).duplicate === true;
  } catch {
    return false;
  }
}

/**
 * Waits until `performance.now()` reaches `at`, or the signal aborts (then resolves at once). A request due
 * later than a timer can wait (a very low --rate) is waited for in steps.
 */
async function sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
  for (let ms = at - performance.now(); ms > 1 && !signal?.aborted; ms = at - performance.now()) {
    await sleep(Math.min(ms, maxTimerMs), undefined, { signal }).catch(() => {});
  }
}
