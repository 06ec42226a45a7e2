/**
 * Plays each accepted call's lifecycle against the webhook URL: `start_call` once the call starts, then
 * `end_call` when it is over (or only the after-call, as a form, in the legacy format). Durations are the
 * simulated ones multiplied by `timeScale`, so a demo's 60 s call takes 3 s and a test's takes nothing.
 * The end_call of a call is never posted before its start_call has been answered (or given up on): Convolo
 * sends them minutes apart, and a compressed timeline must not reorder them.
 */
import { endCallPayload, legacyFormBody, startCallPayload } from './payloads.js';
import type { SimulatedCall } from './simulated-call.js';
import { maskPhone } from './mask.js';
import type { WebhookAttempt, WebhookSender } from './webhook-sender.js';
import { maxTimerMs } from '../sdk/http.js';

export type CallState = 'dialling' | 'in_progress' | 'ended' | 'abandoned';

export interface WebhookStatus {
  /** The last attempt's status code (null: no answer yet, or never). */
  status: number | null;
  attempts: WebhookAttempt[];
  done: boolean;
  /** Not posted on purpose (`--drop-webhooks`): the call is still in the call list. */
  dropped?: boolean;
}

/** What the status page and /calls.json show of a call: no full phone number, custom param names only. */
export interface CallRecord {
  call_id: string;
  requested_at: string;
  widget_key: string;
  widget_name: string;
  lead_phone: string;
  outcome: string;
  state: CallState;
  custom_param_names: string[];
  webhooks: { start_call: WebhookStatus | null; end_call: WebhookStatus | null };
}

export interface CallRunnerOptions {
  webhookUrl: string;
  legacyFormat: boolean;
  /** Wall-clock ms per simulated ms: 1 is real time, 0 posts at once. */
  timeScale: number;
  send: WebhookSender;
  /** How many calls the records keep (oldest dropped first). */
  keep?: number;
  /** One line per webhook attempt (no full phone number). */
  log?: (line: string) => void;
  /** Called when a call is over, just before its end_call is posted (or dropped): Convolo now lists it. */
  onEnd?: (call: SimulatedCall) => void;
}

export interface RunOptions {
  /** Skip posting this call's end_call (its start_call is still posted). */
  dropEndCall?: boolean;
}

export interface CallRunner {
  /** Newest first. */
  readonly records: readonly CallRecord[];
  /** Starts a call's lifecycle; resolves at once with its record (updated as the call goes on). */
  run(call: SimulatedCall, runOptions?: RunOptions): CallRecord;
  /** Resolves when every lifecycle started so far has finished (tests wait on this). */
  idle(): Promise<void>;
  /**
   * Stops: `flush` posts every pending webhook now (no more waiting) and waits for them; `abandon` drops
   * what has not been posted and aborts what is being posted. Either way resolves within `timeoutMs`.
   */
  close(mode: 'flush' | 'abandon', timeoutMs?: number): Promise<void>;
}

/**
 * A runner over a sender.
 *
 * @example
 * const runner = createCallRunner({ webhookUrl, legacyFormat: false, timeScale: 0, send: createWebhookSender() });
 * const record = runner.run(call);
 * await runner.idle(); // record.webhooks.end_call?.status === 200
 */
export function createCallRunner(options: CallRunnerOptions): CallRunner {
  const records: CallRecord[] = [];
  const keep = options.keep ?? 200;
  const running = new Set<Promise<void>>();
  let flushing = false;
  let abandoning = false;
  const wakers = new Set<() => void>();

  // Resolves after `ms` scaled, or at once when the runner flushes or abandons. A wait longer than a timer
  // can make (2^31 - 1 ms, which Node runs after 1 ms: a large --time-scale) is made in steps.
  const sleep = (simulatedMs: number) =>
    new Promise<void>((resolve) => {
      if (flushing || abandoning) return resolve();
      let timer: NodeJS.Timeout;
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const until = Date.now() + Math.max(0, simulatedMs * options.timeScale);
      const step = () => {
        const left = until - Date.now();
        timer = left > maxTimerMs ? setTimeout(step, maxTimerMs) : setTimeout(wake, left);
      };
      step();
      wakers.add(wake);
    });

  async function post(call: SimulatedCall, record: CallRecord, event: 'start_call' | 'end_call'): Promise<void> {
    const status: WebhookStatus = { status: null, attempts: [], done: false };
    record.webhooks[event] = status;
    const payload = event === 'start_call' ? startCallPayload(call) : endCallPayload(call);
    const request = options.legacyFormat
      ? { event, body: legacyFormBody(payload), contentType: 'application/x-www-form-urlencoded' }
      : { event, body: JSON.stringify(payload), contentType: 'application/json' };
    // One line per attempt, as it happens: a developer whose receiver is down sees it at once, not after
    // the last retry.
    await options.send(options.webhookUrl, request, (attempt) => {
      status.attempts.push(attempt);
      status.status = attempt.status;
      const answer = attempt.status === null ? `no answer (${attempt.error ?? 'error'})` : String(attempt.status);
      const nth = status.attempts.length > 1 ? ` (attempt ${status.attempts.length})` : '';
      options.log?.(`${event.padEnd(10)} ${call.callId.slice(0, 8)}… ${record.widget_name} ${record.lead_phone} (${record.outcome}) → ${answer}${nth}`);
    });
    status.done = true;
  }

  async function lifecycle(call: SimulatedCall, record: CallRecord, dropEndCall: boolean): Promise<void> {
    const t = call.timeline;
    await sleep(t.dialDelaySec * 1000);
    if (abandoning) return void (record.state = 'abandoned');
    record.state = 'in_progress';
    if (!options.legacyFormat) await post(call, record, 'start_call');
    // The start_call post may have taken a while; the call's end is still counted from its start.
    await sleep(t.endedSec * 1000);
    if (abandoning) return void (record.state = 'abandoned');
    options.onEnd?.(call);
    if (dropEndCall) {
      record.webhooks.end_call = { status: null, attempts: [], done: true, dropped: true };
      record.state = 'ended';
      options.log?.(`${'end_call'.padEnd(10)} ${call.callId.slice(0, 8)}… ${record.widget_name} ${record.lead_phone} (${record.outcome}) → dropped on purpose (--drop-webhooks)`);
      return;
    }
    await post(call, record, 'end_call');
    const answered = record.webhooks.end_call?.status ?? null;
    record.state = abandoning && (answered === null || answered >= 500) ? 'abandoned' : 'ended';
  }

  return {
    get records() {
      return records;
    },
    run(call, runOptions = {}) {
      const record: CallRecord = {
        call_id: call.callId,
        requested_at: new Date(call.requestedAt).toISOString(),
        widget_key: call.widget.key,
        widget_name: call.widget.name,
        lead_phone: maskPhone(call.request.leadPhone),
        outcome: call.timeline.outcome,
        state: 'dialling',
        custom_param_names: Object.keys(call.request.customParams),
        webhooks: { start_call: null, end_call: null },
      };
      records.unshift(record);
      if (records.length > keep) records.length = keep;
      const done: Promise<void> = lifecycle(call, record, runOptions.dropEndCall ?? false)
        .catch((error: unknown) => options.log?.(`call ${call.callId.slice(0, 8)}… failed: ${(error as Error).message}`))
        .finally(() => running.delete(done));
      running.add(done);
      return record;
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    async close(mode, timeoutMs = 5_000) {
      if (mode === 'flush') flushing = true;
      else abandoning = true;
      for (const wake of [...wakers]) wake();
      const all = Promise.all([...running]);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const outcome = await Promise.race([all.then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        abandoning = true;
        for (const wake of [...wakers]) wake();
      }
    },
  };
}
