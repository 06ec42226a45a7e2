/**
 * Posts one webhook the way a real sender does: a few retries on a network error, a timeout, a 5xx, 408 or
 * 429 (any other 4xx is the receiver's final answer), a timeout per attempt, and a record of every attempt
 * for the status page.
 */
export interface WebhookAttempt {
  at: string;
  /** The HTTP status, or null when no answer came (network error, timeout). */
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookResult {
  event: 'start_call' | 'end_call';
  attempts: WebhookAttempt[];
  /** The last attempt's status (null: never answered). */
  status: number | null;
  ok: boolean;
}

export interface WebhookSenderOptions {
  /** Delays before each retry, in ms; its length is the number of retries. */
  retryDelaysMs?: readonly number[];
  timeoutMs?: number;
  /** Aborts every pending send and retry wait (the mock is closing). */
  signal?: AbortSignal;
}

export interface WebhookRequest {
  event: 'start_call' | 'end_call';
  body: string;
  contentType: string;
}

export type WebhookSender = (url: string, request: WebhookRequest, onAttempt?: (attempt: WebhookAttempt) => void) => Promise<WebhookResult>;

/**
 * A sender with the given retry policy.
 *
 * @example
 * const send = createWebhookSender({ retryDelaysMs: [500, 2000] });
 * const result = await send('http://127.0.0.1:8787/hooks/convolo/sbt_…', { event: 'end_call', body, contentType: 'application/json' });
 */
export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const retryDelays = options.retryDelaysMs ?? [1_000, 5_000, 15_000];
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (url, request, onAttempt) => {
    const attempts: WebhookAttempt[] = [];
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      let status: number | null = null;
      let error: string | null = null;
      try {
        const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': request.contentType, 'user-agent': 'switchboard-mock-convolo' },
          body: request.body,
          signal: AbortSignal.any(signals),
        });
        status = response.status;
        await response.body?.cancel();
      } catch (e) {
        error = describe(e);
      }
      const record = { at: new Date(started).toISOString(), status, error, durationMs: Date.now() - started };
      attempts.push(record);
      onAttempt?.(record);
      const retryable = status === null || status >= 500 || status === 408 || status === 429;
      if (!retryable || attempt >= retryDelays.length || options.signal?.aborted) {
        return { event: request.event, attempts, status, ok: status !== null && status >= 200 && status < 300 };
      }
      await wait(retryDelays[attempt]!, options.signal);
    }
  };
}

function describe(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  if (e?.name === 'AbortError') return 'aborted: the mock is closing';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
