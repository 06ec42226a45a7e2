/**
 * `createMockConvolo(options)`: a local stand-in for Convolo — its call API (`/rest/v1/ext/add_call_api/`),
 * a simulated lifecycle per accepted call posting `start_call` and `end_call` to a webhook URL, and a
 * status page. Used by `switchboard mock-convolo` and, in-process, by tests.
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAddCallRequest } from './add-call-request.js';
import { createCallRunner, type CallRecord } from './call-runner.js';
import { MockError } from './errors.js';
import { readRequestFields } from './request-fields.js';
import { createCallFactory, type Agent } from './simulated-call.js';
import { renderStatusPage, statusPagePolicy } from './status-page.js';
import type { OutcomeChoice } from './timeline.js';
import { createWebhookSender } from './webhook-sender.js';
import { createWidgetRegistry, generateWidget, type Widget } from './widgets.js';

export { parseWidgetFlag, loadWidgetFile, generateWidget, type Widget } from './widgets.js';
export { isOutcomeChoice, type OutcomeChoice } from './timeline.js';
export type { CallRecord } from './call-runner.js';

export interface MockConvoloOptions {
  /** Where the webhooks go (Switchboard's ingest URL, for instance). */
  webhookUrl: string;
  /** 0 picks a free port. Default 8790. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: one generated widget (see `widgets` on the result). */
  widgets?: Widget[];
  /** No start_call, and the after-call posted as a form (Convolo with "post json in new format" off). */
  legacyFormat?: boolean;
  /** Default outcome of a call; a request can override it with `mock_outcome` or `x-mock-outcome`. Default answered. */
  outcome?: OutcomeChoice;
  /** Wall-clock ms per simulated ms. Default 0.05 (a 60 s call takes 3 s); 0 posts at once. */
  timeScale?: number;
  /** Makes outcomes, durations, agents and lead ids repeatable (call ids stay random). */
  seed?: number;
  /** Delays before each webhook retry, ms. Default [1000, 5000, 15000]. */
  retryDelaysMs?: number[];
  /** One line per webhook result (no full phone numbers). */
  log?: (line: string) => void;
}

export interface MockConvolo {
  listen(): Promise<{ url: string }>;
  /** `flush` (default) posts what is pending at once; `abandon` drops it. Then stops the server. */
  close(mode?: 'flush' | 'abandon'): Promise<void>;
  /** The base URL once listening. */
  readonly url: string;
  /** Recent calls, newest first. */
  readonly calls: readonly CallRecord[];
  readonly widgets: readonly Widget[];
  readonly roster: readonly Agent[];
  /** Resolves once every call accepted so far has posted its webhooks. */
  idle(): Promise<void>;
}

const apiPath = /^\/rest\/v1\/ext\/add_call_api\/?$/;

/**
 * A mock Convolo (not yet listening).
 *
 * @example
 * const mock = createMockConvolo({ webhookUrl: ingestUrl, port: 0, timeScale: 0 });
 * const { url } = await mock.listen();
 * const [widget] = mock.widgets;
 * await fetch(`${url}/rest/v1/ext/add_call_api/`, {
 *   method: 'POST', headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ widget_key: widget.key, api_key: widget.apiKey, lc_number: '+14155550100', lc_param_deal_id: 'D-42' }),
 * }); // 200 {"success":true,"callId":"…","call_id":"…"}
 * await mock.idle();
 * await mock.close();
 */
export function createMockConvolo(options: MockConvoloOptions): MockConvolo {
  const registry = createWidgetRegistry(options.widgets?.length ? options.widgets : [generateWidget()]);
  const seed = options.seed ?? randomInt(2 ** 31);
  const factory = createCallFactory({ outcome: options.outcome ?? 'answered', seed });
  const aborter = new AbortController();
  const runner = createCallRunner({
    webhookUrl: options.webhookUrl,
    legacyFormat: options.legacyFormat ?? false,
    timeScale: options.timeScale ?? 0.05,
    send: createWebhookSender({ retryDelaysMs: options.retryDelaysMs, signal: aborter.signal }),
    log: options.log,
  });
  let baseUrl = '';
  let closing = false;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof MockError ? error : null;
      if (!e) options.log?.(`internal error: ${(error as Error).message}`);
      const body = e ? e.toJSON() : { success: false, error: 'internal', message: 'An unexpected error occurred in the mock.' };
      // A refused body may not have been read; closing the connection keeps the next request clean.
      if (!res.headersSent) send(res, e?.status ?? 500, body, e?.code === 'payload_too_large' ? { connection: 'close' } : {});
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock.invalid');
    if (apiPath.test(url.pathname)) {
      if (req.method !== 'GET' && req.method !== 'POST') {
        res.setHeader('allow', 'GET, POST');
        throw new MockError('method_not_allowed');
      }
      if (closing) throw new MockError('shutting_down');
      const { request, widget } = parseAddCallRequest(await readRequestFields(req, url), registry.authenticate);
      const call = factory.create(widget, request, remoteIp(req), Date.now());
      runner.run(call);
      // Convolo documents no response body; Pipedream's Convolo action reads `callId`, and our webhooks
      // name the same id `call_id`, so both are given.
      return send(res, 200, { success: true, callId: call.callId, call_id: call.callId });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (url.pathname === '/' || url.pathname === '/calls.json') {
        res.setHeader('allow', 'GET');
        throw new MockError('read_only');
      }
      throw new MockError('not_found');
    }
    if (url.pathname === '/calls.json') return send(res, 200, { calls: runner.records });
    if (url.pathname === '/') {
      const html = renderStatusPage({ baseUrl, webhookUrl: options.webhookUrl, legacyFormat: options.legacyFormat ?? false, widgets: registry.widgets, calls: runner.records });
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': statusPagePolicy,
        'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
      }).end(html);
      return;
    }
    throw new MockError('not_found');
  }

  return {
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 8790, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const { address, port } = server.address() as AddressInfo;
      baseUrl = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
      return { url: baseUrl };
    },
    async close(mode = 'flush') {
      closing = true;
      if (mode === 'abandon') aborter.abort();
      await runner.close(mode);
      aborter.abort();
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
    get url() {
      return baseUrl;
    },
    get calls() {
      return runner.records;
    },
    widgets: registry.widgets,
    roster: factory.roster,
    idle: () => runner.idle(),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}

function remoteIp(req: IncomingMessage): string | null {
  const ip = req.socket.remoteAddress ?? null;
  return ip?.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
}
