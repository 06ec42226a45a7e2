import { sql, type RawBuilder } from 'kysely';
import type { Dialect } from '../migrations.js';

/**
 * `\u0000` and the escape of a surrogate, where it is an escape (after an even run of backslashes: `\\u0000`
 * is a backslash and the text u0000). JSON.stringify writes NUL and lone surrogates that way, and PostgreSQL's
 * jsonb refuses both ("unsupported Unicode escape sequence"), failing the whole query for one row.
 */
const refusedEscape = String.raw`(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})`;
/** regexp_replace's replacement: `\\` is one literal backslash. */
const replacementEscape = String.raw`\\ufffd`;

/**
 * A top-level field of a JSON object kept as text (calls.lead, calls.agent), as text; null when absent.
 * `tolerant` (PostgreSQL): escapes that jsonb refuses are read as U+FFFD instead of failing the query. Such
 * rows exist only if stored before the record was made well-formed (migration 0008 cleans them) or by an
 * older node during an upgrade, so reads use the plain cast and retry tolerantly (`withTolerantJson`): the
 * tolerant check runs on every row a `q` search scans, the retry only when a query meets such a row.
 */
export function jsonField(dialect: Dialect, column: 'lead' | 'agent', name: string, tolerant = false): RawBuilder<string | null> {
  const text = sql.ref(column);
  if (dialect === 'sqlite') return sql<string | null>`json_extract(${text}, ${`$.${name}`})`;
  if (!tolerant) return sql<string | null>`(${text}::jsonb ->> ${name})`;
  // LIKE without an escape character: rows without any `\u` (nearly all) skip the regular expression.
  return sql<string | null>`((case when ${text} not like ${'%\\u%'} escape '' then ${text}
    else regexp_replace(${text}, ${refusedEscape}, ${replacementEscape}, 'g') end)::jsonb ->> ${name})`;
}

/**
 * Runs a read with the plain jsonb cast and, if PostgreSQL refused a row's JSON (SQLSTATE 22P05
 * untranslatable character, 22P02 invalid text representation), once more with the tolerant one.
 */
export async function withTolerantJson<T>(dialect: Dialect, read: (tolerant: boolean) => Promise<T>): Promise<T> {
  try {
    return await read(false);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (dialect !== 'postgres' || (code !== '22P05' && code !== '22P02')) throw error;
    return read(true);
  }
}
