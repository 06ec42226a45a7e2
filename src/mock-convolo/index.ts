/**
 * `createMockConvolo(options)`: a local stand-in for Convolo — its call API (`/rest/v1/ext/add_call_api/`),
 * a simulated lifecycle per accepted call posting `start_call` and `end_call` to a webhook URL, its call
 * list API (`/api/v2/calls/payload-data-list`) over every call it made, and a status page. Used by
 * `switchboard mock-convolo` and, in-process, by tests.
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAddCallRequest } from './add-call-request.js';
import { createCallListStore, type CallListFault, type CallListRequestRecord } from './call-list.js';
import { createCallRunner, type CallRecord } from './call-runner.js';
import { MockError } from './errors.js';
import { readRequestFields } from './request-fields.js';
import { createCallFactory, type Agent, type SimulatedCall } from './simulated-call.js';
import { createFaker } from '../simulate/roster.js';
import { renderStatusPage, statusPagePolicy } from './status-page.js';
import type { OutcomeChoice } from './timeline.js';
import { createWebhookSender } from './webhook-sender.js';
import { createWidgetRegistry, generateWidget, type Widget } from './widgets.js';

export { parseWidgetFlag, loadWidgetFile, generateWidget, type Widget } from './widgets.js';
export { isOutcomeChoice, type OutcomeChoice } from './timeline.js';
export type { CallRecord } from './call-runner.js';
export type { CallListFault, CallListRequestRecord } from './call-list.js';

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
  /**
   * The share of calls (0..1) whose end_call webhook is not posted (their start_call still is); they stay in
   * the call list. Which calls: drawn from the seed, in the order calls are made. Default 0.
   */
  dropWebhooks?: number;
  /** The mock's clock: when a call is requested (its lead's creation time) and the call list's default period (the last 30 days). Default Date.now. */
  now?: () => number;
}

/**
 * Calls made without the HTTP call API (`makeCalls`), for tests and benchmarks.
 *
 * @example
 * mock.makeCalls(200);                                                       // posted as if requested now
 * mock.makeCalls(1000, { webhooks: false, at: (i) => Date.parse('2026-01-01') + i * 60_000 }); // history
 */
export interface MakeCallsOptions {
  /** A widget or its key; default the first. */
  widget?: Widget | string;
  /** Default: the mock's outcome. */
  outcome?: OutcomeChoice;
  /** When each call was requested (epoch ms), or a function of its index; default the mock's `now()`. */
  at?: number | ((index: number) => number);
  /**
   * true (default): the call runs as an API call does (start_call, then end_call unless dropped, on the
   * mock's time scale) and is listed once over. false: a call of the past, listed at once, never posted.
   */
  webhooks?: boolean;
  /** The lead's number for each call; default `+1415555` 0100–0199 (numbers reserved for fiction). */
  leadPhone?: (index: number) => string;
  customParams?: Record<string, string>;
  /** `lead.site_path` and `lead.referer` (null for API calls otherwise). */
  sitePath?: string;
  referer?: string;
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
  /** Makes `count` calls at once, without HTTP; returns their call ids in the order made. */
  makeCalls(count: number, options?: MakeCallsOptions): string[];
  /** Every listable call's end_call payload (exactly as posted, or as it would have been), newest first. */
  listedCalls(): Array<Record<string, unknown>>;
  /** The calls whose end_call was (or, still running, will be) dropped on purpose, in the order made. */
  readonly droppedCallIds: readonly string[];
  /** The call list answers this fault (instead of the calls) for the next `times` requests; faults queue. */
  injectCallListFaults(fault: CallListFault): void;
  clearCallListFaults(): void;
  /** The call list requests received (the key shown as `***`), oldest first, the last 1000. */
  readonly callListRequests: readonly CallListRequestRecord[];
}

const apiPath = /^\/rest\/v1\/ext\/add_call_api\/?$/;
const listPath = /^\/api\/v2\/calls\/payload-data-list\/?$/;
const faultsPath = '/_mock/call-list-faults';

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
  const dropRate = options.dropWebhooks ?? 0;
  if (!(dropRate >= 0 && dropRate <= 1)) throw new RangeError('dropWebhooks is a share of calls, from 0 to 1.');
  // Its own stream of the seed, drawn once per call made: the same seed drops the same calls (by order).
  const dropper = createFaker();
  dropper.seed([seed, -2]);
  const droppedCallIds: string[] = [];
  const clock = options.now ?? Date.now;
  const list = createCallListStore({ now: clock });
  const runner = createCallRunner({
    webhookUrl: options.webhookUrl,
    legacyFormat: options.legacyFormat ?? false,
    timeScale: options.timeScale ?? 0.05,
    send: createWebhookSender({ retryDelaysMs: options.retryDelaysMs, signal: aborter.signal }),
    log: options.log,
    onEnd: (call) => list.add(call),
  });
  let baseUrl = '';

  function start(call: SimulatedCall): void {
    const drop = dropRate > 0 && dropper.number.float({ min: 0, max: 1 }) < dropRate;
    if (drop) droppedCallIds.push(call.callId);
    runner.run(call, { dropEndCall: drop });
  }

  function makeCalls(count: number, made: MakeCallsOptions = {}): string[] {
    const widget = typeof made.widget === 'string' ? registry.widgets.find((w) => w.key === made.widget) : (made.widget ?? registry.widgets[0]);
    if (!widget) throw new Error(`makeCalls: no widget has the key ${String(made.widget)}`);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const at = typeof made.at === 'function' ? made.at(i) : (made.at ?? clock());
      const request = {
        widgetKey: widget.key, apiKey: widget.apiKey, leadPhone: made.leadPhone?.(i) ?? `+1415555${String(100 + (i % 100)).padStart(4, '0')}`,
        leadPhone2: null, country: null, message: null, customParams: { ...made.customParams }, outcome: made.outcome ?? null,
      };
      const call: SimulatedCall = { ...factory.create(widget, request, '127.0.0.1', at), sitePath: made.sitePath ?? null, referer: made.referer ?? null };
      if (made.webhooks === false) list.add(call);
      else start(call);
      ids.push(call.callId);
    }
    return ids;
  }
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
      const call = factory.create(widget, request, remoteIp(req), clock());
      start(call);
      // Convolo documents no response body; Pipedream's Convolo action reads `callId`, and our webhooks
      // name the same id `call_id`, so both are given.
      return send(res, 200, { success: true, callId: call.callId, call_id: call.callId });
    }
    if (listPath.test(url.pathname)) {
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        throw new MockError('read_only');
      }
      const answer = list.answer(url.searchParams, registry.widgetsOfApiKey);
      res.writeHead(answer.status, { 'cache-control': 'no-store', ...answer.headers }).end(answer.body);
      return;
    }
    if (url.pathname === faultsPath) {
      if (req.method === 'DELETE') {
        list.clearFaults();
        return send(res, 200, { success: true });
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST, DELETE');
        throw new MockError('method_not_allowed');
      }
      const fault = readFault(new Map(await readRequestFields(req, url)));
      list.queueFaults(fault);
      return send(res, 200, { success: true, fault });
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
      const html = renderStatusPage({
        baseUrl, webhookUrl: options.webhookUrl, legacyFormat: options.legacyFormat ?? false, widgets: registry.widgets, calls: runner.records,
        dropped: { rate: dropRate, count: droppedCallIds.length },
      });
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
    makeCalls,
    listedCalls: () => list.payloads(),
    droppedCallIds,
    injectCallListFaults: (fault) => list.queueFaults(readFault(new Map(Object.entries(fault)))),
    clearCallListFaults: () => list.clearFaults(),
    get callListRequests() {
      return list.requests;
    },
  };
}

/** A fault from `POST /_mock/call-list-faults` (snake_case) or `injectCallListFaults` (camelCase), checked. */
function readFault(fields: Map<string, unknown>): CallListFault {
  const wrong = (why: string) => new MockError('invalid_fault', { params: { why } });
  const number = (name: string) => {
    const value = fields.get(name);
    return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  };
  const status = number('status');
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) throw wrong('status must be an HTTP status');
  const times = number('times') ?? 1;
  if (typeof times !== 'number' || !Number.isInteger(times) || times < 1) throw wrong('times must be a whole number ≥ 1');
  const retryAfter = number('retry_after') ?? number('retryAfter');
  if (retryAfter !== undefined && typeof retryAfter !== 'number' && typeof retryAfter !== 'string') throw wrong('retry_after must be seconds or an HTTP date');
  const body = fields.get('body');
  if (body !== undefined && typeof body !== 'string') throw wrong('body must be text (the exact bytes to answer)');
  const contentType = fields.get('content_type') ?? fields.get('contentType');
  if (contentType !== undefined && typeof contentType !== 'string') throw wrong('content_type must be text');
  return { status, times, ...(retryAfter === undefined ? {} : { retryAfter }), ...(body === undefined ? {} : { body }), ...(contentType === undefined ? {} : { contentType }) };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}

function remoteIp(req: IncomingMessage): string | null {
  const ip = req.socket.remoteAddress ?? null;
  return ip?.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
}
