import { setTimeout as pause } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { utcDay } from '../domain/calendar.js';
import { systemTypes } from '../domain/envelope.js';
import { newId, type SourceId } from '../domain/ids.js';
import { systemEvent } from '../ingest/system-event.js';
import type { Ingest } from '../ingest/service.js';
import type { Metrics } from '../observability/metrics.js';
import { ConvoloCallListError, callListMaxCalls, type CallListPage, type CallListQuery } from '../sdk/convolo-call-list.js';
import type { ConvoloSettings, ReconcileRun, ReconcileRunCounts, ReconcileStore } from '../storage/ports.js';

/** What the reconciler needs of a Convolo client: one page of the call list (sdk/convolo-client.ts). */
export interface CallLister {
  /** Rejects with the signal's reason once it is aborted (the server shutting down). */
  listCalls(query: CallListQuery, options?: { signal?: AbortSignal }): Promise<CallListPage>;
}

export interface ReconcilerOptions {
  store: ReconcileStore;
  ingest: Pick<Ingest, 'receiveReconciled' | 'appendSystem'>;
  metrics: Metrics;
  /** A client for this key (the key never leaves it: its errors carry no key). */
  clientFor: (apiKey: string) => CallLister;
  now: () => number;
  intervalMin: number;
  lookbackHours: number;
  /** Waits between retries (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
  /** Retries of one page after a 429, a 5xx, a timeout or a network error (default 3). */
  maxRetries?: number;
  /** The longest single wait before a retry; a longer Retry-After ends the run, retried next interval (default 60 s). */
  maxWaitSec?: number;
  /**
   * After each page's fetch, and after its check and appends, a pause of this many times their own time, so a long run
   * leaves the process to the ingest most of the time (default 3: the run takes at most a quarter of it; 0: no pause).
   */
  pauseFactor?: number;
  /** Pages one run or backfill step reads at most (default 1000: 500,000 calls). */
  maxPages?: number;
  /** Hears of every finished run (the app logs it: counts and error code, never the key or Convolo's bytes). */
  onRun?: (run: ReconcileRun) => void;
  /** Who holds the lease (default: a random id per process). */
  nodeId?: string;
}

export type RunKind = 'reconcile' | 'backfill';

interface RunRange {
  kind: RunKind;
  dateFrom: string;
  dateTo: string;
  fromPage?: number;
  pages?: number;
  onStarted?: (run: ReconcileRun) => void;
  /**
   * Extends the periodic run's lease, after each page: a run longer than the lease is not joined by another node's.
   * False (another node holds it now) or a refusal of the database stops the run there (`lease_lost`).
   */
  renewLease?: () => Promise<boolean>;
}

/** Missing calls of a page appended together (a group's commit awaited before the next group goes). */
const appendGroup = 25;
/** Most call ids a `switchboard.reconcile.gap` event lists. */
export const gapCallIdsCap = 100;
const leaseName = 'reconcile';
const day = 86_400_000;

/**
 * Reconciliation with Convolo's call list (issue 16): pages through what Convolo says happened and appends,
 * through the ingest (same pipeline as a webhook, marked `reconcile`), each call whose end_call never came.
 * One periodic run at a time across nodes (a lease row); a call already ended is left alone, checked first
 * in bulk (cheap) and again inside the commit (so a webhook arriving meanwhile, or a second node, still wins).
 */
export function createReconciler(options: ReconcilerOptions) {
  const { store, ingest, metrics, now } = options;
  const sleep = options.sleep ?? ((ms: number) => pause(ms));
  const maxRetries = options.maxRetries ?? 3;
  const maxWaitSec = options.maxWaitSec ?? 60;
  const maxPages = options.maxPages ?? 1000;
  const pauseFactor = options.pauseFactor ?? 3;
  const nodeId = options.nodeId ?? randomUUID();
  let lastFinishedAt: number | null = null;
  /** Aborted by stop(): the server is shutting down. */
  const stopping = new AbortController();
  // Every run under way listens to it (runs for the API, backfill steps and the periodic one can be many).
  setMaxListeners(0, stopping.signal);
  /** The runs under way, which stop() waits for. */
  const running = new Set<Promise<unknown>>();
  /** Keeps `work` among the runs stop() waits for, while it goes on. */
  const tracked = <A extends unknown[], T>(work: (...args: A) => Promise<T>) => (...args: A): Promise<T> => {
    const under = work(...args);
    running.add(under);
    const forget = () => void running.delete(under);
    under.then(forget, forget);
    return under;
  };
  /** `promise`, unless stop() comes first: then an Interrupted. */
  const unlessStopped = <T>(promise: Promise<T>): Promise<T> => {
    if (stopping.signal.aborted) return Promise.reject(new Interrupted());
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new Interrupted());
      stopping.signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => stopping.signal.removeEventListener('abort', onAbort));
    });
  };

  /**
   * One page, retried after 429 (its Retry-After), 5xx, timeouts and network errors, within bounds; with the
   * time its answered request took (the waits before it are not the reconciler's work, and are not paced).
   */
  async function fetchPage(client: CallLister, query: CallListQuery): Promise<{ page: CallListPage; ms: number }> {
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      try {
        const page = await unlessStopped(client.listCalls(query, { signal: stopping.signal }));
        return { page, ms: performance.now() - started };
      } catch (error) {
        if (!(error instanceof ConvoloCallListError) || !retryable(error) || attempt >= maxRetries) throw error;
        const waitSec = error.code === 'rate_limited' && error.retryAfterSec !== undefined ? error.retryAfterSec : 2 ** attempt;
        if (waitSec > maxWaitSec) throw error;
        await unlessStopped(sleep(waitSec * 1000));
      }
    }
  }

  /**
   * Checks one page's items: the ones already ended are counted, the others appended 25 at a time, each group
   * waiting for its commit before the next goes, so a page's calls join the ingest's commits a few at a time
   * instead of as one batch of up to 500.
   */
  async function absorb(sourceId: SourceId, items: ReadonlyArray<Record<string, unknown>>, counts: ReconcileRunCounts, addedIds: string[]): Promise<void> {
    counts.fetched += items.length;
    const ids = items.map((item) => (typeof item.call_id === 'string' ? item.call_id : null));
    const ended = await store.endCallsOf(sourceId, ids.filter((id): id is string => id !== null));
    const missing = items.filter((_, i) => ids[i] === null || !ended.has(ids[i]!));
    const tally = { fetched: items.length, present: items.length - missing.length, added: 0, error: 0 };
    for (let at = 0; at < missing.length; at += appendGroup) {
      const outcomes = await Promise.all(missing.slice(at, at + appendGroup).map((item) => {
        // Convolo does not show the body: an item is the end_call payload it describes (its type added when absent).
        const payload = 'type' in item ? item : { type: 'end_call', ...item };
        return ingest.receiveReconciled(sourceId, Buffer.from(JSON.stringify(payload)));
      }));
      for (const o of outcomes) {
        if (o.outcome === 'present') tally.present++;
        else if (o.outcome === 'added') {
          tally.added++;
          addedIds.push(o.callId);
        } else tally.error++;
      }
    }
    counts.present += tally.present;
    counts.added += tally.added;
    counts.errors += tally.error;
    for (const outcome of ['fetched', 'present', 'added', 'error'] as const) metrics.reconcileCalls.inc({ outcome }, tally[outcome]);
  }

  /** The pause after `workMs` of the reconciler's work (none when `pauseFactor` is 0). */
  const rest = (workMs: number): Promise<void> => unlessStopped(pauseFactor > 0 ? pause(workMs * pauseFactor) : Promise.resolve());

  /**
   * One run over a date range from `fromPage`: recorded (counts, and the error that ended it, if any), a gap
   * event when it added calls. Never throws for Convolo's failures: they are the run's error.
   */
  async function run(sourceId: SourceId, settings: ConvoloSettings, range: RunRange): Promise<ReconcileRun & { nextPage: number | null }> {
    const id = newId('rcn');
    const startedAt = now();
    await store.startRun({ id, sourceId, kind: range.kind, startedAt, dateFrom: range.dateFrom, dateTo: range.dateTo });
    const counts: ReconcileRunCounts = { fetched: 0, present: 0, added: 0, errors: 0, error: null };
    range.onStarted?.({ id, sourceId, kind: range.kind, startedAt, finishedAt: null, dateFrom: range.dateFrom, dateTo: range.dateTo, ...counts });
    const addedIds: string[] = [];
    const client = options.clientFor(settings.apiKey);
    const firstPage = range.fromPage ?? 1;
    const lastPage = firstPage + Math.min(range.pages ?? maxPages, maxPages) - 1;
    let nextPage: number | null = null;
    let previousIds: string | null = null;
    let pageAt = firstPage;
    try {
      for (let page = firstPage; page <= lastPage; page++) {
        pageAt = page;
        const { page: { items }, ms: fetchMs } = await fetchPage(client, {
          dateFrom: range.dateFrom, dateTo: range.dateTo, maxCalls: callListMaxCalls, page,
          ...(settings.widgetIds.length > 0 ? { widgetIds: settings.widgetIds } : {}),
        });
        // A page with the same calls as the one before: a server that ignores `page` (or answers its last page
        // again past the end) would otherwise be read maxPages times per run, and a backfill would never end.
        // A short repeat held every call there is; a full one hides the rest, which cannot be read: an error.
        const ids = JSON.stringify(items.map((item) => item.call_id ?? null));
        if (items.length > 0 && ids === previousIds) {
          if (items.length < callListMaxCalls) break;
          throw new ConvoloCallListError('unexpected_shape', `Convolo's call list answered page ${page} with the same calls as page ${page - 1}: it seems to ignore page, so the calls after them cannot be read.`, { status: 200 });
        }
        previousIds = ids;
        await rest(fetchMs);
        const absorbStarted = performance.now();
        await absorb(sourceId, items, counts, addedIds);
        if (range.renewLease) await keepLease(range.renewLease, page);
        // An empty page is the last one; not a short one: Convolo does not document its page size, and a server
        // serving fewer than asked per page would otherwise hide every later call (as listAllCalls reads).
        if (items.length === 0) break;
        if (page === lastPage) nextPage = page + 1;
        else await rest(performance.now() - absorbStarted);
      }
    } catch (error) {
      counts.errors++;
      counts.error = stopping.signal.aborted ? interrupted(pageAt) : describeError(error);
      nextPage = null;
    }
    const finishedAt = now();
    await store.finishRun(id, counts, finishedAt);
    const result = counts.error ? 'failed' : 'ok';
    metrics.reconcileRuns.inc({ kind: range.kind, result });
    metrics.reconcileLastRun.set({ result }, finishedAt / 1000);
    if (counts.added > 0) {
      await ingest.appendSystem([systemEvent({
        type: systemTypes.reconcileGap, sourceId, callId: null, at: finishedAt,
        data: {
          source_id: sourceId, run_id: id, kind: range.kind, added: counts.added,
          call_ids: addedIds.slice(0, gapCallIdsCap), call_ids_truncated: addedIds.length > gapCallIdsCap,
        },
      })]);
    }
    const done = { id, sourceId, kind: range.kind, startedAt, finishedAt, dateFrom: range.dateFrom, dateTo: range.dateTo, ...counts, nextPage };
    options.onRun?.(done);
    return done;
  }

  /** The periodic run: every source with a key, the last `lookbackHours`; null when another node runs it now. */
  async function runAll(): Promise<ReconcileRun[] | null> {
    const ttlMs = Math.max(options.intervalMin * 60_000, 10 * 60_000);
    const renewLease = () => store.tryLease(leaseName, nodeId, now(), ttlMs);
    if (stopping.signal.aborted || !(await renewLease())) return null;
    try {
      const runs: ReconcileRun[] = [];
      const at = now();
      const range = { kind: 'reconcile' as const, dateFrom: utcDay(at - options.lookbackHours * 3_600_000), dateTo: utcDay(at), renewLease };
      for (const source of await store.convoloSources()) {
        const done = await run(source.sourceId, source, range);
        runs.push(done);
        // Without the lease the other sources are the turn of the node holding it (or of the next interval).
        if (done.error?.code === leaseLostCode || stopping.signal.aborted) break;
      }
      lastFinishedAt = now();
      return runs;
    } finally {
      await store.releaseLease(leaseName, nodeId);
    }
  }

  /**
   * A source's run now, over the lookback (`POST /v1/sources/{id}/reconcile`); null when it has no key.
   * `onStarted` hears of the run once it is recorded (the API answers with it when the run is long).
   */
  async function runSource(sourceId: SourceId, onStarted?: (run: ReconcileRun) => void): Promise<ReconcileRun | null> {
    const settings = await store.convoloOf(sourceId);
    if (!settings) return null;
    const at = now();
    return run(sourceId, settings, { kind: 'reconcile', dateFrom: utcDay(at - options.lookbackHours * 3_600_000), dateTo: utcDay(at), ...(onStarted ? { onStarted } : {}) });
  }

  /** One step of a backfill: up to `pages` pages of the range from `page`; `nextPage` null when the range is done. */
  async function backfillStep(sourceId: SourceId, step: { dateFrom: string; dateTo: string; page: number; pages: number }) {
    const settings = await store.convoloOf(sourceId);
    if (!settings) return null;
    return run(sourceId, settings, { kind: 'backfill', dateFrom: step.dateFrom, dateTo: step.dateTo, fromPage: step.page, pages: step.pages });
  }

  /** When this node's timer next runs the reconciler (approximate: the timer started with the process). */
  const nextRunAt = (startedAt: number): number => {
    const every = options.intervalMin * 60_000;
    const base = lastFinishedAt ?? startedAt;
    return base + every * Math.max(1, Math.ceil((now() - base) / every));
  };

  /**
   * The server is shutting down: a run under way stops where it is (the page Convolo is sending abandoned, the
   * page being appended finished), is recorded as `interrupted` and gives its lease back; resolves once all have.
   * The database and the ingest must still be open.
   */
  async function stop(): Promise<void> {
    stopping.abort();
    await Promise.allSettled([...running]);
  }

  return { runAll: tracked(runAll), runSource: tracked(runSource), backfillStep: tracked(backfillStep), nextRunAt, stop, everyMs: options.intervalMin * 60_000 };
}

export type Reconciler = ReturnType<typeof createReconciler>;

/** The code of a periodic run stopped because its lease could not be renewed. */
export const leaseLostCode = 'lease_lost';

/** The server is shutting down (stop()): the run stops where it is. */
class Interrupted extends Error {}

/** How a run stopped by the server's shutdown is recorded. */
function interrupted(page: number): NonNullable<ReconcileRunCounts['error']> {
  return { code: 'interrupted', status: null, detail: `The server shut down during page ${page}: the run stopped there; the next run reads these days again.` };
}

/** A periodic run's lease could not be renewed after a page: the run stops there (recorded as `lease_lost`). */
class LeaseLost extends Error {}

/** Renews the lease after `page`, or throws LeaseLost saying why it could not be. */
async function keepLease(renewLease: () => Promise<boolean>, page: number): Promise<void> {
  let kept: boolean;
  try {
    kept = await renewLease();
  } catch (error) {
    throw new LeaseLost(`The database refused to renew the reconcile lease after page ${page} (${error instanceof Error ? error.message : String(error)}): the run stopped there; the next interval runs again.`);
  }
  if (!kept) throw new LeaseLost(`Another node took the reconcile lease after page ${page} (this run outlived it): the run stopped there, and the other node's run takes over.`);
}

function retryable(error: ConvoloCallListError): boolean {
  return error.code === 'rate_limited' || error.code === 'server_error' || error.code === 'network' || error.code === 'timeout';
}

/** The run's error as recorded: Convolo's error code, status and first bytes (they carry no key), or ours. */
function describeError(error: unknown): NonNullable<ReconcileRunCounts['error']> {
  if (error instanceof ConvoloCallListError) {
    return { code: error.code, status: error.status ?? null, detail: (error.firstBytes ?? error.message).slice(0, 500) };
  }
  if (error instanceof LeaseLost) return { code: leaseLostCode, status: null, detail: error.message.slice(0, 500) };
  return { code: 'internal', status: null, detail: (error instanceof Error ? error.message : String(error)).slice(0, 500) };
}

/** Days between two `YYYY-MM-DD` dates, inclusive, in order. */
export function daysOf(from: string, to: string): string[] {
  const days: string[] = [];
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= Date.parse(`${to}T00:00:00Z`); at += day) days.push(utcDay(at));
  return days;
}
