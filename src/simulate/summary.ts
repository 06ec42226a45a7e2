import { quantile } from '../domain/stats.js';
import type { SendOutcome } from './dispatch.js';

/**
 * Counts what a simulation sent and how it was answered, and turns that into the closing summary. One
 * tally per run; `record` is called once per answered (or failed) request.
 */

export interface SimulationSummary {
  /** The ingest URL with its token cut (the URL is the source's only secret). */
  target: string;
  scenario: string;
  seed: number;
  /** The payloads' base time: rerun with the same seed, scenario and start for the same bytes. */
  start: string;
  calls: number;
  /** Requests answered or failed; fewer than planned when the run was interrupted. */
  sent: number;
  planned: number;
  /** By HTTP status code, and `error` for requests that got no answer. */
  by_status: Record<string, number>;
  /** Requests that got no answer or a non-2xx one. */
  failed: number;
  duplicates_sent: number;
  /** Duplicates Switchboard recognised (`"duplicate": true`). */
  duplicates_acknowledged: number;
  /** Calls whose end_call was sent before their start_call. */
  out_of_order_sent: number;
  /** The calls' `call_status`, as generated (only the calls reached, when the run was interrupted). */
  outcomes: Record<string, number>;
  latency_ms: { p50: number | null; p99: number | null; max: number | null };
  elapsed_sec: number;
  rate_achieved: {
    /** Requests answered per second over the whole run. */
    requests_per_sec: number;
    /**
     * The pace calls began at (the first request of each call, from the first to the last): what `--rate`
     * asks for. Null with fewer than two calls. The run lasts longer, since the last calls end later.
     */
    calls_per_sec: number | null;
  };
  /** The first few distinct errors, to say why requests failed. */
  errors: string[];
}

export type SummaryContext = Pick<SimulationSummary, 'target' | 'scenario' | 'seed' | 'start' | 'calls' | 'planned' | 'outcomes'>;

export interface Tally {
  record(outcome: SendOutcome): void;
  readonly sent: number;
  readonly failed: number;
  summary(context: SummaryContext, elapsedMs: number): SimulationSummary;
}

const maxErrorsKept = 5;

/**
 * @example
 * const tally = createTally();
 * await dispatch(sends, { …, onResult: tally.record });
 * console.log(formatSummary(tally.summary(context, elapsedMs)));
 */
export function createTally(): Tally {
  const byStatus: Record<string, number> = {};
  const latencies: number[] = [];
  const errors = new Set<string>();
  const outOfOrderCalls = new Set<number>();
  let sent = 0;
  let failed = 0;
  let duplicates = 0;
  let acknowledged = 0;
  // The first request of each call (its planned slot is the call's own): when calls began.
  let callsBegun = 0;
  let firstBeginMs = Infinity;
  let lastBeginMs = -Infinity;
  return {
    record(o) {
      sent++;
      const key = o.status === null ? 'error' : String(o.status);
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      latencies.push(o.latencyMs);
      if (!o.ok) {
        failed++;
        if (errors.size < maxErrorsKept) errors.add(o.error ?? `HTTP ${o.status}`);
      }
      if (o.send.duplicate) duplicates++;
      if (o.acknowledgedDuplicate) acknowledged++;
      if (o.send.outOfOrder) outOfOrderCalls.add(o.send.call);
      if (!o.send.duplicate && o.send.slot === o.send.call) {
        callsBegun++;
        firstBeginMs = Math.min(firstBeginMs, o.sentAtMs);
        lastBeginMs = Math.max(lastBeginMs, o.sentAtMs);
      }
    },
    get sent() {
      return sent;
    },
    get failed() {
      return failed;
    },
    summary(context, elapsedMs) {
      const sorted = Float64Array.from(latencies).sort();
      const elapsedSec = elapsedMs / 1000;
      const perSec = (n: number) => (elapsedSec > 0 ? round(n / elapsedSec, 1) : 0);
      const at = (p: number) => {
        const q = quantile(sorted, p);
        return q === null ? null : round(q, 1);
      };
      return {
        ...context,
        sent,
        by_status: Object.fromEntries(Object.entries(byStatus).sort(([a], [b]) => a.localeCompare(b))),
        failed,
        duplicates_sent: duplicates,
        duplicates_acknowledged: acknowledged,
        out_of_order_sent: outOfOrderCalls.size,
        latency_ms: { p50: at(0.5), p99: at(0.99), max: sorted.length > 0 ? sorted[sorted.length - 1]! : null },
        elapsed_sec: round(elapsedSec, 2),
        rate_achieved: {
          requests_per_sec: perSec(sent),
          calls_per_sec: callsBegun >= 2 && lastBeginMs > firstBeginMs ? round(((callsBegun - 1) * 1000) / (lastBeginMs - firstBeginMs), 1) : null,
        },
        errors: [...errors],
      };
    },
  };
}

/**
 * The summary as a few lines for people.
 *
 * @example
 * formatSummary(summary);
 * // 'Sent 104 requests for 50 calls to http://…/hooks/convolo/sbt_abcd… in 6.9 s (15.1 requests/s; calls began at 10/s).'
 * // 'By status: 200 ×104. Failed: 0.'  …
 */
export function formatSummary(s: SimulationSummary): string {
  const statuses = Object.entries(s.by_status).map(([code, n]) => `${code} ×${n}`).join(', ') || 'none';
  const outcomes = Object.entries(s.outcomes).map(([name, n]) => `${name} ${n}`).join(', ');
  const ms = (v: number | null) => (v === null ? '–' : `${v} ms`);
  const lines = [
    `Sent ${s.sent}${s.sent < s.planned ? ` of ${s.planned}` : ''} requests for ${s.calls} calls to ${s.target} in ${s.elapsed_sec} s ` +
      `(${s.rate_achieved.requests_per_sec} requests/s; calls began at ${s.rate_achieved.calls_per_sec ?? '–'}/s).`,
    `By status: ${statuses}. Failed: ${s.failed}.`,
    `Duplicates sent: ${s.duplicates_sent} (acknowledged as duplicates: ${s.duplicates_acknowledged}); out of order: ${s.out_of_order_sent} calls.`,
    `Latency: p50 ${ms(s.latency_ms.p50)}, p99 ${ms(s.latency_ms.p99)}, max ${ms(s.latency_ms.max)}.`,
    `Calls: ${outcomes} (scenario ${s.scenario}, seed ${s.seed}, start ${s.start}).`,
  ];
  for (const error of s.errors) lines.push(`Error: ${error}`);
  return lines.join('\n');
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
