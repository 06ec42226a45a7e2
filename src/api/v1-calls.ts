import { CallbackBody, type BodyChunk } from './callback-body.js';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { phoneDigits } from '../domain/phone.js';
import { AppError } from '../domain/errors.js';
import { presentCall } from '../domain/presenters.js';
import type { ApiKey, CallCursor, CallFilter, CallQueries, CsvPage } from '../storage/ports.js';
import { CallPage, Media } from '../domain/contract/index.js';
import { requireScope } from './auth.js';
import { answers, readErrors, serializeWithJsonStringify } from './responses.js';
import { time } from './date-time.js';
import { callCsvHeader } from '../storage/shared/call-csv.js';
import { utf8Bom } from '../domain/csv-cells.js';

export interface CallListRoutesOptions {
  storage: { callQueries: CallQueries };
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Readonly<Config>;
  now: () => number;
  /** Calls per page of the CSV export's index-bounded reads (tests make it small to cross pages). */
  csvPageSize?: number;
}

const FilterQuery = {
  status: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'in_progress, stale, or Convolo\'s call_status (answered, no_answer, …)' })),
  widget_key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  agent_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'agent.id as Convolo sends it' })),
  source_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  phone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'matches the lead\'s phone or called_lead_phone when their digits are equal (formatting ignored; include the country code as Convolo sends it)' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'first_event_at at or after this time' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'first_event_at before this time' })),
  started_from: Type.Optional(Type.String({ format: 'date-time', description: 'the call\'s time as /v1/stats counts it (started_at, else first_event_at) at or after this time' })),
  started_to: Type.Optional(Type.String({ format: 'date-time', description: 'the call\'s time as /v1/stats counts it before this time' })),
  disconnected_by: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Convolo\'s disconnected_by, exactly (agent, lead, system, …)' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'case-insensitive substring of call_id, widget_name, the lead\'s name or email, or (digits) phone' })),
};
const ListQuery = Type.Object({
  ...FilterQuery,
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'next_cursor of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
});
const CsvQuery = Type.Object(FilterQuery);
type Filters = Static<typeof CsvQuery>;

/**
 * Calls per page of the CSV export. Pages whose end is found on the index first are read and formatted on
 * a reader thread, and only their bytes cross to the main thread: 2,000 rows a page measured 1.05–1.20×
 * the rows/s of 500 (fewer round trips, fewer index walks; docs/benchmarks.md, 2026-12-03). A substring
 * search (q) reads rows until a page is full, so its pages stay at 500: a rare match would otherwise hold a
 * reader for four times as long before the first byte goes out.
 */
const defaultCsvPageSize = 2_000;
const searchCsvPageSize = 500;

const csvAnswer = Media('text/csv', 'The matching calls, newest first, one row each (UTF-8 with a BOM, a header row), streamed.');

/**
 * `GET /v1/calls` (newest first, keyset cursor) and `GET /v1/calls.csv` (the same filters, streamed), with
 * the `read` scope (SPEC "Query API").
 */
export async function callListRoutes(app: FastifyInstance, options: CallListRoutesOptions): Promise<void> {
  const { storage } = options;
  const csvPageSize = options.csvPageSize ?? defaultCsvPageSize;
  const searchPageSize = Math.min(csvPageSize, searchCsvPageSize);
  app.addHook('onRequest', requireScope('read', options.resolveKey));
  serializeWithJsonStringify(app);

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/calls', { schema: { querystring: ListQuery, response: answers({ 200: CallPage }, ...readErrors) } }, async (request) => {
    const q = request.query;
    const limit = q.limit ?? 50;
    const calls = await storage.callQueries.list(toFilter(q), q.cursor === undefined ? null : decodeCursor(q.cursor), limit);
    const last = calls.at(-1);
    return {
      data: calls.map(presentCall),
      // A full page may be followed by more; the next (possibly empty) page says so.
      next_cursor: calls.length === limit && last ? encodeCursor({ firstEventAt: last.first_event_at, sourceId: last.source_id, callId: last.call_id }) : null,
    };
  });

  app.get<{ Querystring: Filters }>('/v1/calls.csv', { schema: { querystring: CsvQuery, response: answers({ 200: csvAnswer }, ...readErrors) } }, async (request, reply) => {
    const filter = toFilter(request.query);
    // Pages through in the list's order, so the export holds every matching call once even while calls
    // arrive, and memory stays at a few pages whatever the export's size. Each page is read and written as
    // CSV by the storage (on SQLite on a reader thread) while the one before goes out, into the memory of a
    // page the socket has already sent (CallbackBody).
    const spare: ArrayBuffer[] = [];
    const chunk = (page: CsvPage): BodyChunk => ({ bytes: page.bytes, sent: () => spare.push(page.bytes.buffer as ArrayBuffer) });
    async function* pages(): AsyncGenerator<BodyChunk> {
      yield { bytes: Buffer.from(utf8Bom + callCsvHeader) };
      if (filter.q !== undefined) {
        // A substring search finds its calls by reading rows: each page ends where it is full.
        let cursor: CallCursor | null = null;
        for (;;) {
          const page = await storage.callQueries.csvPage(filter, cursor, { end: null, limit: searchPageSize }, spare.pop());
          if (page.rows > 0) yield chunk(page);
          if (page.rows < searchPageSize || !page.last) return;
          cursor = page.last;
        }
      }
      // Otherwise each page's end is found first on the index (pageEnd: a short walk, no row read), so the
      // next pages are read at the same time as this one, on the other reader thread: the ranges follow one
      // another, whatever changes meanwhile, so no call is written twice or skipped.
      let edge: Promise<CallCursor | null | 'done'> = Promise.resolve(null);
      const startPage = (): Promise<CsvPage | null> => {
        const from = edge;
        const end = from.then((cursor) => (cursor === 'done' ? null : storage.callQueries.pageEnd(filter, cursor, csvPageSize)));
        edge = Promise.all([from, end]).then(([cursor, last]) => (cursor === 'done' || last === null ? 'done' : last));
        const page = Promise.all([from, end]).then(([cursor, last]) =>
          cursor === 'done' ? null : storage.callQueries.csvPage(filter, cursor, { end: last, limit: null }, spare.pop()),
        );
        // Not awaited when the client has gone: awaited below otherwise, and thrown there.
        edge.catch(() => {});
        page.catch(() => {});
        return page;
      };
      const ahead = [startPage(), startPage()];
      for (;;) {
        const page = await ahead.shift()!;
        if (page === null) return;
        ahead.push(startPage());
        if (page.rows > 0) yield chunk(page);
      }
    }
    void reply
      .type('text/csv; charset=utf-8; header=present')
      .header('content-disposition', 'attachment; filename="calls.csv"')
      .header('cache-control', 'no-store');
    return reply.send(new CallbackBody(pages()));
  });
}

function toFilter(q: Filters): CallFilter {
  const filter: CallFilter = {};
  if (q.status !== undefined) filter.status = q.status;
  if (q.widget_key !== undefined) filter.widgetKey = q.widget_key;
  if (q.agent_id !== undefined) filter.agentId = q.agent_id;
  if (q.source_id !== undefined) filter.sourceId = q.source_id;
  if (q.phone !== undefined) {
    const digits = phoneDigits(q.phone);
    if (!digits) throw new AppError('invalid_request', { detail: 'phone must contain digits' });
    filter.phoneDigits = digits;
  }
  if (q.from !== undefined) filter.from = time('from', q.from);
  if (q.to !== undefined) filter.to = time('to', q.to);
  if (q.started_from !== undefined) filter.startedFrom = time('started_from', q.started_from);
  if (q.started_to !== undefined) filter.startedTo = time('started_to', q.started_to);
  if (q.disconnected_by !== undefined) filter.disconnectedBy = q.disconnected_by;
  if (q.q !== undefined) filter.q = q.q;
  return filter;
}

/** Opaque to clients: base64url of the last row's sort key. */
export function encodeCursor(c: CallCursor): string {
  return Buffer.from(JSON.stringify([c.firstEventAt, c.sourceId, c.callId])).toString('base64url');
}

export function decodeCursor(cursor: string): CallCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // No stored id holds NUL, and PostgreSQL cannot compare a text holding one (a 500): not a cursor we gave.
    const text = (v: unknown): v is string => typeof v === 'string' && !v.includes('\u0000');
    if (Array.isArray(value) && value.length === 3 && Number.isSafeInteger(value[0]) && text(value[1]) && text(value[2])) {
      return { firstEventAt: value[0] as number, sourceId: value[1], callId: value[2] };
    }
  } catch {
    // falls through to the error below
  }
  throw new AppError('invalid_request', { detail: 'cursor is not a next_cursor this API gave' });
}
