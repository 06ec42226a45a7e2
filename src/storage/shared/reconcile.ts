import type { Kysely, Selectable } from 'kysely';
import type { SourceId } from '../../domain/ids.js';
import type { ConvoloSettings, ReconcileRun, ReconcileRunCounts, ReconcileStore } from '../ports.js';
import type { Database, ReconcileRunsTable } from '../schema.js';

/** The reconciler's storage, shared by both backends (none of it is on the ingest's hot path). */
export function createReconcileStore(db: Kysely<Database>): ReconcileStore {
  return {
    async setConvolo(id, settings) {
      const result = await db
        .updateTable('sources')
        .set({ convolo_api_key: settings?.apiKey ?? null, convolo_widget_ids: settings && settings.widgetIds.length > 0 ? settings.widgetIds.join(',') : null })
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async convoloOf(id) {
      const row = await db.selectFrom('sources').select(['convolo_api_key', 'convolo_widget_ids']).where('id', '=', id).executeTakeFirst();
      return row ? toSettings(row) : null;
    },

    async convoloSources() {
      const rows = await db
        .selectFrom('sources')
        .select(['id', 'convolo_api_key', 'convolo_widget_ids'])
        .where('revoked_at', 'is', null)
        .where('convolo_api_key', 'is not', null)
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({ sourceId: r.id as SourceId, ...toSettings(r)! }));
    },

    async endCallsOf(sourceId, callIds) {
      const found = new Set<string>();
      // In slices: one statement's parameters stay far below SQLite's and PostgreSQL's limits.
      for (let i = 0; i < callIds.length; i += 500) {
        const rows = await db
          .selectFrom('calls')
          .select('call_id')
          .where('source_id', '=', sourceId)
          .where('call_id', 'in', callIds.slice(i, i + 500))
          .where('merge_rank', '>=', 2)
          .execute();
        for (const r of rows) found.add(r.call_id);
      }
      return found;
    },

    async startRun(run) {
      await db.insertInto('reconcile_runs').values({
        id: run.id, source_id: run.sourceId, kind: run.kind, started_at: run.startedAt, date_from: run.dateFrom, date_to: run.dateTo,
      }).execute();
    },

    async finishRun(id, counts: ReconcileRunCounts, at) {
      await db
        .updateTable('reconcile_runs')
        .set({
          finished_at: at, fetched: counts.fetched, present: counts.present, added: counts.added, errors: counts.errors,
          error_code: counts.error?.code ?? null, error_status: counts.error?.status ?? null, error_detail: counts.error?.detail ?? null,
        })
        .where('id', '=', id)
        .execute();
    },

    async runs(sourceId, limit, kind) {
      let query = db.selectFrom('reconcile_runs').selectAll().where('source_id', '=', sourceId);
      if (kind) query = query.where('kind', '=', kind);
      const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toRun);
    },


    async tryLease(name, holder, now, ttlMs) {
      const row = await db
        .insertInto('reconcile_leases')
        .values({ name, holder, expires_at: now + ttlMs })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({ holder, expires_at: now + ttlMs }).where((eb) => eb.or([eb('reconcile_leases.expires_at', '<=', now), eb('reconcile_leases.holder', '=', holder)])),
        )
        .returning('holder')
        .executeTakeFirst();
      return row?.holder === holder;
    },

    async releaseLease(name, holder) {
      await db.deleteFrom('reconcile_leases').where('name', '=', name).where('holder', '=', holder).execute();
    },
  };
}

function toSettings(r: { convolo_api_key: string | null; convolo_widget_ids: string | null }): ConvoloSettings | null {
  if (r.convolo_api_key === null) return null;
  return { apiKey: r.convolo_api_key, widgetIds: r.convolo_widget_ids ? r.convolo_widget_ids.split(',') : [] };
}

function toRun(r: Selectable<ReconcileRunsTable>): ReconcileRun {
  return {
    id: r.id,
    sourceId: r.source_id as SourceId,
    kind: r.kind === 'backfill' ? 'backfill' : 'reconcile',
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    dateFrom: r.date_from,
    dateTo: r.date_to,
    fetched: Number(r.fetched),
    present: Number(r.present),
    added: Number(r.added),
    errors: Number(r.errors),
    error: r.error_code === null ? null : { code: r.error_code, status: r.error_status === null ? null : Number(r.error_status), detail: r.error_detail },
  };
}
