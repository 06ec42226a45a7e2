import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Ingest } from '../ingest/service.js';
import type { ApiKey, EventReader } from '../storage/ports.js';
import { ReprocessAck, ReprocessCounts, type ReprocessOutcome } from '../domain/contract/events.js';
import { requireScope } from './auth.js';
import { idParam } from './id-param.js';
import { adminErrors, answers, answerWhenDone, serializeWithJsonStringify } from './responses.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const page = 200;
const noEvent = () => new AppError('no_such_id', {}, { params: { what: 'event' } });

/**
 * Reprocessing the quarantine after a fix (`admin` scope; `switchboard reprocess`): one record, or every
 * record not reprocessed yet. A record that still does not parse is left as it is.
 */
export async function reprocessRoutes(app: FastifyInstance, options: { storage: { events: EventReader }; ingest: Ingest; resolveKey: (key: string) => Promise<ApiKey | null> }): Promise<void> {
  const { storage, ingest } = options;
  app.addHook('onRequest', requireScope('admin', options.resolveKey));
  serializeWithJsonStringify(app);

  app.post<{ Params: Static<typeof Params> }>('/v1/events/:id/reprocess', { schema: { params: Params, response: answers({ 200: ReprocessAck }, ...adminErrors, 404, 409, 422) } }, async (request) => {
    const record = await storage.events.get(idParam('evt', request.params.id, noEvent));
    if (!record) throw noEvent();
    const result = await ingest.reprocess(record);
    return { ok: true, id: result.id, ...(result.duplicate ? { duplicate: true } : {}), call_id: result.callId };
  });

  // Every record's outcome is answered, not only the counts: the dashboard shows what became of each.
  app.post('/v1/events/reprocess', { schema: { response: answers({ 200: ReprocessCounts }, ...adminErrors) } }, async (request) => {
    // The answer comes once every record was tried.
    answerWhenDone(request);
    const counts = { reprocessed: 0, still_invalid: 0, not_reprocessable: 0 };
    const results: ReprocessOutcome[] = [];
    for (let beforeSeq: number | undefined; ; ) {
      const records = await storage.events.list({ status: 'quarantined', beforeSeq, limit: page });
      for (const record of records) {
        if (record.reprocessedInto) continue;
        try {
          const r = await ingest.reprocess(record);
          counts.reprocessed++;
          results.push({ id: record.id, outcome: 'reprocessed', event_id: r.id, call_id: r.callId, ...(r.duplicate ? { duplicate: true as const } : {}) });
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          const outcome = error.code === 'conflict' ? 'not_reprocessable' : 'still_invalid';
          counts[outcome]++;
          const detail = error.extra.detail;
          results.push({ id: record.id, outcome, error: error.code, ...(typeof detail === 'string' ? { detail } : {}) });
        }
      }
      if (records.length < page) return { ...counts, results };
      beforeSeq = records.at(-1)!.seq;
    }
  });
}
