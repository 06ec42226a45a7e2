import type {
  About, ApiKeyInfo, CreatedInvitation, Invitation, Call, CallDetail, CallFilters, CreatedApiKey, CreatedSource, Delivery, DeliveryFilters, Destination,
  DestinationHealthList, DestinationMaybeSecret, DestinationSettings, DestinationTestResult, DestinationWithSecret, EventDetail, EventFilters, EventSummary, Page,
  NewUser, QuarantineCounts, ConvoloSettings, ReconcileRun, ReconcileStatus, BackfillStep, ReplayAnswer, ReplayParams, ReprocessCounts, ReprocessResult, RetryFailedAnswer, RotatedSource, Source, Stats, StatsParams, User,
} from './client-types.js';
import { apiErrorOf, authHeader, buildUrl, connectionError, credentialsFor, SwitchboardApiError, type FetchLike, type QueryValue } from './http.js';

export type * from './client-types.js';
export { SwitchboardApiError, type FetchLike } from './http.js';

/**
 * @example
 * const options: ClientOptions = { baseUrl: 'http://127.0.0.1:8787', apiKey: 'sbk_…' };
 */
export interface ClientOptions {
  /** Where Switchboard runs, e.g. `https://switchboard.example.com` (a path prefix is kept). */
  baseUrl: string;
  /**
   * An API key (`sbk_…`): `read` scope for calls, events and stats; `admin` for the rest. Omitted in the
   * dashboard: no `Authorization` header is sent and the browser's session cookie of the same origin is.
   */
  apiKey?: string;
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
}

/**
 * A typed client for Switchboard's REST API, one namespace per resource as in octokit. Every method
 * resolves with the server's JSON as is (snake_case, ISO times) and rejects with a `SwitchboardApiError`
 * whose `code` is the server's stable error code.
 *
 * @example
 * import { createClient } from 'switchboard/sdk';
 * const switchboard = createClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: process.env.SWITCHBOARD_API_KEY! });
 * const { data } = await switchboard.calls.list({ status: 'answered', limit: 10 });
 * for await (const call of switchboard.calls.iterate({ widget_key: 'wk_1' })) console.log(call.call_id, call.status);
 */
export function createClient(options: ClientOptions) {
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const { baseUrl, apiKey } = options;

  /** The 2xx response itself, for bodies that are not JSON (CSV, raw bytes); errors as for `request`. */
  async function open(method: string, path: string, init: { query?: object; body?: unknown; accept?: string } = {}): Promise<Response> {
    const url = buildUrl(baseUrl, path, init.query as Record<string, QueryValue> | undefined);
    const headers: Record<string, string> = { accept: init.accept ?? 'application/json', ...authHeader(apiKey) };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetchImpl(url, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), ...credentialsFor(apiKey) });
    } catch (error) {
      throw connectionError(baseUrl, error);
    }
    if (!response.ok) throw await apiErrorOf(response);
    return response;
  }

  async function request<T>(method: string, path: string, init: { query?: object; body?: unknown } = {}): Promise<T> {
    const response = await open(method, path, init);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // The connection dropped after the status line: no answer, as far as the caller can use one.
      throw connectionError(baseUrl, error);
    }
    // 204 (a deletion) has no body.
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // Something between us and Switchboard (a proxy's sign-in page, a captive portal) answered 2xx.
      throw new SwitchboardApiError({ status: response.status, code: 'invalid_response', message: `The answer to ${method} ${path} (HTTP ${response.status}) is not JSON: is baseUrl Switchboard itself?` });
    }
  }

  /**
   * Every item of a cursor-paged list, fetching the next page only when the previous one is consumed.
   * A page without `next_cursor` (null or absent) is the last; a cursor given twice would read the same
   * pages forever, so it stops with `pagination_loop`.
   */
  async function* iterate<T, C>(list: (cursor: C | undefined) => Promise<Page<T, C>>): AsyncGenerator<T, void, undefined> {
    const seen = new Set<C>();
    for (let cursor: C | undefined; ; ) {
      const page = await list(cursor);
      yield* page.data;
      if (page.next_cursor === null || page.next_cursor === undefined || page.data.length === 0) return;
      if (seen.has(page.next_cursor)) {
        throw new SwitchboardApiError({ status: 200, code: 'pagination_loop', message: `Switchboard answered the cursor ${JSON.stringify(page.next_cursor)} a second time: the pages would repeat forever.` });
      }
      seen.add(page.next_cursor);
      cursor = page.next_cursor;
    }
  }

  const id = (value: string) => encodeURIComponent(value);

  return {
    calls: {
      /** `GET /v1/calls`: newest first, one page. */
      list: (filters: CallFilters = {}) => request<Page<Call>>('GET', '/v1/calls', { query: filters }),
      /** Every matching call, page after page (`limit` sets the page size). */
      iterate: (filters: Omit<CallFilters, 'cursor'> = {}) =>
        iterate<Call, string>((cursor) => request<Page<Call>>('GET', '/v1/calls', { query: { ...filters, cursor } })),
      /** `GET /v1/calls/{call_id}`: the record with its events. `source_id` picks one when two sources share a call id. */
      get: (callId: string, params: { source_id?: string } = {}) => request<CallDetail>('GET', `/v1/calls/${id(callId)}`, { query: params }),
      /**
       * `GET /v1/calls.csv`: every matching call as CSV (UTF-8 with a BOM, a header line first), streamed as
       * the server pages through them, so an export of any size holds one page in memory.
       */
      csv: async (filters: Omit<CallFilters, 'cursor' | 'limit'> = {}): Promise<ReadableStream<Uint8Array>> =>
        (await open('GET', '/v1/calls.csv', { query: filters, accept: 'text/csv' })).body ?? new ReadableStream({ start: (stream) => stream.close() }),
    },
    events: {
      /** `GET /v1/events`: newest first. */
      list: (filters: EventFilters = {}) => request<Page<EventSummary, number>>('GET', '/v1/events', { query: filters }),
      iterate: (filters: Omit<EventFilters, 'cursor'> = {}) =>
        iterate<EventSummary, number>((cursor) => request<Page<EventSummary, number>>('GET', '/v1/events', { query: { ...filters, cursor } })),
      /** `GET /v1/events/{id}`: with the raw body. */
      get: (eventId: string) => request<EventDetail>('GET', `/v1/events/${id(eventId)}`),
      /** `GET /v1/events/{id}/raw`: the exact bytes as received. */
      raw: async (eventId: string): Promise<Uint8Array> => {
        const response = await open('GET', `/v1/events/${id(eventId)}/raw`, { accept: 'application/octet-stream' });
        try {
          return new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          // Cut off after the status line, as `request` says it.
          throw connectionError(baseUrl, error);
        }
      },
      /** `GET /v1/events/quarantine`: how many quarantine records wait for a reprocess, and how many were reprocessed. */
      quarantine: () => request<QuarantineCounts>('GET', '/v1/events/quarantine'),
      /** `POST /v1/events/{id}/reprocess` (admin): a quarantined request through today's parser, after a fix. */
      reprocess: (eventId: string) => request<ReprocessResult>('POST', `/v1/events/${id(eventId)}/reprocess`),
      /**
       * `POST /v1/events/reprocess` (admin): every quarantined request not reprocessed yet; the counts and each one's outcome.
       * The server answers when the work is done, which over a large quarantine can take minutes: Node's `fetch`
       * stops waiting for an answer's headers after 300 s, so pass a `fetch` without that limit for such a run
       * (the CLI uses an undici `Agent` with `headersTimeout: 0` and `bodyTimeout: 0`, src/cli/remote.ts).
       */
      reprocessAll: () => request<ReprocessCounts>('POST', '/v1/events/reprocess'),
    },
    /** `GET /v1/stats`: per hour, day, hour of the week (`weekday_hour`), widget, agent, source or `disconnected_by`. */
    stats: (params: StatsParams = {}) => request<Stats>('GET', '/v1/stats', { query: params }),
    /**
     * `POST /v1/prune` (admin): deletes what is older than the retention, `retention_days` or the server's own.
     * Answered when done: a first prune of a large log can outlast `fetch`'s 300 s wait for headers (see `events.reprocessAll`).
     */
    prune: (params: { retention_days?: number } = {}) => request<PruneResult>('POST', '/v1/prune', { body: params }),
    destinations: {
      /** The answer holds the signing secret (`whsec_…`). */
      create: (settings: DestinationSettings & { url: string }) => request<DestinationWithSecret>('POST', '/v1/destinations', { body: settings }),
      list: () => request<{ data: Destination[] }>('GET', '/v1/destinations'),
      /** With its secret for an administrator; a viewer (`read` scope) gets no `secret`. */
      get: (destinationId: string) => request<DestinationMaybeSecret>('GET', `/v1/destinations/${id(destinationId)}`),
      /** `GET /v1/destinations/health`: each destination's last 24 hours (counts, hourly series, last error). */
      health: () => request<DestinationHealthList>('GET', '/v1/destinations/health'),
      /** `paused: true` queues deliveries without sending them; `paused: false` resumes. */
      update: (destinationId: string, patch: DestinationSettings & { url?: string; disabled?: boolean; paused?: boolean }) =>
        request<Destination>('PATCH', `/v1/destinations/${id(destinationId)}`, { body: patch }),
      delete: (destinationId: string) => request<void>('DELETE', `/v1/destinations/${id(destinationId)}`),
      /** A new secret; the previous one keeps signing too during the grace period. */
      rotateSecret: (destinationId: string) => request<DestinationWithSecret>('POST', `/v1/destinations/${id(destinationId)}/rotate-secret`),
      /** Sends a signed `switchboard.test` now and tells what the receiver answered. */
      test: (destinationId: string) => request<DestinationTestResult>('POST', `/v1/destinations/${id(destinationId)}/test`),
      /** With `dry_run: true`, queues nothing and answers how many it would. Answered when done (see `events.reprocessAll` on long runs). */
      replay: (destinationId: string, params: ReplayParams = {}) =>
        request<ReplayAnswer>('POST', `/v1/destinations/${id(destinationId)}/replay`, { body: params }),
      /** Every failed delivery sent again with a fresh schedule; with `dry_run: true`, only counted. */
      retryFailed: (destinationId: string, params: { dry_run?: boolean } = {}) =>
        request<RetryFailedAnswer>('POST', `/v1/destinations/${id(destinationId)}/retry-failed`, { body: params }),
    },
    deliveries: {
      list: (filters: DeliveryFilters = {}) => request<Page<Delivery>>('GET', '/v1/deliveries', { query: filters }),
      iterate: (filters: Omit<DeliveryFilters, 'cursor'> = {}) =>
        iterate<Delivery, string>((cursor) => request<Page<Delivery>>('GET', '/v1/deliveries', { query: { ...filters, cursor } })),
      get: (deliveryId: string) => request<Delivery>('GET', `/v1/deliveries/${id(deliveryId)}`),
      retry: (deliveryId: string) => request<Delivery>('POST', `/v1/deliveries/${id(deliveryId)}/retry`),
    },
    keys: {
      /** The answer holds the key (`sbk_…`), shown this once. */
      create: (params: { name: string; scope: 'read' | 'admin' }) => request<CreatedApiKey>('POST', '/v1/keys', { body: params }),
      list: () => request<{ data: ApiKeyInfo[] }>('GET', '/v1/keys'),
      /** A key cannot revoke itself (409 `conflict`). */
      revoke: (keyId: string) => request<void>('DELETE', `/v1/keys/${id(keyId)}`),
    },
    sources: {
      /** The answer holds the token and the ingest URL to configure in Convolo, shown this once. */
      create: (params: { name: string }) => request<CreatedSource>('POST', '/v1/sources', { body: params }),
      list: () => request<{ data: Source[] }>('GET', '/v1/sources'),
      /** A new token; the old one keeps working for 24 h. */
      rotate: (sourceId: string) => request<RotatedSource>('POST', `/v1/sources/${id(sourceId)}/rotate`),
      revoke: (sourceId: string) => request<void>('DELETE', `/v1/sources/${id(sourceId)}`),
      /** Convolo's call list API key (and widget ids) the reconciler uses for this source; answered masked. */
      setConvolo: (sourceId: string, params: { api_key: string; widget_ids?: string[] }) =>
        request<ConvoloSettings>('PUT', `/v1/sources/${id(sourceId)}/convolo`, { body: params }),
      /** Stops reconciling this source (forgets the key). */
      clearConvolo: (sourceId: string) => request<void>('DELETE', `/v1/sources/${id(sourceId)}/convolo`),
      /** The last reconcile runs, the next one, and the webhooks Convolo never delivered (`added`). */
      reconcile: (sourceId: string) => request<ReconcileStatus>('GET', `/v1/sources/${id(sourceId)}/reconcile`),
      /**
       * A reconcile run now, over the lookback: the run when it ended within ~25 s, else the run as it started
       * (202, `finished_at` null) while it goes on (`reconcile` shows it when it ends). 409 when the source has no key.
       */
      reconcileNow: (sourceId: string) => request<ReconcileRun>('POST', `/v1/sources/${id(sourceId)}/reconcile`),
      /**
       * One step of a history import (up to `pages` pages of 500 from `page`); `next_page` null when the range is done.
       * Answered when done: against a slow Convolo a step can outlast `fetch`'s 300 s wait (see `events.reprocessAll`).
       */
      backfill: (sourceId: string, params: { date_from: string; date_to: string; page?: number; pages?: number }) =>
        request<BackfillStep>('POST', `/v1/sources/${id(sourceId)}/backfill`, { body: params }),
    },
    /** The dashboard's users (admin scope). */
    users: {
      list: () => request<{ data: User[] }>('GET', '/v1/users'),
      /** 409 `email_taken` when a user has this email (compared case-insensitively). */
      create: (params: NewUser) => request<User>('POST', '/v1/users', { body: params }),
      /** Ends their sessions; 409 `last_admin` for the last admin. */
      remove: (userId: string) => request<void>('DELETE', `/v1/users/${id(userId)}`),
      /** Sets a new password and ends their sessions. */
      resetPassword: (userId: string, params: { password: string }) => request<void>('POST', `/v1/users/${id(userId)}/password`, { body: params }),
      /** Applies to their sessions at once; 409 `last_admin` when it would leave no admin. */
      setRole: (userId: string, params: { role: 'viewer' | 'admin' }) => request<User>('PATCH', `/v1/users/${id(userId)}`, { body: params }),
    },
    /** One-time links for a person to join the dashboard with a role (admin scope). */
    invitations: {
      /** The answer's `url` (valid 7 days, once) is shown this once; 409 `email_taken` when a user has this email. */
      create: (params: { email: string; role: 'viewer' | 'admin' }) => request<CreatedInvitation>('POST', '/v1/invitations', { body: params }),
      /** Pending ones: neither used nor expired. */
      list: () => request<{ data: Invitation[] }>('GET', '/v1/invitations'),
      revoke: (invitationId: string) => request<void>('DELETE', `/v1/invitations/${id(invitationId)}`),
    },
    /** Version, storage backend, node role, your role, retention and the ingest's commit settings (read scope). */
    about: () => request<About>('GET', '/v1/about'),
  };
}

/**
 * What `prune` answers: the cut-off (ISO) and how many rows went.
 *
 * @example
 * const { before, events }: PruneResult = await client.prune({ retention_days: 30 });
 */
export interface PruneResult {
  before: string;
  events: number;
  deliveries: number;
  /** Of those deliveries, how many were still pending (never delivered). */
  undelivered: number;
  calls: number;
}

/**
 * What `createClient` returns.
 *
 * @example
 * async function answered(client: SwitchboardClient) {
 *   return (await client.calls.list({ status: 'answered' })).data;
 * }
 */
export type SwitchboardClient = ReturnType<typeof createClient>;
