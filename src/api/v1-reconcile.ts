import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { BackfillStep, ConvoloSettings, NoContent, ReconcileRun, ReconcileStatus } from '../domain/contract/index.js';
import { AppError } from '../domain/errors.js';
import type { SourceId } from '../domain/ids.js';
import { iso } from '../domain/presenters.js';
import { isUtcDay } from '../domain/calendar.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { ApiKey, ConvoloSettings as Settings, ReconcileRun as Run, ReconcileStore, Sources } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { idParam } from './id-param.js';
import { adminErrors, answers, answerWhenDone, bodyErrors, serializeWithJsonStringify } from './responses.js';

export interface ReconcileRoutesOptions {
  storage: { sources: Sources; reconcile: ReconcileStore };
  reconciler: Reconciler;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Readonly<Config>;
  /** When this node started (its worker's timer counts from then); null when it runs no reconciler. */
  timerStartedAt: number | null;
}

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
type WithId = { Params: Static<typeof Params> };
const WidgetId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^,]+$' });
const ConvoloBody = Type.Object({
  api_key: Type.String({ minLength: 1, maxLength: 500, description: "The widget's API key (Convolo → widget → Integrations)." }),
  widget_ids: Type.Optional(Type.Array(WidgetId, { maxItems: 200, description: 'Default: every widget the key sees.' })),
}, { additionalProperties: false });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: '`YYYY-MM-DD`' });
const BackfillBody = Type.Object({
  date_from: Day,
  date_to: Day,
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })),
  pages: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Pages of 500 this step reads at most.' })),
}, { additionalProperties: false });

/** `…` and the last four characters: enough to tell two keys apart, never enough to use one. */
export const maskConvoloKey = (key: string): string => `…${key.length > 8 ? key.slice(-4) : ''}`;

/**
 * `/v1/sources/{id}/convolo`, `/reconcile` and `/backfill` (issue 16): `admin` scope on every route. The
 * key is written here and never read back: answers show it masked.
 */
export async function reconcileRoutes(app: FastifyInstance, options: ReconcileRoutesOptions): Promise<void> {
  const { storage, reconciler, config } = options;
  app.addHook('onRequest', requireScope('admin', options.resolveKey));
  serializeWithJsonStringify(app);

  const noSource = () => new AppError('no_such_id', {}, { params: { what: 'source' } });
  const presentSettings = (id: SourceId, s: Settings): ConvoloSettings => ({ source_id: id, api_key_hint: maskConvoloKey(s.apiKey), widget_ids: s.widgetIds });
  const activeSource = async (raw: string): Promise<SourceId> => {
    const id = idParam('src', raw, noSource);
    const source = await storage.sources.get(id);
    if (!source) throw noSource();
    if (source.revokedAt !== null) throw new AppError('source_revoked');
    return id;
  };
  const settingsOf = async (id: SourceId): Promise<Settings> => {
    const settings = await storage.reconcile.convoloOf(id);
    if (!settings) throw new AppError('no_convolo_key');
    return settings;
  };

  app.put<WithId & { Body: Static<typeof ConvoloBody> }>('/v1/sources/:id/convolo', { schema: { params: Params, body: ConvoloBody, response: answers({ 200: ConvoloSettings }, ...adminErrors, ...bodyErrors, 404, 409) } }, async (request) => {
    const id = await activeSource(request.params.id);
    const settings = { apiKey: request.body.api_key.trim(), widgetIds: [...new Set((request.body.widget_ids ?? []).map((w) => w.trim()).filter((w) => w !== ''))] };
    await storage.reconcile.setConvolo(id, settings);
    return presentSettings(id, settings);
  });

  app.delete<WithId>('/v1/sources/:id/convolo', { schema: { params: Params, response: answers({ 204: NoContent }, ...adminErrors, 404) } }, async (request, reply) => {
    const id = idParam('src', request.params.id, noSource);
    if (!(await storage.reconcile.setConvolo(id, null))) throw noSource();
    return reply.code(204).send();
  });

  app.get<WithId>('/v1/sources/:id/reconcile', { schema: { params: Params, response: answers({ 200: ReconcileStatus }, ...adminErrors, 404) } }, async (request): Promise<ReconcileStatus> => {
    const id = idParam('src', request.params.id, noSource);
    if (!(await storage.sources.get(id))) throw noSource();
    const settings = await storage.reconcile.convoloOf(id);
    const runs = (await storage.reconcile.runs(id, 20)).map(presentRun);
    const [last] = await storage.reconcile.runs(id, 1, 'reconcile');
    return {
      source_id: id,
      convolo: settings ? presentSettings(id, settings) : null,
      interval_min: config.reconcileIntervalMin,
      lookback_hours: config.reconcileLookbackHours,
      next_run_at: settings && options.timerStartedAt !== null ? iso(reconciler.nextRunAt(options.timerStartedAt)) : null,
      last_run: last ? presentRun(last) : null,
      runs,
    };
  });

  // A run now, over the lookback, on this node: 200 with the run when it is over within `answerWithinMs`,
  // else 202 with the run as it started (`finished_at` null) while it goes on; GET shows it when it ends.
  // (An answer held longer would meet the connection timeout, and proxies' own.)
  const answerWithinMs = Math.min(25_000, config.connectionTimeoutSec > 0 ? config.connectionTimeoutSec * 500 : 25_000);
  app.post<WithId>('/v1/sources/:id/reconcile', { schema: { params: Params, response: answers({ 200: ReconcileRun, 202: ReconcileRun }, ...adminErrors, 404, 409) } }, async (request, reply) => {
    const id = await activeSource(request.params.id);
    await settingsOf(id);
    let started: (run: Run) => void = () => {};
    const startedRun = new Promise<Run>((resolve) => (started = resolve));
    const running = reconciler.runSource(id, started);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), answerWithinMs)));
    const first = await Promise.race([running, late]).finally(() => clearTimeout(timer));
    if (first === 'late') {
      running.catch((error: unknown) => request.log.error({ err: error, sourceId: id }, 'reconcile run failed'));
      return reply.code(202).send(presentRun(await startedRun));
    }
    if (!first) throw new AppError('no_convolo_key');
    return presentRun(first);
  });

  // One step of `switchboard backfill`: the CLI keeps the cursor (date range, page) and asks for the next step.
  // Its answer comes once the step's pages are read (up to 10, each up to 15 s from a slow Convolo, retried).
  app.post<WithId & { Body: Static<typeof BackfillBody> }>('/v1/sources/:id/backfill', { schema: { params: Params, body: BackfillBody, response: answers({ 200: BackfillStep }, ...adminErrors, ...bodyErrors, 404, 409) } }, async (request) => {
    const id = await activeSource(request.params.id);
    await settingsOf(id);
    const { date_from: dateFrom, date_to: dateTo } = request.body;
    if (!isUtcDay(dateFrom) || !isUtcDay(dateTo) || dateFrom > dateTo) {
      throw new AppError('invalid_request', { detail: 'date_from and date_to must be real dates, date_from not after date_to' });
    }
    answerWhenDone(request);
    const step = await reconciler.backfillStep(id, { dateFrom, dateTo, page: request.body.page ?? 1, pages: request.body.pages ?? 10 });
    if (!step) throw new AppError('no_convolo_key');
    return { run: presentRun(step), next_page: step.nextPage };
  });
}

function presentRun(r: Run): ReconcileRun {
  return {
    id: r.id,
    kind: r.kind,
    started_at: iso(r.startedAt)!,
    finished_at: iso(r.finishedAt),
    date_from: r.dateFrom,
    date_to: r.dateTo,
    fetched: r.fetched,
    already_present: r.present,
    added: r.added,
    errors: r.errors,
    error: r.error,
  };
}
