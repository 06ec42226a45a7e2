import { backoffMs, sleep } from '../sdk/http.js';
import type { StreamEvent } from '../sdk/subscribe.js';
import { signatureHeaders } from '../relay/signing.js';

/** A 2xx within this time is success, as for Switchboard's own destinations (SPEC "Outbound webhooks"). */
const timeoutMs = 15_000;
/** A local app that is down is retried quickly at first (it is being restarted), then every 30 s at most. */
const retryBackoff = { baseMs: 500, maxMs: 30_000 };

/**
 * @example
 * const options: ForwarderOptions = { url: 'http://localhost:3000/hooks', secret: 'whsec_…', signal, print: console.log };
 */
export interface ForwarderOptions {
  url: string;
  secret: string;
  /** Aborting stops a retry loop: `forward` then resolves false. */
  signal: AbortSignal;
  print: (line: string) => void;
  fetch?: typeof fetch;
}

/**
 * Re-posts events to the local app, signed per Standard Webhooks with the local secret, and retries one
 * that the app refuses or cannot take (non-2xx, refused connection, timeout) until it answers 2xx: the
 * caller advances its cursor only then, so no event is skipped. `webhook-id` is the event id, the same
 * on every attempt, for the app to deduplicate on; the timestamp and signature are fresh per attempt.
 * Prints one line per attempt.
 *
 * @example
 * const forwarder = createForwarder({ url: 'http://localhost:3000/webhooks', secret, signal, print: console.log });
 * if (await forwarder.forward(event)) writeCursor(path, stream, event.seq, logId);
 */
export function createForwarder(options: ForwarderOptions) {
  const fetchImpl = options.fetch ?? globalThis.fetch;

  /** One attempt: the status (0 when no answer) and the error text. */
  async function attempt(event: StreamEvent): Promise<{ status: number; error: string | null; latencyMs: number }> {
    const started = performance.now();
    const signed = signatureHeaders({ id: event.envelope.id, timestampSec: Math.floor(Date.now() / 1000), payload: event.json, secrets: [options.secret] });
    try {
      const response = await fetchImpl(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Switchboard-CLI-listen/1.0', ...signed },
        body: event.json,
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]),
      });
      // Read to the end, so the connection can be reused and the latency covers the whole answer.
      await response.arrayBuffer();
      return { status: response.status, error: null, latencyMs: performance.now() - started };
    } catch (error) {
      return { status: 0, error: describeFetchError(error), latencyMs: performance.now() - started };
    }
  }

  return {
    /** Resolves true once the local app answered 2xx, false when stopped first. */
    async forward(event: StreamEvent): Promise<boolean> {
      for (let failures = 0; !options.signal.aborted; failures++) {
        const result = await attempt(event);
        if (options.signal.aborted) return false;
        const head = eventLine(event);
        if (result.status >= 200 && result.status < 300) {
          options.print(`${head}  → ${result.status} (${Math.round(result.latencyMs)} ms)`);
          return true;
        }
        const wait = backoffMs(failures, retryBackoff);
        const outcome = result.error ?? `${result.status} (${Math.round(result.latencyMs)} ms)`;
        options.print(`${head}  → ${outcome}; retrying in ${(wait / 1000).toFixed(1)} s (not skipped)`);
        await sleep(wait, options.signal);
      }
      return false;
    },
  };
}

/**
 * The start of an event's line: time, seq, type and call id (no phone numbers or other payload fields).
 *
 * @example
 * eventLine(event); // '2026-11-27T12:31:05.120Z  #42  call.started  call 8f1c…'
 */
export function eventLine(event: StreamEvent): string {
  const call = event.envelope.call_id === null ? '' : `  call ${event.envelope.call_id}`;
  return `${new Date().toISOString()}  #${event.seq}  ${event.type}${call}`;
}

function describeFetchError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `not reachable (${cause ?? e?.message ?? String(error)})`;
}
