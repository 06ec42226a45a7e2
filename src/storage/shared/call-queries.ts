import { sql, type CompiledQuery, type Expression, type Kysely, type SqlBool } from 'kysely';
import { searchedPhoneDigits } from '../../domain/phone.js';
import type { Dialect } from '../migrations.js';
import type { CallCursor, CallFilter, CallQueries, CsvPage } from '../ports.js';
import type { Database } from '../schema.js';
import { callCsvSelect } from './call-csv.js';
import { callRowColumns, tupleToCall } from './call-rows.js';
import { jsonField, withTolerantJson } from './json-field.js';

/** Runs a compiled query and answers its rows as arrays, in the select's column order (each backend's own). */
export type ArrayRows = (query: CompiledQuery) => Promise<unknown[][]>;
/** Runs a compiled select of `callCsvSelect` and answers its rows as the export's page (call-csv.ts), written where they are read (into `into`, if given). */
export type CsvRows = (query: CompiledQuery, into?: ArrayBuffer) => Promise<CsvPage>;

/**
 * The call list on both dialects, one query: the filters, then the keyset cursor, newest first by
 * (first_event_at, source_id, call_id). Every equality filter has an index ending in that order (migration
 * 0003_call_queries), so a page reads `limit` rows of one index. `q` is a substring search: it scans the
 * calls in list order until the page is full (no trigram or full-text index, kept simple and the same on both
 * dialects); combine it with an indexed filter or a time range on large databases.
 */
export function createCallQueries(db: Kysely<Database>, dialect: Dialect, arrayRows: ArrayRows, csvRows: CsvRows): CallQueries {
  const reads = {
    /** The page's query, selecting `columns`: after `cursor`, down to `end` (inclusive) if given, `limit` rows from `offset`. */
    page(
      columns: ReadonlyArray<keyof Database['calls']>,
      filter: CallFilter,
      cursor: CallCursor | null,
      { limit, offset = 0, end = null }: { limit: number | null; offset?: number; end?: CallCursor | null },
      tolerant: boolean,
    ): CompiledQuery {
      /** A lead field as text (the lead is JSON text on both dialects). */
      const leadField = (name: string): Expression<string | null> => jsonField(dialect, 'lead', name, tolerant);
      let query = db.selectFrom('calls').select(columns);
      if (filter.status !== undefined) query = query.where('status', '=', filter.status);
      if (filter.widgetKey !== undefined) query = query.where('widget_key', '=', filter.widgetKey);
      if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
      if (filter.sourceId !== undefined) query = query.where('source_id', '=', filter.sourceId);
      if (filter.phoneDigits !== undefined) {
        const digits = filter.phoneDigits;
        query = query.where((eb) => eb.or([eb('lead_phone_digits', '=', digits), eb('called_phone_digits', '=', digits)]));
      }
      if (filter.from !== undefined) query = query.where('first_event_at', '>=', filter.from);
      if (filter.to !== undefined) query = query.where('first_event_at', '<', filter.to);
      // The stats' time (storage/shared/stats.ts), so a stats row links to exactly the calls it counts.
      if (filter.startedFrom !== undefined) query = query.where(sql<SqlBool>`coalesce(started_at, first_event_at) >= ${filter.startedFrom}`);
      if (filter.startedTo !== undefined) query = query.where(sql<SqlBool>`coalesce(started_at, first_event_at) < ${filter.startedTo}`);
      if (filter.disconnectedBy !== undefined) query = query.where('disconnected_by', '=', filter.disconnectedBy);
      if (filter.q !== undefined) {
        const pattern = `%${escapeLike(filter.q.toLowerCase())}%`;
        // lower() folds ASCII only on SQLite (Unicode on PostgreSQL): documented in docs/api.md.
        const like = (e: Expression<string | null>) => sql<SqlBool>`lower(${e}) like ${pattern} escape '\\'`;
        const leadTerms = [like(leadField('lead_name')), like(leadField('lead_email')), like(leadField('name')), like(leadField('email'))];
        // Reading four fields out of every lead's JSON is most of a scan's cost. A field holding q means the
        // lead's JSON text holds q too, verbatim, unless q has a character JSON text escapes (", \, control
        // characters; U+FFFD, which migration 0008 wrote as an escape): so the text is searched first and
        // only the leads it finds are parsed.
        const verbatimInJson = !/[\u0000-\u001f"\\\ufffd]/.test(filter.q);
        const leadMatches = verbatimInJson ? sql<SqlBool>`(lower(lead) like ${pattern} escape '\\' and (${sql.join(leadTerms, sql` or `)}))` : null;
        const terms = [like(sql.ref('call_id')), like(sql.ref('widget_name')), ...(leadMatches ? [leadMatches] : leadTerms)];
        // A phone-looking q also matches the lead's phone by digits (`555 010` finds 15550102030).
        const digits = searchedPhoneDigits(filter.q);
        if (digits) terms.push(sql<SqlBool>`lead_phone_digits like ${`%${digits}%`}`);
        query = query.where((eb) => eb.or(terms));
      }
      if (cursor) {
        query = query.where(sql<SqlBool>`(first_event_at, source_id, call_id) < (${cursor.firstEventAt}, ${cursor.sourceId}, ${cursor.callId})`);
      }
      if (end) {
        query = query.where(sql<SqlBool>`(first_event_at, source_id, call_id) >= (${end.firstEventAt}, ${end.sourceId}, ${end.callId})`);
      }
      const ordered = query.orderBy('first_event_at', 'desc').orderBy('source_id', 'desc').orderBy('call_id', 'desc');
      if (limit === null) return ordered.compile();
      return (offset > 0 ? ordered.limit(limit).offset(offset) : ordered.limit(limit)).compile();
    },
  };
  return {
    // Rows as arrays (call-rows.ts says what it saves).
    list: (filter, cursor, limit) =>
      withTolerantJson(dialect, async (tolerant) => (await arrayRows(reads.page(callRowColumns, filter, cursor, { limit }, tolerant))).map(tupleToCall)),
    // The sort key alone, which the list's indexes hold: the index is walked, no row is read (but with `q`).
    pageEnd: (filter, cursor, size) =>
      withTolerantJson(dialect, async (tolerant) => {
        const [row] = await arrayRows(reads.page(['first_event_at', 'source_id', 'call_id'], filter, cursor, { limit: 1, offset: size - 1 }, tolerant));
        return row ? { firstEventAt: row[0] as number, sourceId: row[1] as string, callId: row[2] as string } : null;
      }),
    // The page is written where its rows are read (each backend's thread of the query reads).
    // `into` goes with the first try only: it has moved to the thread by the time a tolerant retry runs.
    csvPage: (filter, cursor, { end, limit }, into) =>
      withTolerantJson(dialect, (tolerant) => csvRows(reads.page(callCsvSelect, filter, cursor, { end, limit }, tolerant), tolerant ? undefined : into)),
  };
}

/** `%`, `_` and the escape character itself match literally (used with `escape '\'`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
