import type { ConvoloOtherEvent, EventOfType, SwitchboardEvent } from './envelope.js';
import { verifyWebhook, WebhookVerificationError, type VerifyOptions } from './verify.js';

/**
 * A webhook endpoint over the web-standard `Request`/`Response` (any runtime: Node 18+, Deno, Bun, edge
 * functions; `toNodeListener` adapts it to `node:http`). The status codes steer Switchboard's retries: 2xx
 * acknowledges, anything else is retried on its schedule, so a handler that throws gets the event again.
 */

/**
 * Everything a handler gets besides the event.
 *
 * @example
 * const handlers: WebhookHandlers = { 'call.ended': (event, { request }) => log(request.headers.get('webhook-id')) };
 */
export interface HandlerContext {
  request: Request;
}

/**
 * A handler for one kind of event; it may return a promise, which is awaited before answering.
 *
 * @example
 * const onEnded: EventHandler<CallEndedEvent> = async (event) => crm.update(event.call_id, event.call.status);
 */
export type EventHandler<E> = (event: E, context: HandlerContext) => unknown;

/**
 * One handler per event type (all optional). `'*'` gets every event that has no handler of its own;
 * `onError` hears about every refused or failed webhook (for logging: the answer stays the same).
 *
 * @example
 * const handlers: WebhookHandlers = {
 *   'call.ended': (event) => console.log(event.data.call_status),
 *   '*': (event) => console.log('other', event.type),
 * };
 */
export type WebhookHandlers = {
  [T in Exclude<SwitchboardEvent['type'], ConvoloOtherEvent['type']>]?: EventHandler<EventOfType<T>>;
} & {
  [T in ConvoloOtherEvent['type']]?: EventHandler<ConvoloOtherEvent>;
} & {
  '*'?: EventHandler<SwitchboardEvent>;
  onError?: (error: unknown, context: HandlerContext & { event?: SwitchboardEvent }) => void;
};

/** @example createHandler(handlers, { secret: [newSecret, oldSecret], toleranceSec: 600 }); */
export interface HandlerOptions extends VerifyOptions {
  /** The destination's secret (`whsec_…`), or several while rotating. */
  secret: string | readonly string[];
}

/**
 * A `(request) => Promise<Response>` webhook endpoint: reads the raw body, verifies its signature, calls the
 * handler for the event's type with the typed event, and answers 200 when it returns, 400 (JSON
 * `{ error, message }`) for a bad signature or body, 500 when the handler throws (Switchboard retries),
 * 405 for a method other than POST.
 *
 * @example
 * const handle = createHandler(
 *   {
 *     'call.started': (event) => console.log('ringing', event.call.lead?.custom_params),
 *     'call.ended': async (event) => saveOutcome(event.call_id, event.data.call_status),
 *   },
 *   { secret: process.env.SWITCHBOARD_SECRET! },
 * );
 * export default { fetch: handle }; // Bun, Deno, Cloudflare; or http.createServer(toNodeListener(handle))
 */
export function createHandler(handlers: WebhookHandlers, options: HandlerOptions): (request: Request) => Promise<Response> {
  const { secret, ...verifyOptions } = options;
  const report = (error: unknown, context: HandlerContext & { event?: SwitchboardEvent }) => {
    try {
      handlers.onError?.(error, context);
    } catch {
      // A failing logger must not change the answer.
    }
  };
  return async (request) => {
    if (request.method !== 'POST') return json(405, { error: 'method_not_allowed', message: 'Switchboard webhooks are POST requests.' }, { allow: 'POST' });
    let event: SwitchboardEvent;
    try {
      event = verifyWebhook(new Uint8Array(await request.arrayBuffer()), request.headers, secret, verifyOptions);
    } catch (error) {
      report(error, { request });
      if (!(error instanceof WebhookVerificationError)) return json(400, { error: 'unreadable_body', message: 'The request body could not be read.' });
      // A bad secret is this server's misconfiguration, not the sender's fault: a 5xx keeps the event for later.
      return json(error.code === 'invalid_secret' ? 500 : 400, { error: error.code, message: error.message });
    }
    const handler = (handlers as Record<string, EventHandler<SwitchboardEvent> | undefined>)[event.type] ?? handlers['*'];
    try {
      await handler?.(event, { request });
    } catch (error) {
      report(error, { request, event });
      return json(500, { error: 'handler_failed', message: `The ${event.type} handler threw; Switchboard will retry.` });
    }
    return json(200, { received: true, handled: handler !== undefined });
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}
